import EventBus
import Foundation
import Money
import Testing
import VaktTesting

/// The gateway as a process on real Redis, PostgreSQL and the risk service: its snapshot, its
/// WebSocket (batches, coalescing, resume, restart), its tokens, the actions it relays and
/// audits, and the bad input it refuses.
@Suite(.serialized) struct GatewayProcessTests {
    static let sections = """
        gateway:
          refresh_interval: 500ms
          refresh_spacing: 50ms

        """

    func position(_ symbol: String, _ quantity: Int) -> PositionUpdated {
        PositionUpdated(
            symbol: symbol, quantity: Quantity(quantity, scale: 3), averagePrice: Price(30_000, scale: 0), realizedPnl: .zero)
    }

    @Test func snapshotWebSocketResumeAndRestart() async throws {
        let system = try await GatewaySystem(sections: Self.sections)
        defer { system.stop() }

        // Reads need the read token (or the control token); nothing without one.
        #expect(try await system.get("/api/snapshot", authorization: nil).status == 401)
        #expect(try await system.get("/api/snapshot", authorization: "Bearer wrong").status == 401)
        #expect(try await system.get("/api/snapshot", authorization: "Bearer \(GatewaySystem.controlToken)").status == 200)
        // The ESS section comes from the risk service, with its age; the portfolio's says why
        // it has nothing.
        var snapshot: [String: JSONValue] = [:]
        for _ in 0..<300 {
            snapshot = try await system.snapshot()
            if case .object(let sections)? = snapshot["sections"], case .object(let ess)? = sections["ess"], ess["data"] != .null,
                case .object(let positions)? = sections["positions"], positions["error"] != nil
            {
                break
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        guard case .object(let sections)? = snapshot["sections"], case .object(let ess)? = sections["ess"],
            case .object(let essData)? = ess["data"], case .object(let positions)? = sections["positions"]
        else {
            Issue.record("no ESS section in \(snapshot)")
            return
        }
        #expect(essData["status"] != nil)
        #expect(ess["ageMs"].map { if case .number(let age) = $0 { age >= 0 } else { false } } == true)
        #expect(positions["data"] == .null)
        #expect(positions["error"].map { "\($0)".contains("portfolio") } == true)
        #expect(Set(sections.keys) == ["positions", "pnl", "equity", "trades", "orders", "ess", "mesh", "ai"])

        // A client gets a burst as each key's final value, batched under the rate limit.
        let first = FanoutClient(url: system.webSocketURL, token: GatewaySystem.readToken, topics: ["position.updated"])
        defer { first.close() }
        try await system.waitUntilFlowing(to: first)
        #expect(first.state.withLock { $0.welcome?["resume"] } == .string("none"))
        var burst: [PositionUpdated] = []
        for step in 1...5_000 { burst.append(position("S\(step % 100)USDT", step)) }
        try await system.publish(burst)
        // Compared as the gateway wrote them (keys sorted): parsing a hundred values at every poll
        // would take the cores the rest of the suite runs on.
        let finals = Dictionary(burst.map { ("position.updated \($0.symbol)", Substring(decoding: $0.json.encoded(), as: UTF8.self)) }) {
            _, last in last
        }
        #expect(await first.waitUntil { received in finals.allSatisfy { received.latest[$0.key]?.text == $0.value } })
        let received = first.state.withLock { $0 }
        // How many of the 5,000 coalesced depends on how fast the gateway read the burst against
        // its batch window (a busy run read it one by one: 5,001 messages), so it is printed, not
        // judged; coalescing itself is the outbox's, checked on an injected clock in
        // ClientOutboxTests. What holds at any pace: every key's final value, under the rate limit.
        print("gateway burst: \(received.messages) messages for 5,000 events")
        #expect(first.mostBatchesInOneSecond <= 50)
        #expect(received.errors.isEmpty, "\(received.errors)")

        // Back after a disconnect: only what changed since, each key once, final.
        guard case .string(let epoch)? = received.welcome?["epoch"] else {
            Issue.record("no epoch in the welcome")
            return
        }
        let seen = received.lastSequence
        first.close()
        var missed: [PositionUpdated] = []
        for step in 1...300 { missed.append(position("M\(step % 10)USDT", step)) }
        try await system.publish(missed)
        let resumed = FanoutClient(
            url: system.webSocketURL, token: GatewaySystem.readToken, topics: ["position.updated"], resume: (epoch, seen))
        defer { resumed.close() }
        // The missed updates may still be reaching the gateway when the client comes back: wait
        // for every key's final value, whether it came with the resume or after it.
        let missedFinals = Dictionary(
            missed.map { ("position.updated \($0.symbol)", Substring(decoding: $0.json.encoded(), as: UTF8.self)) }
        ) {
            _, last in last
        }
        #expect(await resumed.waitUntil { received in missedFinals.allSatisfy { received.latest[$0.key]?.text == $0.value } })
        let afterResume = resumed.state.withLock { $0 }
        #expect(afterResume.welcome?["resume"] == .string("resumed"))
        #expect(afterResume.latest.keys.allSatisfy { $0.hasPrefix("position.updated M") }, "\(afterResume.latest.keys.sorted())")
        let lastM0 = try #require(missed.last { $0.symbol == "M0USDT" })
        #expect(afterResume.data("position.updated M0USDT") == lastM0.json)

        // A restarted gateway is another run: the client is told to start from a snapshot.
        try await system.gateway.killAndRestart()
        let afterRestart = FanoutClient(
            url: system.webSocketURL, token: GatewaySystem.readToken, topics: ["position.updated"], resume: (epoch, seen))
        defer { afterRestart.close() }
        #expect(await afterRestart.waitUntil { $0.welcome != nil })
        #expect(afterRestart.state.withLock { $0.welcome?["resume"] } == .string("snapshot"))
    }

    @Test func badClientsAreToldWhatIsWrongAndChangeNothing() async throws {
        let system = try await GatewaySystem(sections: Self.sections)
        defer { system.stop() }
        let unauthorized = FanoutClient(url: system.webSocketURL, token: "wrong")
        let unknownTopic = FanoutClient(url: system.webSocketURL, token: GatewaySystem.readToken, topics: ["position.updated", "nope"])
        defer {
            unauthorized.close()
            unknownTopic.close()
        }
        #expect(await unauthorized.waitUntil { $0.ended })
        #expect(unauthorized.state.withLock { $0.errors.first } == "missing or invalid bearer token")
        #expect(unauthorized.state.withLock { $0.welcome } == nil)
        #expect(await unknownTopic.waitUntil { $0.ended })
        #expect(unknownTopic.state.withLock { $0.errors.first?.hasPrefix("topics[1]: unknown topic") } == true)

        // Snapshot queries and control bodies that are wrong are refused by name.
        let noReason = try await system.gateway.request(.POST, "/api/control/ess.trip", body: "{}")
        #expect(noReason.status == 400)
        #expect(noReason.text.contains("reason"))
        let notJSON = try await system.gateway.request(.POST, "/api/control/ess.trip", body: "{trip")
        #expect(notJSON.status == 400)
        let unknownField = try await system.gateway.request(.POST, "/api/control/ess.trip", body: #"{"reason":"x","force":true}"#)
        #expect(unknownField.status == 400)
        #expect(unknownField.text.contains("force"))
        let unknownAction = try await system.gateway.request(.POST, "/api/control/ess.explode", body: #"{"reason":"x"}"#)
        #expect(unknownAction.status == 404)
        #expect(unknownAction.text.contains("ess.trip"))
        // The read token does not act.
        let readOnly = try await system.gateway.request(
            .POST, "/api/control/ess.trip", body: #"{"reason":"x"}"#, authorization: "Bearer \(GatewaySystem.readToken)")
        #expect(readOnly.status == 401)
        #expect(try await system.risk.state() == "armed")
    }

    @Test func actionsAreRelayedToTheirOwnerAndAudited() async throws {
        let system = try await GatewaySystem(sections: Self.sections)
        defer { system.stop() }
        let audit = FanoutClient(
            url: system.webSocketURL, token: GatewaySystem.readToken, topics: ["control.action", "ess.state_changed", "position.updated"])
        defer { audit.close() }
        try await system.waitUntilFlowing(to: audit)

        let trip = try await system.gateway.request(.POST, "/api/control/ess.trip", body: #"{"reason":"halting by hand in a test"}"#)
        #expect(trip.status == 200, "\(trip.text)")
        #expect(try await system.risk.state() == "tripped")
        #expect(await audit.waitUntil { $0.latest["control.action ess.trip"] != nil })
        guard case .object(let action)? = audit.state.withLock({ $0.data("control.action ess.trip") }) else { return }
        #expect(action["status"] == .number(200))
        #expect(action["reason"] == .string("halting by hand in a test"))
        #expect(action["service"] == .string("risk"))
        // The ESS's own event reaches the client too, and the snapshot's ESS section follows it.
        #expect(await audit.waitUntil { $0.latest.keys.contains { $0.hasPrefix("ess.state_changed") } })

        // The owner's refusal comes back as it is, and is audited with its status.
        let reset = try await system.gateway.request(.POST, "/api/control/ess.reset", body: #"{"reason":"too early"}"#)
        #expect(await audit.waitUntil { $0.latest["control.action ess.reset"] != nil })
        guard case .object(let resetAction)? = audit.state.withLock({ $0.data("control.action ess.reset") }) else { return }
        #expect(resetAction["status"] == .number(Double(reset.status)))
    }
}
