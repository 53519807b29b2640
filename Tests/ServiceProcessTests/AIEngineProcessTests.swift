import EventBus
import Foundation
import Money
import RedisClient
import Testing
import VaktConfig
import VaktTesting

/// The AI engine as the system runs it, beside the risk service (its trading guards) and market
/// data replaying a kline file: it trains from the klines, publishes signals, its metrics
/// endpoints follow the market, and the same file gives the same signals twice.
@Suite struct AIEngineProcessTests {
    static let sections = """
        market_data:
          symbols: [BTCUSDT]
          intervals: [1s]
          source: replay
          replay: { files: { BTCUSDT: FILE }, interval: 1s, speed: 0 }
        ai_engine:
          interval: 1s
          minimum_training_bars: 300
          retrain_every: 400
          signal_lifetime: 5s
        # Under a loaded machine a read of the ESS may come late; this test compares signals,
        # not the guards' fail-safe (a late read withholds signals, as it should).
        ess:
          state_max_age: 600s

        """

    struct Run {
        var signals: [SignalGenerated]
        var before: [String: JSONValue]
        var after: [String: JSONValue]
        var withheld: String
    }

    static func endpoints(_ engine: ServiceInstance) async throws -> [String: JSONValue] {
        var result: [String: JSONValue] = [:]
        for name in ["ensemble", "meta-strategy", "rl-sizing"] {
            let reply = try await HTTPProbe.get(engine.url("/api/ai/metrics/\(name)"))
            #expect(reply.status == 200, "\(name): \(reply.text)")
            result[name] = try JSONValue(parsing: reply.body)
        }
        return result
    }

    /// One replay through a fresh system: Redis, PostgreSQL, risk, the AI engine, then market
    /// data replaying `file` as fast as the bus takes it.
    static func replay(_ file: URL, bars: Int) async throws -> Run {
        // The ESS would trip on ETHUSDT's feed (allowed by the default policy, never fed here)
        // going stale; this test is about signals, so that rule is out of the way.
        let risk = try await RiskSystem(policy: RiskSystem.quietPolicy())
        defer { risk.stop() }
        let sections = Self.sections.replacingOccurrences(of: "FILE", with: file.path)
        let engine = try ServiceInstance(.aiEngine, redisPort: risk.redis.port, postgres: risk.postgres, sections: sections)
        defer { Task { await engine.stop() } }
        try await engine.waitUntilReady()
        // Its guards hold the policy and an armed ESS before the first kline, so no signal is
        // withheld for want of them.
        var health = ""
        #expect(
            await TestEnvironment.eventually(timeout: .seconds(60)) {
                health = (try? await HTTPProbe.get(engine.url("/health")).text) ?? ""
                return health.contains("armed") && health.contains("policy version")
            }, "\(health)")
        let before = try await endpoints(engine)
        // The engine's consumer group exists before the first kline is published.
        let probe = RedisConnection(endpoint: risk.redis.endpoint)
        #expect(
            await TestEnvironment.eventually {
                guard case .array(let groups)? = try? await probe.command(["XINFO", "GROUPS", EventType.marketKline.stream]) else {
                    return false
                }
                return groups.contains { $0.array?.contains { $0.string == "ai-engine" } == true }
            })
        let marketData = try ServiceInstance(.marketData, redisPort: risk.redis.port, postgres: risk.postgres, sections: sections)
        defer { Task { await marketData.stop() } }
        try await marketData.waitUntilReady()
        var seen = 0.0
        #expect(
            try await TestEnvironment.eventually(timeout: .seconds(120)) {
                let ensemble = try JSONValue(parsing: try await HTTPProbe.get(engine.url("/api/ai/metrics/ensemble")).body)
                guard case .object(let fields) = ensemble, case .object(let symbols)? = fields["symbols"],
                    case .object(let btc)? = symbols["BTCUSDT"], case .number(let count)? = btc["bars"]
                else { return false }
                seen = count
                return Int(count) >= bars
            }, "the engine saw \(seen) of \(bars) klines")
        let after = try await endpoints(engine)
        let signals = try await EventStreamInspector(redis: probe).range(.signalGenerated, from: "-", to: "+", limit: 100_000).map {
            try SignalGenerated(json: EventEnvelope.decode(Array($0.envelope.utf8), maximumBytes: 1 << 20).payload)
        }
        let metrics = try await HTTPProbe.get(engine.url("/metrics")).text
        let withheld = metrics.split(separator: "\n").filter { $0.hasPrefix("vakt_ai_signals_suppressed_total") }.joined(separator: "; ")
        return Run(signals: signals, before: before, after: after, withheld: withheld)
    }

    @Test func aReplayedFileTrainsTheModelsGivesSignalsAndGivesThemAgain() async throws {
        let directory = try TestEnvironment.temporaryDirectory("vakt-ai-replay")
        let file = directory.appendingPathComponent("BTCUSDT-1s.csv")
        let bars = SyntheticMarket.bars(count: 1_200, persistence: 0.3, seed: 31, interval: 1_000)
        try bars.map { $0.csvLine(interval: 1_000) }.joined(separator: "\n").write(to: file, atomically: true, encoding: .utf8)

        let first = try await Self.replay(file, bars: bars.count)
        let second = try await Self.replay(file, bars: bars.count)

        print(
            "ai engine: \(first.signals.count) signals from \(bars.count) klines, "
                + "\(first.signals.filter { $0.side == .buy }.count) buys; the same \(second.signals.count) again")
        // Signals, each sized and expiring, from models the engine trained itself.
        #expect(first.signals.count >= 20, "\(first.signals.count) signals")
        #expect(
            first.signals.allSatisfy {
                $0.symbol == "BTCUSDT" && $0.size.map { $0 > .zero && $0 <= FixedDecimal(1) } == true && $0.expiresAt != nil
                    && $0.model.hasPrefix("btcusdt-1s-")
            })
        // The same file, the same signals, to their expiry (decisions take their time from the
        // klines).
        #expect(
            first.signals == second.signals,
            "\(first.signals.count) and \(second.signals.count) signals; withheld: \(first.withheld) / \(second.withheld)")

        // The endpoints followed the market: before, nothing seen; after, every model scored,
        // a regime, and the bandit's arms played.
        #expect("\(first.before["ensemble"] ?? .null)".contains("BTCUSDT") == false)
        let ensemble = "\(first.after["ensemble"] ?? .null)"
        #expect(ensemble.contains("boosted-stumps") && ensemble.contains("btcusdt-1s-"), "\(ensemble)")
        guard case .object(let sizing)? = first.after["rl-sizing"], case .object(let regimes)? = sizing["regimes"] else {
            Issue.record("rl-sizing: \(String(describing: first.after["rl-sizing"]))")
            return
        }
        let pulls = regimes.values.flatMap { regime -> [Double] in
            guard case .object(let fields) = regime, case .array(let arms)? = fields["arms"] else { return [] }
            return arms.compactMap { if case .object(let arm) = $0, case .number(let pulls)? = arm["pulls"] { pulls } else { nil } }
        }
        #expect(pulls.reduce(0, +) >= Double(first.signals.count - 1), "\(pulls)")
        #expect("\(first.after["meta-strategy"] ?? .null)".contains("\"regime\""), "\(first.after["meta-strategy"] ?? .null)")
    }
}
