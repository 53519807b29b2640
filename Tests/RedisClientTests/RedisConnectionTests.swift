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
        // Arguments that look like the protocol itself, empty ones and long ones go through as they are.
        let awkward: [[UInt8]] = [Array("*1\r\n$3\r\n".utf8), [], Array(repeating: 0, count: 100_000), [0x0D, 0x0A]]
        let stored = try await connection.pipeline(
            bytes: awkward.enumerated().map { [Array("SET".utf8), Array("k\($0.offset)".utf8), $0.element] })
        #expect(stored == Array(repeating: .status("OK"), count: awkward.count))
        let read = try await connection.pipeline(bytes: awkward.indices.map { [Array("GET".utf8), Array("k\($0)".utf8)] })
        #expect(read == awkward.map { .bulk($0) })
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
        let recovered = await TestEnvironment.eventually {
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
