import Foundation
import NIOCore
import NIOPosix
import Synchronization
import Testing
import VaktTesting

@testable import Supervisor

/// The health probes' own HTTP/1.1 connection, against a real local server.
@Suite struct ProbeConnectionTests {
    let eventLoop = MultiThreadedEventLoopGroup.singleton.next()
    let pass = Array(#"{"status":"pass"}"#.utf8)
    /// For answers that come at once: a bound for a loaded CI machine, never the point of a
    /// test (the whole suite beside it once stalled these for over 2 s).
    static let generous = Duration.seconds(30)

    func connection(_ url: String) throws -> ProbeConnection {
        try #require(ProbeConnection(url: url, accept: "application/json", eventLoop: eventLoop))
    }

    @Test func probesShareOneKeptAliveConnection() async throws {
        let server = try await ScriptedHTTPServer { [pass] _, _ in .respond(status: 200, body: pass) }
        let probe = try connection(server.url + "/health?verbose=1")
        for _ in 0..<20 {
            let response = try await probe.get(timeout: Self.generous, maxBodyBytes: 1024)
            #expect(response.status == .ok && String(buffer: response.body) == #"{"status":"pass"}"#)
        }
        #expect(server.connections == 1)
        #expect(server.requests.count == 20)
        #expect(server.requests.first?.path == "/health?verbose=1")
        #expect(server.requests.first?.header("Host") == "127.0.0.1:\(server.port)")
        #expect(server.requests.first?.header("Accept") == "application/json")
        probe.close()
        await server.stop()
    }

    @Test func aConnectionTheTargetClosesAfterAnsweringIsReplacedWithoutAFailure() async throws {
        let server = try await ScriptedHTTPServer { [pass] _, _ in .respondThenClose(status: 200, body: pass) }
        let probe = try connection(server.url + "/health")
        for _ in 0..<10 {
            #expect(try await probe.get(timeout: Self.generous, maxBodyBytes: 1024).status == .ok)
        }
        #expect(server.connections == 10)
        await server.stop()
    }

    @Test func aTimedOutAnswerIsAbandonedAndTheNextProbeOpensANewConnection() async throws {
        // Every answer is late until the first probe has given up: on a loaded machine its
        // request may not even reach the server within its 100 ms, and then the second
        // probe's request must not be the one held back.
        let firstProbeEnded = Flag()
        let server = try await ScriptedHTTPServer { [pass] _, _ in
            firstProbeEnded.isSet ? .respond(status: 200, body: pass) : .delay(.seconds(60), then: pass)
        }
        let probe = try connection(server.url + "/health")
        let started = ContinuousClock.now
        await #expect(throws: ProbeConnection.Timeout.self) {
            try await probe.get(timeout: .milliseconds(100), maxBodyBytes: 1024)
        }
        firstProbeEnded.set()
        #expect(ContinuousClock.now - started < .seconds(30), "at its own timeout, not at the server's answer")
        #expect(try await probe.get(timeout: Self.generous, maxBodyBytes: 1024).status == .ok)
        #expect(server.connections == 2)
        probe.close()
        await server.stop()
    }

    final class Flag: Sendable {
        private let value = Mutex(false)
        var isSet: Bool { value.withLock { $0 } }
        func set() { value.withLock { $0 = true } }
    }

    @Test func aBodyOverTheCapFailsWhetherAnnouncedOrNot() async throws {
        let server = try await ScriptedHTTPServer { request, _ in
            request.path == "/announced"
                ? .respond(status: 200, body: Array(repeating: UInt8(ascii: " "), count: 5000))
                : .chunked(Array(repeating: Array(repeating: UInt8(ascii: " "), count: 1000), count: 5))
        }
        for (path, announced) in [("/announced", 5000), ("/chunked", nil)] {
            let probe = try connection(server.url + path)
            do {
                _ = try await probe.get(timeout: Self.generous, maxBodyBytes: 4096)
                Issue.record("\(path): a body over the cap was accepted")
            } catch let error as ProbeConnection.BodyTooLarge {
                #expect(error.announced == announced && error.limit == 4096)
                #expect(Prober.reason(for: error) == .bodyTooLarge)
            }
            // Under the cap the same answer is read whole.
            #expect(try await probe.get(timeout: Self.generous, maxBodyBytes: 8192).body.readableBytes == 5000)
            probe.close()
        }
        await server.stop()
    }

    @Test func aRedirectIsReportedAndNotFollowed() async throws {
        let server = try await ScriptedHTTPServer { [pass] request, _ in
            request.path == "/moved" ? .json(302, "{}") : .respond(status: 200, body: pass)
        }
        let probe = try connection(server.url + "/moved")
        let response = try await probe.get(timeout: Self.generous, maxBodyBytes: 1024)
        #expect(response.status.code == 302 && String(buffer: response.body) == "/loop")
        #expect(server.requests.map(\.path) == ["/moved"])
        probe.close()
        await server.stop()
    }

    @Test func aTargetNobodyListensOnFailsNamingItsAddress() async throws {
        let port = TestEnvironment.freePort()
        let probe = try connection("http://127.0.0.1:\(port)/health")
        do {
            _ = try await probe.get(timeout: Self.generous, maxBodyBytes: 1024)
            Issue.record("a closed port answered")
        } catch {
            #expect(Prober.reason(for: error) == .connection)
            #expect(Prober.describe(error, timeout: .seconds(2)).contains("127.0.0.1:\(port)"), "\(error)")
        }
    }

    @Test func onlyPlainHTTPURLsWithAHostGetAConnection() throws {
        #expect(ProbeConnection(url: "https://127.0.0.1:8443/health", accept: "*/*", eventLoop: eventLoop) == nil)
        #expect(ProbeConnection(url: "http:///health", accept: "*/*", eventLoop: eventLoop) == nil)
        #expect(try connection("http://[::1]:8002/health").address == "[::1]:8002")
        #expect(try connection("http://localhost/health").address == "localhost")
    }
}
