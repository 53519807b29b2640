import Foundation
import SystemdNotify
import Testing
import VaktTesting

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct NotifySocketListenerTests {
    /// Runs the real systemd-notify against `address`, as a child script of a service would.
    func runSystemdNotify(address: String) async throws -> Int32 {
        guard let program = TestEnvironment.which("systemd-notify") else {
            throw MissingFixture("systemd-notify is not installed; run scripts/install-deps")
        }
        var environment = ProcessInfo.processInfo.environment
        environment["NOTIFY_SOCKET"] = address
        return try await TestEnvironment.run(program, ["--ready", "--status=warming up"], environment: environment).status
    }

    @Test func systemdNotifyOverAbstractSocketIsReceivedAndItsBarrierCompletes() async throws {
        let recorder = try NotifyRecorder()
        defer { recorder.stop() }
        #expect(recorder.address.hasPrefix("@"))
        #expect(try await runSystemdNotify(address: recorder.address) == 0)
        #expect(await recorder.waitFor { $0.contains(.ready) && $0.contains(.status("warming up")) })
    }

    @Test func systemdNotifyOverPathSocketIsReceived() async throws {
        let directory = try TestEnvironment.temporaryDirectory("vakt-notify")
        defer { try? FileManager.default.removeItem(at: directory) }
        let recorder = try NotifyRecorder(address: directory.appendingPathComponent("notify.sock").path)
        defer { recorder.stop() }
        #expect(try await runSystemdNotify(address: recorder.address) == 0)
        #expect(await recorder.waitFor { $0.contains(.ready) })
        recorder.stop()
        #expect(!FileManager.default.fileExists(atPath: recorder.address))
    }

    @Test func datagramsCarryTheSendersPIDAndMalformedOnesAreReported() async throws {
        let recorder = try NotifyRecorder()
        defer { recorder.stop() }
        try send("READY=1\nSTATUS=from the test", to: recorder.address)
        try send("garbage without equals", to: recorder.address)
        #expect(await TestEnvironment.eventually { recorder.datagrams.count == 2 })
        let datagrams = recorder.datagrams
        #expect(datagrams.allSatisfy { $0.senderPID == getpid() })
        #expect((try? datagrams[0].message.get())?.assignments == [.ready, .status("from the test")])
        #expect(throws: NotifyMessage.ParseError.missingEquals(line: 1)) { try datagrams[1].message.get() }
    }

    @Test func oversizedDatagramIsReportedAsTooLong() async throws {
        let recorder = try NotifyRecorder()
        defer { recorder.stop() }
        try send("STATUS=" + String(repeating: "x", count: 10_000), to: recorder.address)
        #expect(await TestEnvironment.eventually { recorder.datagrams.count == 1 })
        guard case .failure(.tooLong) = recorder.datagrams.first?.message else {
            Issue.record("expected tooLong, got \(String(describing: recorder.datagrams.first?.message))")
            return
        }
    }

    @Test func bindingAnAddressInUseFails() async throws {
        let recorder = try NotifyRecorder()
        defer { recorder.stop() }
        #expect(throws: NotifySocketListener.SocketError.self) { try NotifySocketListener(address: recorder.address) }
    }

    @Test func aRevisitComesOnlyWhenAskedForAndOnceForSeveralAsks() async throws {
        let listener = try NotifySocketListener.abstract(prefix: "vakt-revisit")
        defer { listener.stop() }
        let (stream, revisit) = listener.datagramsWithRevisits(after: .milliseconds(20))
        var iterator = stream.makeAsyncIterator()
        try send("READY=1", to: listener.address)
        let first = await iterator.next()
        #expect(first??.senderPID == getpid())
        let started = ContinuousClock.now
        revisit()
        revisit()
        let revisited = await iterator.next()
        #expect(revisited != nil && revisited! == nil, "a revisit is a nil element")
        #expect(ContinuousClock.now - started >= .milliseconds(20))
        // Nothing further was asked for: the next element is the next datagram, not a revisit.
        try send("STATUS=after", to: listener.address)
        let next = await iterator.next()
        #expect((try next??.message.get())?.assignments == [.status("after")])
    }

    /// Sends one datagram from this process, as a service's sd_notify would.
    func send(_ text: String, to address: String) throws {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var storage = sockaddr_un()
        storage.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(address.utf8)
        if bytes.first == UInt8(ascii: "@") { bytes[0] = 0 }
        withUnsafeMutableBytes(of: &storage.sun_path) { $0.copyBytes(from: bytes) }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (address.hasPrefix("@") ? 0 : 1))
        let payload = Array(text.utf8)
        let sent = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, payload, payload.count, 0, $0, length) }
        }
        guard sent == payload.count else { throw MissingFixture("sendto failed: errno \(errno)") }
    }
}
