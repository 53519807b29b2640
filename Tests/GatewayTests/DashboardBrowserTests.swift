import EventBus
import Foundation
import Money
import RedisClient
import Testing
import VaktConfig
import VaktTesting

#if canImport(Glibc)
    import Glibc
#endif

/// The dashboard in a real browser (headless Chromium through Selenium) against the whole
/// system under its supervisor: every panel shows real data and a trade placed through the
/// system appears, and a position row's Pause and Resume go through to execution; a flood of
/// 100,000 events a second for 10 s leaves the page responsive (it keeps drawing, none of its own
/// work takes 100 ms; its longest frame is printed) and on the final state of every one of 1,000
/// positions, which scroll; the gateway killed mid-test is restarted by the supervisor and the
/// page recovers by itself. `VAKT_SCREENSHOTS=docs/screenshots` keeps a screenshot of each view.
///
/// It takes both cores for half a minute (a browser, the whole system, a million events), so it
/// runs alone after the suite (`scripts/test` sets `VAKT_BROWSER_TESTS`), as the other floods do.
@Suite(
    .serialized, .enabled(if: ProcessInfo.processInfo.environment["VAKT_BROWSER_TESTS"] != nil, "runs alone: set VAKT_BROWSER_TESTS"))
struct DashboardBrowserTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Python/dashboard_browser.py")
    static let readToken = "browser-read-token-0123456789abcdef"
    /// How far ahead of now the test's positions are stamped (10 minutes). Every 5 s the page
    /// merges a fresh snapshot, whose positions (the portfolio's) replace every row not newer
    /// than the section's read, and the portfolio knows none of the test's symbols. Stamped now,
    /// they were wiped between the page reaching their final values and the test measuring them
    /// (two fresh runs failed so: the page held BTCUSDT alone).
    static let stampedAhead: TimeInterval = 600

    @Test func theDashboardShowsTheSystemKeepsUpWithAFloodAndRecoversFromAGatewayRestart() async throws {
        for tool in ["/usr/bin/chromium", "/usr/bin/chromedriver"] where !FileManager.default.isExecutableFile(atPath: tool) {
            throw MissingFixture("\(tool) missing: scripts/install-deps installs chromium and chromium-driver")
        }
        _ = try TestEnvironment.testPython()
        let postgres = try await PostgresServer().freshDatabase()
        let system = try await SupervisedSystem(
            programs: [], services: Set(ServiceKind.allCases).subtracting([.supervisor]),
            sections: "ess:\n  state_max_age: 600s\n", postgres: postgres,
            environment: [
                "VAKT_SECRET_EXCHANGE_API_KEY": PaperTradingSystem.apiKey, "VAKT_SECRET_EXCHANGE_API_SECRET": PaperTradingSystem.apiSecret,
                "VAKT_SECRET_READ_TOKEN": Self.readToken,
            ])
        var browser: LineProcess?
        do {
            try await drive(system, browser: &browser)
        } catch {
            // The gateway's entry says whether the supervisor restarted it along the way, its
            // metrics what its consumer took in and whom it cut off, its log (forwarded by the
            // supervisor) what went wrong. (Its lag also counts the flood's entries that the
            // test's MAXLEN trimmed before the gateway read them: not a consumer that stopped.)
            let gateway = await system.service("gateway").map { "\($0)" } ?? "unknown"
            let metrics = (try? await HTTPProbe.get(system.configuration.url(.gateway, "/metrics")).text) ?? ""
            let counters = metrics.split(separator: "\n").filter {
                $0.hasPrefix("vakt_gateway_")
                    || ($0.contains("group=\"gateway\"") && !$0.contains("_bucket{") && !$0.hasSuffix(" 0.0") && !$0.hasSuffix(" 0"))
            }
            let log = system.supervisor.output().split(separator: "\n").filter { $0.contains("gateway") && !$0.contains("level=info") }
            let report =
                "\(error)\n\(browser?.errorOutput ?? "")\ngateway: \(gateway)\n\(counters.joined(separator: "\n"))\n"
                + "gateway log (warnings and worse, last 40):\n\(log.suffix(40).joined(separator: "\n"))"
            Issue.record("\(report)")
        }
        browser?.terminate()
        _ = await system.stop()
    }

    /// Sets `browser` as soon as it starts, so that the caller reports its output and ends it
    /// whatever happens.
    private func drive(_ system: SupervisedSystem, browser started: inout LineProcess?) async throws {
        for kind in ServiceKind.allCases where kind != .supervisor {
            #expect(await system.waitFor(kind.rawValue, timeout: .seconds(120)) { $0["ready"] as? Bool == true }, "\(kind) not ready")
        }
        var environment = [
            "DASHBOARD_URL": system.configuration.url(.dashboard, "/"), "READ_TOKEN": Self.readToken,
            "CONTROL_TOKEN": SupervisedSystem.controlToken,
        ]
        if let directory = ProcessInfo.processInfo.environment["VAKT_SCREENSHOTS"] {
            environment["SCREENSHOTS"] = TestEnvironment.packageRoot.appendingPathComponent(directory).path
        }
        let browser = try LineProcess(
            executable: try TestEnvironment.testPython(), arguments: [Self.script.path], environment: environment)
        started = browser
        // The script gives up on each of its waits first and says why on standard error; this
        // limit only catches a script that hangs.
        func expectLine(_ prefix: String) async throws -> String {
            guard let line = await browser.line(startingWith: prefix, timeout: .seconds(900)) else {
                throw MissingFixture("the browser script did not say \"\(prefix)\" (its standard error follows)")
            }
            return line
        }
        func result(_ phase: String) async throws -> [String: Any] {
            let line = try await expectLine("RESULT \(phase) ")
            let json = line.dropFirst("RESULT \(phase) ".count)
            return try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        }
        let publisher = try await EventPublisher(
            redis: RedisConnection(endpoint: system.redis.endpoint),
            settings: EventBusSettings(
                bufferPath: try TestEnvironment.temporaryDirectory("vakt-browser").appendingPathComponent("p.sqlite").path),
            logger: .init(label: "test.browser"))

        // Every panel with real data, then a trade placed through the system shows up.
        _ = try await expectLine("READY trade")
        let ticker = try await HTTPProbe.get(system.configuration.url(.exchangeSim, "/api/v3/ticker/price?symbol=BTCUSDT"))
        guard case .object(let fields) = try JSONValue(parsing: ticker.body), case .string(let priceText)? = fields["price"] else {
            throw MissingFixture("no BTCUSDT price from the paper exchange: \(ticker.text)")
        }
        try await publisher.publish(
            EventEnvelope(
                SignalGenerated(
                    symbol: "BTCUSDT", side: .buy, confidence: FixedDecimal(9, scale: 1), model: "browser-test",
                    referencePrice: try Price(parsing: priceText), reason: "browser test", size: FixedDecimal(1, scale: 1),
                    expiresAt: Date().addingTimeInterval(60)), source: "test"))
        browser.send("go")
        let panels = try await result("panels")
        #expect((panels["meshNodes"] as? Int ?? 0) >= 8, "\(panels)")
        #expect((panels["trades"] as? Int ?? 0) >= 1, "\(panels)")
        #expect((panels["ess"] as? String ?? "").hasPrefix("ESS "), "\(panels)")
        #expect(panels["labelled"] as? Bool == true && panels["sectionsMissing"] as? Int == 0, "\(panels)")
        #expect(panels["pauseTitle"] as? String == "Pause BTCUSDT?", "\(panels)")
        #expect((panels["pausedLine"] as? String ?? "").contains("BTCUSDT"), "\(panels)")
        #expect((panels["actionStatus"] as? String ?? "").contains("symbol.pause BTCUSDT: paused BTCUSDT"), "\(panels)")
        #expect(
            panels["readable"] as? [String] == ["1234.57", "-0.004", "0.00015701", "-1.01", "5.00", "x", "0", "1.00"],
            "\(panels["readable"] ?? "none")")

        // A flood: 100,000 position updates a second for 10 s over 1,000 symbols, written to the
        // stream as the publisher writes them (XADD of the envelope), in pipelines of 10,000:
        // the test's own publisher, built for durability, would be the bottleneck here.
        _ = try await expectLine("READY flood")
        let symbols = (0..<1_000).map { String(format: "P%04dUSDT", $0) }
        var finals: [String: String] = [:]
        var step = 0
        let redis = RedisConnection(endpoint: system.redis.endpoint)
        let start = ContinuousClock.now
        var sending: Task<Void, any Error>?
        for tick in 0..<100 {
            let now = Date()
            let stamp = EventEnvelope.timestamp(now.addingTimeInterval(Self.stampedAhead))
            // One id made per pipeline, its tail replaced by the event's index: unique, and
            // without two random draws per event.
            let base = EventID.make(now: now).dropLast(6)
            var commands: [[[UInt8]]] = []
            commands.reserveCapacity(10_000)
            let prefix = ["XADD", EventType.positionUpdated.stream, "MAXLEN", "~", "200000", "*", "envelope"].map { Array($0.utf8) }
            for index in 0..<10_000 {
                step += 1
                let symbol = symbols[(index * 7 + tick) % 1_000]
                let quantity = Quantity(step, scale: 3).description
                finals[symbol] = quantity
                let hex = String(index, radix: 16)
                let id = base + String(repeating: "0", count: 6 - hex.count) + hex
                let envelope =
                    #"{"id":"\#(id)","occurredAt":"\#(stamp)","payload":{"averagePrice":"100","quantity":"\#(quantity)","#
                    + #""realizedPnl":"0","symbol":"\#(symbol)"},"schemaVersion":1,"source":"test/flood","type":"position.updated"}"#
                commands.append(prefix + [Array(envelope.utf8)])
            }
            // The next pipeline is built while this one is sent.
            try await sending?.value
            sending = Task { [commands] in _ = try await redis.pipeline(bytes: commands) }
            // Pacing only: nothing is judged by how long anything took.
            try? await Task.sleep(until: start + .milliseconds(100 * (tick + 1)), clock: .continuous)
        }
        try await sending?.value
        let seconds = (ContinuousClock.now - start).seconds
        browser.send(String(decoding: try JSONSerialization.data(withJSONObject: finals), as: UTF8.self))
        let flood = try await result("flood")
        let stats = flood["stats"] as? [String: Any] ?? [:]
        let scroll = flood["scroll"] as? [String: Any] ?? [:]
        print(
            "browser flood: \(step) events published in \(String(format: "%.1f", seconds)) s (\(Int(Double(step) / seconds))/s);",
            "page: longest frame \(stats["longestFrameMs"] ?? "?") ms, longest task \(stats["longestTaskMs"] ?? "?") ms,",
            "longest work \(stats["longestWorkMs"] ?? "?") ms,",
            "\(stats["frames"] ?? "?") frames, \(stats["batches"] ?? "?") batches; scroll \(scroll)")
        // Responsive: the page kept drawing while it took the flood in, and none of its own work
        // (a batch parsed and applied, a frame drawn) took 100 ms. Its longest frame (the issue's
        // figure: 33 to 133 ms on this 2-core machine) is printed, not judged: it includes the
        // OS scheduler and the browser's other processes, which beside two busy loops gave
        // 150 ms to a page whose own work per frame is a few milliseconds.
        #expect((stats["frames"] as? Int ?? 0) >= 100, "\(stats)")
        #expect(((stats["longestWorkMs"] as? NSNumber)?.doubleValue ?? 1_000) < 100, "\(stats)")
        #expect((scroll["rows"] as? Int ?? 0) >= 1_000, "\(scroll)")
        #expect((scroll["rendered"] as? Int ?? Int.max) < 100, "\(scroll)")
        #expect(scroll["last"] as? String == "P0999USDT", "\(scroll)")

        // The gateway killed: the supervisor restarts it, and the page recovers by itself.
        _ = try await expectLine("READY restart")
        let pid = try #require(await system.service("gateway")?["pid"] as? Int)
        kill(Int32(pid), SIGKILL)
        browser.send("killed")
        _ = try await expectLine("READY after-restart")
        try await publisher.publish(
            EventEnvelope(
                PositionUpdated(symbol: "AFTERUSDT", quantity: Quantity(1, scale: 0), averagePrice: Price(1, scale: 0), realizedPnl: .zero),
                source: "test", occurredAt: Date().addingTimeInterval(Self.stampedAhead)))
        browser.send("AFTERUSDT")
        let restart = try await result("restart")
        #expect(restart["connection"] as? String == "live", "\(restart)")
        #expect((restart["degraded"] as? String ?? "").contains("gateway"), "\(restart)")
    }
}
