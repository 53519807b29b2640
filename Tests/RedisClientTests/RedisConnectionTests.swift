import RedisClient
import Testing
import VaktTesting

@Suite struct RedisConnectionTests {
    @Test func commandsAndPipelinesGetTheirReplies() async throws {
        let server = try RedisServer()
        try await server.start()
        let connection = RedisConnection(endpoint: server.endpoint)
        #expect(try await connection.command(["PING"]) == .status("PONG"))
        let value = "binary safe: spaces, \"quotes\"\nnewlines and ünïcode"
        let replies = try await connection.pipeline([["SET", "key", value], ["GET", "key"], ["INCR", "counter"], ["GET", "missing"]])
        #expect(replies == [.status("OK"), .bulk(Array(value.utf8)), .integer(1), .null])
        #expect(try await connection.command(["XADD", "s", "*", "k", "v"]).string?.contains("-") == true)
    }

    @Test func errorReplyIsAReplyNotAConnectionFailure() async throws {
        let server = try RedisServer()
        try await server.start()
        let connection = RedisConnection(endpoint: server.endpoint)
        guard case .error(let message) = try await connection.command(["NOSUCHCOMMAND"]) else {
            Issue.record("expected an error reply")
            return
        }
        #expect(message.contains("unknown command"))
        #expect(try await connection.command(["PING"]) == .status("PONG"))
    }

    @Test func outageFailsFastAndRecoversWithoutANewConnectionObject() async throws {
        let server = try RedisServer()
        try await server.start()
        let connection = RedisConnection(endpoint: server.endpoint)
        #expect(try await connection.command(["PING"]) == .status("PONG"))
        server.stop()
        await #expect(throws: RedisError.self) { try await connection.command(["PING"]) }
        // Backed off: the next attempt is refused at once, naming why.
        do {
            _ = try await connection.command(["PING"])
            Issue.record("expected Redis to be unavailable")
        } catch {
            #expect("\(error)".contains("Redis"))
        }
        try await server.start()
        let recovered = await TestEnvironment.eventually(timeout: .seconds(5)) {
            (try? await connection.command(["PING"])) == .status("PONG")
        }
        #expect(recovered)
    }

    @Test func refusedConnectionReportsTheAddress() async throws {
        let port = TestEnvironment.freePort()
        let connection = RedisConnection(endpoint: RedisEndpoint(host: "127.0.0.1", port: port))
        do {
            _ = try await connection.command(["PING"])
            Issue.record("expected a failure")
        } catch {
            #expect(error.description.contains("127.0.0.1:\(port)"))
        }
    }
}
