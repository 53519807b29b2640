import EventBus
import Foundation
import Logging
import RedisClient
import ServiceKit
import Testing
import VaktConfig
import VaktTesting

#if canImport(Glibc)
    import Glibc
#endif

/// The chaos suite under the supervisor: risk, market data, execution and the portfolio run as
/// `vakt supervisor` runs them, paging a real webhook receiver, against the paper exchange in a
/// process of its own (outside Vakt, as Binance is). A seeded random schedule SIGKILLs a
/// service (the supervisor restarts it) or the supervisor itself (its children go with it; a
/// new one starts them again from its state directory, as systemd would), makes the exchange
/// answer 429s for a while, and sends bursts of signals. Then the loss report must pass, and
/// every alert that fired must have been resolved.
///
/// `VAKT_CHAOS_SECONDS` sets how long (scripts/test runs it for 60 s after the unsupervised
/// form); `VAKT_CHAOS_SEED` replays a schedule.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["VAKT_CHAOS_SECONDS"] != nil, "runs alone: set VAKT_CHAOS_SECONDS"))
struct SupervisedChaosTests {
    static let services: [ServiceKind] = [.risk, .marketData, .execution, .portfolio]

    @Test func killsOfServicesAndOfTheSupervisorLoseNothingAndEveryAlertResolves() async throws {
        let environment = ProcessInfo.processInfo.environment
        let seconds = Int(environment["VAKT_CHAOS_SECONDS"] ?? "") ?? 60
        let seed = UInt64(environment["VAKT_CHAOS_SEED"] ?? "") ?? UInt64(Date().timeIntervalSince1970)
        print("supervised chaos: \(seconds) s, seed \(seed) (VAKT_CHAOS_SEED=\(seed) replays this schedule)")
        let receiver = try await ScriptedHTTPServer { _, _ in .json(200, "{}") }
        // PostgreSQL of its own: the shared one serves every other test.
        let cluster = try PostgresCluster()
        try await cluster.start()
        let redis = try RedisServer(persistent: true)
        try await redis.start()
        let shared = PaperTradingSystem.sections(ExecutionProcessTests.sections)
        let keys = [
            "VAKT_SECRET_EXCHANGE_API_KEY": PaperTradingSystem.apiKey, "VAKT_SECRET_EXCHANGE_API_SECRET": PaperTradingSystem.apiSecret,
        ]
        let simulator = try ServiceInstance(.exchangeSim, redisPort: redis.port, postgres: nil, sections: shared, environment: keys)
        try await simulator.waitUntilReady()
        let system = try await SupervisedSystem(
            programs: [], services: Set(Self.services),
            sections: HealthMeshProcessTests.alerting(receiver: receiver.url) + HealthMeshProcessTests.probes + shared,
            postgres: try await cluster.server.freshDatabase(),
            environment: keys.merging(["VAKT_EXCHANGE__BASE_URL": simulator.url("")]) { given, _ in given }, redis: redis)
        let directory = try TestEnvironment.temporaryDirectory("vakt-supervised-chaos")
        defer {
            system.supervisor.signal(SIGTERM)
            simulator.process.signal(SIGTERM)
            redis.stop()
            try? FileManager.default.removeItem(at: directory)
            Task { try? await cluster.stop() }
        }
        let url = { (kind: ServiceKind) in system.configuration.url(kind, "") }
        let connection = RedisConnection(endpoint: RedisEndpoint(host: "127.0.0.1", port: redis.port))
        let endpoints = ExecutionProcessTests.Endpoints(
            execution: url(.execution), portfolio: url(.portfolio), risk: url(.risk),
            exchange: try await PaperTradingSystem.account(at: simulator.url(""), budgetFile: Self.budgetFile(of: system)),
            redis: connection)
        let publisher = try await EventPublisher(
            redis: connection, settings: EventBusSettings(bufferPath: directory.appendingPathComponent("publisher.sqlite").path),
            logger: Logger(label: "test.signals"))
        let risk = RiskClient(
            ControlClient(baseURL: url(.risk), token: Secret(SupervisedSystem.controlToken), tokenSecret: "control-token"))
        #expect(
            await system.waitFor("risk", timeout: .seconds(60)) { $0["ready"] as? Bool == true },
            "\(system.supervisor.output().suffix(4_000))")
        // BTCUSDT only, and orders as fast as the schedule sends signals.
        try await HealthMeshProcessTests.changePolicy(riskURL: url(.risk)) { policy in
            policy["allowedSymbols"] = .array([.string("BTCUSDT")])
            policy["maxOrdersPerMinute"] = .number(1_000)
        }
        #expect(await Self.waitUntilTrading(endpoints), "execution did not start trading\n\(system.supervisor.output().suffix(4_000))")

        var random = SplitMix64(seed: seed)
        var counts: [String: Int] = [:]
        var signals = 0
        let started = ContinuousClock.now
        while ContinuousClock.now - started < .seconds(seconds) {
            signals += await ChaosTests.burst(&random) {
                try await PaperTradingSystem.signal($0, exchange: endpoints.exchange, publisher: publisher)
            }
            await ChaosTests.resetIfTripped(risk)
            let action = Self.actions[Int(random.next(upTo: UInt64(Self.actions.count)))]
            print("supervised chaos: \(String(format: "%6.1f", (ContinuousClock.now - started).seconds)) s \(action)")
            counts[action, default: 0] += 1
            switch action {
            case "kill supervisor":
                try await system.killAndRestartSupervisor()
            case "exchange 429s":
                try await PaperTradingSystem.faults(simulator, #"{"throttle_ms": \#(500 + random.next(upTo: 2_500))}"#)
            default:
                let name = String(action.dropFirst("kill ".count))
                if let pid = await system.service(name)?["pid"] as? Int, pid > 0 { kill(Int32(pid), SIGKILL) }
            }
            try await Task.sleep(for: .milliseconds(300 + Int(random.next(upTo: 1_700))))
        }
        try await PaperTradingSystem.faults(simulator, #"{"throttle_ms": 0}"#)
        print(
            "supervised chaos: \(signals) signals; "
                + counts.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", "))

        // As an operator would: a service the supervisor gave up on (more restarts than its
        // intensity allows: the schedule kills one up to every 0.3 s) is started, and trips are
        // reset until one sticks no more; then trading settles and is audited.
        #expect(
            await TestEnvironment.eventually(timeout: .seconds(180), poll: .milliseconds(500)) {
                for kind in Self.services where await system.service(kind.rawValue)?["state"] as? String == "failed" {
                    _ = try? await system.control("start", kind.rawValue)
                }
                await ChaosTests.resetIfTripped(risk)
                return await Self.waitUntilTrading(endpoints, timeout: .seconds(1))
            }, "execution did not trade again after the faults\n\(system.supervisor.output().suffix(4_000))")
        do {
            _ = try await ExecutionProcessTests.settle(endpoints, orders: 1)
        } catch {
            Issue.record("\(error)\n\(system.supervisor.output().suffix(6_000))")
            throw error
        }
        try await ExecutionProcessTests.verify(endpoints)

        // Every alert that fired was resolved (the supervisor pages again after its restart
        // from the outbox in its state directory).
        var unresolved: Set<String> = []
        #expect(
            await TestEnvironment.eventually(timeout: .seconds(120), poll: .milliseconds(500)) {
                let (fired, resolved) = Self.alerts(receiver)
                unresolved = fired.subtracting(resolved)
                return unresolved.isEmpty
            }, "alerts fired and never resolved: \(unresolved.sorted())")
        let (fired, resolved) = Self.alerts(receiver)
        print("supervised chaos: alerts fired \(fired.count), resolved \(resolved.count): \(fired.sorted().joined(separator: "; "))")
    }

    /// The request budget the supervised services share (`exchange.budget_file`'s default).
    static func budgetFile(of system: SupervisedSystem) -> String {
        system.configuration.directory.appendingPathComponent("state/exchange-budget").path
    }

    static let actions = [
        "kill execution", "kill portfolio", "kill market-data", "kill risk", "kill supervisor", "exchange 429s",
    ]

    /// Each alert's identity (its labels) in the receiver's firing and resolved notifications.
    static func alerts(_ receiver: ScriptedHTTPServer) -> (fired: Set<String>, resolved: Set<String>) {
        var fired: Set<String> = []
        var resolved: Set<String> = []
        for request in receiver.requests {
            guard let body = try? JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any],
                let alerts = body["alerts"] as? [[String: Any]]
            else { continue }
            for alert in alerts {
                guard let labels = alert["labels"] as? [String: String] else { continue }
                let identity = labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
                if alert["status"] as? String == "resolved" { resolved.insert(identity) } else { fired.insert(identity) }
            }
        }
        return (fired, resolved)
    }

    static func waitUntilTrading(_ endpoints: ExecutionProcessTests.Endpoints, timeout: Duration = .seconds(120)) async -> Bool {
        await TestEnvironment.eventually(timeout: timeout, poll: .milliseconds(200)) {
            (try? await endpoints.json(endpoints.execution, "/api/execution"))?["trading"] == .bool(true)
        }
    }
}
