import EmergencyStop
import EventBus
import Foundation
import PolicyStore
import PrometheusText
import RedisClient
import Testing
import VaktConfig
import VaktTesting

#if canImport(Glibc)
    import Glibc
#endif

/// The risk service as a real process on a real Redis and PostgreSQL.
@Suite struct RiskServiceTests {
    /// The defaults, with a feed age no test reaches: nothing publishes market ticks here.
    static func quietPolicy(_ change: (inout RiskPolicy) -> Void = { _ in }) -> Data { RiskSystem.quietPolicy(change) }

    static func object(_ result: HTTPResult) throws -> [String: JSONValue] {
        guard case .object(let fields) = try JSONDecoder().decode(JSONValue.self, from: Data(result.body)) else {
            throw MissingFixture("not a JSON object: \(result.text)")
        }
        return fields
    }

    static func status(_ fields: [String: JSONValue]) -> [String: JSONValue] {
        if case .object(let status)? = fields["status"] { status } else { [:] }
    }

    @Test func aTripSurvivesSIGKILLWithItsReasonAndIsAnnounced() async throws {
        let system = try await RiskSystem(policy: Self.quietPolicy())
        defer { system.stop() }
        #expect(try await system.state() == "armed")

        let trip = try await system.request(.POST, "/api/ess/trip", body: #"{"reason": "exchange incident 4711", "source": "cli:ops"}"#)
        #expect(trip.status == 200, "\(trip.text)")
        #expect(try await system.state() == "tripped")

        try await system.killAndRestart()
        let after = Self.status(try await system.ess().objectFields)
        #expect(after["state"] == .string("tripped"))
        #expect(after["reason"] == .string("exchange incident 4711"))
        #expect(after["source"] == .string("cli:ops"))
        #expect(after["trigger"] == .string("manual"))

        // Announced on the bus and mirrored in Redis for the fail-safe client.
        let inspector = EventStreamInspector(redis: system.connection)
        let announced = try await inspector.range(.essStateChanged, from: "-", to: "+", limit: 10)
        #expect(announced.count == 1)
        #expect(announced.first?.envelope.contains("exchange incident 4711") == true)
        let client = ESSClient(redis: system.connection, maxAge: .seconds(5), logger: .init(label: "test"))
        await client.refresh()
        #expect(client.current.state == .tripped && client.current.reason == "exchange incident 4711")

        // The operator's reset arms at once; the log keeps every transition.
        let reset = try await system.request(.POST, "/api/ess/reset", body: #"{"reason": "incident closed"}"#)
        #expect(reset.status == 200, "\(reset.text)")
        let ess = try await system.ess().objectFields
        #expect(Self.status(ess)["state"] == .string("armed"))
        guard case .array(let recent)? = ess["recent"] else {
            Issue.record("no recent transitions: \(ess)")
            return
        }
        #expect(recent.count == 3, "start, trip, reset: \(recent)")
    }

    @Test func withTheRiskServiceGoneTheClientReadsTripped() async throws {
        let system = try await RiskSystem(policy: Self.quietPolicy(), sections: "ess:\n  evaluation_interval: 100ms\n  state_max_age: 1s\n")
        defer { system.stop() }
        let client = ESSClient(redis: system.connection, maxAge: .seconds(1), logger: .init(label: "test"))
        let follower = Task { await client.run() }
        defer { follower.cancel() }
        #expect(await TestEnvironment.eventually { client.current.state == .armed })
        system.process.signal(SIGKILL)
        #expect(await TestEnvironment.eventually { client.current.state == .tripped })
        #expect(client.current.reason.contains("the risk service is not confirming it"))
    }

    /// Transitions from requests and from the fast periodic tick overlap; each is announced
    /// exactly once, in order, and the service survives.
    @Test func overlappingTransitionsAreEachAnnouncedOnce() async throws {
        let system = try await RiskSystem(policy: Self.quietPolicy(), sections: "ess:\n  evaluation_interval: 10ms\n  state_max_age: 1s\n")
        defer { system.stop() }
        for round in 0..<40 {
            #expect(try await system.request(.POST, "/api/ess/trip", body: #"{"reason": "round \#(round)"}"#).status == 200)
            #expect(try await system.request(.POST, "/api/ess/reset", body: #"{"reason": "round \#(round) over"}"#).status == 200)
        }
        let inspector = EventStreamInspector(redis: system.connection)
        #expect(
            await TestEnvironment.eventually { (try? await inspector.range(.essStateChanged, from: "-", to: "+", limit: 1000).count) == 80 }
        )
        let announced = try await inspector.range(.essStateChanged, from: "-", to: "+", limit: 1000)
        let reasons = announced.compactMap { entry -> String? in
            guard let envelope = try? EventEnvelope.decode(Array(entry.envelope.utf8), maximumBytes: 1 << 20),
                case .object(let transition)? = envelope.payload.objectFields["transition"],
                case .string(let reason)? = transition["reason"]
            else { return nil }
            return reason
        }
        #expect(reasons == (0..<40).flatMap { ["round \($0)", "reset by api: round \($0) over"] })
        #expect(system.process.isRunning, "\(system.process.output())")
    }

    @Test func cliShowsTripsAndResetsWithTheToken() async throws {
        let system = try await RiskSystem(policy: Self.quietPolicy())
        defer { system.stop() }
        let base = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("VAKT_") }
        let withToken = base.merging(["VAKT_SECRET_CONTROL_TOKEN": RiskSystem.controlToken]) { _, new in new }
        func vakt(_ arguments: [String], _ environment: [String: String]) async throws -> (status: Int32, output: String) {
            try await TestEnvironment.run(
                TestEnvironment.vaktExecutable, ["ess"] + arguments + ["--config", system.configuration.path], environment: environment)
        }
        let refused = try await vakt(["trip", "--reason", "drill"], base)
        #expect(refused.status != 0 && refused.output.contains("no control token: set VAKT_SECRET_CONTROL_TOKEN"), "\(refused.output)")
        let wrong = try await vakt(["trip", "--reason", "drill"], base.merging(["VAKT_SECRET_CONTROL_TOKEN": "nope"]) { _, new in new })
        #expect(wrong.status != 0 && wrong.output.contains("401"), "\(wrong.output)")
        let tripped = try await vakt(["trip", "--reason", "drill", "--source", "cli:test"], withToken)
        #expect(tripped.status == 0 && tripped.output.contains("ESS is now tripped"), "\(tripped.output)")
        let status = try await vakt(["status"], base)
        #expect(status.status == 0)
        #expect(status.output.contains("ESS TRIPPED since"), "\(status.output)")
        #expect(status.output.contains("reason: drill"))
        #expect(status.output.contains("armed -> tripped  [manual] drill"))
        let missingReason = try await vakt(["reset"], withToken)
        #expect(missingReason.status != 0 && missingReason.output.contains("Missing expected argument '--reason <reason>'"))
        let reset = try await vakt(["reset", "--reason", "drill over"], withToken)
        #expect(reset.status == 0 && reset.output.contains("ESS is now armed"), "\(reset.output)")
    }

    @Test func timeSpentTrippedIsCountedAcrossShortTicks() async throws {
        let system = try await RiskSystem(policy: Self.quietPolicy(), sections: "ess:\n  evaluation_interval: 100ms\n  state_max_age: 1s\n")
        defer { system.stop() }
        #expect(try await system.request(.POST, "/api/ess/trip", body: #"{"reason": "timing"}"#).status == 200)
        var seconds = 0.0
        #expect(
            await TestEnvironment.eventually {
                let text = (try? await HTTPProbe.get(system.url("/metrics")).text) ?? ""
                let samples = (try? ExpositionParser().parse(Array(text.utf8)))?.flatMap(\.samples) ?? []
                seconds = samples.first { $0.name == "vakt_ess_tripped_seconds_total" }?.value ?? 0
                return seconds >= 1
            }, "\(seconds)")
    }

    @Test func controlNeedsTheTokenAndRepeatedFailuresAreRateLimited() async throws {
        let system = try await RiskSystem(policy: Self.quietPolicy())
        defer { system.stop() }
        let body = #"{"reason": "test"}"#
        #expect(try await system.request(.POST, "/api/ess/trip", body: body, authorization: nil).status == 401)
        #expect(try await system.request(.POST, "/api/ess/trip", body: body, authorization: "Bearer wrong").status == 401)
        #expect(try await system.request(.POST, "/api/ess/reset", body: body, authorization: "Basic abc").status == 401)
        #expect(
            try await system.request(.PUT, "/api/policy", body: "{}", authorization: "Bearer \(RiskSystem.controlToken)x").status == 401)
        #expect(try await system.request(.POST, "/api/ess/trip", body: body, authorization: "Bearer ").status == 401)
        // The sixth failure within a minute: 429, and still nothing changes.
        let limited = try await system.request(.POST, "/api/ess/trip", body: body, authorization: "Bearer wrong")
        #expect(limited.status == 429)
        #expect(try await system.state() == "armed")
        let metrics = try await HTTPProbe.get(system.url("/metrics")).text
        #expect(metrics.contains(#"vakt_control_auth_failures_total{outcome="unauthorized"} 5"#))
        #expect(metrics.contains(#"vakt_control_auth_failures_total{outcome="rate_limited"} 1"#))
        // The kill switch itself is never locked out by someone else's failures.
        #expect(try await system.request(.POST, "/api/ess/trip", body: body).status == 200)
        #expect(try await system.state() == "tripped")
    }

    @Test(arguments: [
        ("not json", 400, "body: not valid JSON"),
        ("[1, 2]", 400, "body: expected a JSON object"),
        ("{}", 400, "reason: missing"),
        (#"{"reason": ""}"#, 400, "reason: must not be empty"),
        (#"{"reason": 42}"#, 400, "reason: expected a string, got a number"),
        (#"{"reason": "x", "sauce": "y"}"#, 400, "sauce: unknown field"),
        (#"{"reason": "x", "source": ["a"]}"#, 400, "source: expected a string, got a list"),
        (#"{"reason": "\#(String(repeating: "r", count: 501))"}"#, 400, "reason: longer than 500 characters"),
    ])
    func malformedControlRequestsAreRefusedAndChangeNothing(body: String, status: Int, problem: String) async throws {
        let system = try await RiskSystem(policy: Self.quietPolicy())
        defer { system.stop() }
        let result = try await system.request(.POST, "/api/ess/trip", body: body)
        #expect(result.status == status, "\(result.text)")
        #expect(result.text.contains(problem), "\(result.text)")
        #expect(try await system.state() == "armed")
    }

    @Test func oversizedBodiesAndPointlessResetsAreRefused() async throws {
        let system = try await RiskSystem(policy: Self.quietPolicy())
        defer { system.stop() }
        let huge = #"{"reason": ""# + String(repeating: "x", count: 2 << 20) + #""}"#
        #expect(try await system.request(.POST, "/api/ess/trip", body: huge).status == 413)
        let reset = try await system.request(.POST, "/api/ess/reset", body: #"{"reason": "why not"}"#)
        #expect(reset.status == 409)
        #expect(reset.text.contains("nothing to reset: the ESS is armed"))
        let history = try await system.request(.GET, "/api/policy/history?limit=abc")
        #expect(history.status == 400 && history.text.contains("limit: expected an integer"))
        #expect(try await system.state() == "armed")
    }

    @Test func aDrawdownSnapshotTripsAndAMalformedOneChangesNothing() async throws {
        let system = try await RiskSystem(policy: Self.quietPolicy())
        defer { system.stop() }
        let publisher = try await EventPublisher(
            redis: system.connection,
            settings: EventBusSettings(bufferPath: system.configuration.directory.appendingPathComponent("test-bus.sqlite").path),
            logger: .init(label: "test"))
        func snapshot(_ payload: JSONValue) -> EventEnvelope {
            EventEnvelope(type: .portfolioSnapshot, source: "portfolio", payload: payload)
        }
        try await publisher.publish(snapshot(.object(["equity": .string("10000.00"), "dailyPnl": .string("0")])))
        // Equity as a JSON number is refused: an amount must be exact.
        try await publisher.publish(snapshot(.object(["equity": .number(1), "dailyPnl": .string("0")])))
        #expect(
            await TestEnvironment.eventually {
                (try? await system.ess().objectFields["inputs"]?.objectFields["equity"]) == .string("10000")
            })
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await system.state() == "armed")

        try await publisher.publish(snapshot(.object(["equity": .string("8999.99"), "dailyPnl": .string("-200")])))
        #expect(await TestEnvironment.eventually { (try? await system.state()) == "tripped" })
        let status = Self.status(try await system.ess().objectFields)
        #expect(status["trigger"] == .string("drawdown"))
        #expect(status["reason"] == .string("drawdown 10% reached the 10% limit"))
        let announced = try await EventStreamInspector(redis: system.connection).range(.essStateChanged, from: "-", to: "+", limit: 10)
        #expect(announced.count == 1)
    }

    @Test func policyChangesAreAuthenticatedValidatedVersionedAndAnnounced() async throws {
        let system = try await RiskSystem(policy: Self.quietPolicy())
        defer { system.stop() }
        let current = try Self.object(try await system.request(.GET, "/api/policy"))
        #expect(current["version"] == .number(1))
        guard case .object(var policy)? = current["policy"] else {
            Issue.record("no policy in \(current)")
            return
        }

        // Every bad field is named; the policy in force stays.
        var bad = policy
        bad["maxOrderNotional"] = .string("-5")
        bad["allowedSymbols"] = .array([.string("BTCUSDT"), .string("btc-usd")])
        bad["priceCollar"] = .number(0.05)
        if case .object(var ess)? = bad["ess"] {
            ess["cooldownSeconds"] = .number(0)
            ess["reduceDrawdown"] = .string("0.20")
            bad["ess"] = .object(ess)
        }
        let refused = try await system.request(
            .PUT, "/api/policy",
            body: String(decoding: JSONValue.object(["policy": .object(bad), "updatedBy": .string("ops")]).encoded(), as: UTF8.self))
        #expect(refused.status == 422)
        for problem in [
            "policy.maxOrderNotional: must be greater than 0, got -5",
            "policy.allowedSymbols[1]: \\\"btc-usd\\\" is not a symbol",
            "policy.priceCollar: expected a decimal string",
            "policy.ess.cooldownSeconds: must be between 1 and 86400, got 0",
            "policy.ess.reduceDrawdown: must be below maxDrawdown (0.1)",
        ] {
            #expect(refused.text.contains(problem), "\(problem) in \(refused.text)")
        }
        let unauthenticated = try await system.request(
            .PUT, "/api/policy", body: #"{"policy": {}, "updatedBy": "x"}"#, authorization: nil)
        #expect(unauthenticated.status == 401)
        #expect(try Self.object(try await system.request(.GET, "/api/policy"))["version"] == .number(1))

        policy["maxOrderNotional"] = .string("2500.50")
        let body = JSONValue.object(["policy": .object(policy), "updatedBy": .string("ops"), "expectedVersion": .number(1)])
        let accepted = try await system.request(.PUT, "/api/policy", body: String(decoding: body.encoded(), as: UTF8.self))
        #expect(accepted.status == 200, "\(accepted.text)")
        let stored = try PolicyDocument(data: Data(accepted.body))
        #expect(stored.version == 2 && stored.updatedBy == "ops" && stored.policy.maxOrderNotional == Decimal(string: "2500.50"))

        // A second writer that read version 1 is told to read again.
        let stale = try await system.request(.PUT, "/api/policy", body: String(decoding: body.encoded(), as: UTF8.self))
        #expect(stale.status == 409 && stale.text.contains("expectedVersion is 1 but the current policy is version 2"))

        let announced = try await EventStreamInspector(redis: system.connection).range(.policyUpdated, from: "-", to: "+", limit: 10)
        #expect(announced.count == 1 && announced.first?.envelope.contains("2500.5") == true)
        let history = try Self.object(try await system.request(.GET, "/api/policy/history?limit=10"))
        guard case .array(let versions)? = history["history"] else {
            Issue.record("no history: \(history)")
            return
        }
        // Version 1 entered the history when the authority first wrote it to its snapshot.
        #expect(versions.map { $0.objectFields["version"] } == [.number(2), .number(1)])
        let snapshot = try PolicyDocument(
            data: try Data(contentsOf: system.configuration.directory.appendingPathComponent("state/policy.json")))
        #expect(snapshot == stored)
    }
}
