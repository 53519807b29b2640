import Testing
import VaktTesting

@testable import MarketData

@Suite struct MarketVenuePolicyTests {
    static let settings = MarketVenuePolicy.Settings(failoverAfter: .seconds(5), failbackAfter: .seconds(30))
    let start = ContinuousClock.now

    func at(_ seconds: Double) -> ContinuousClock.Instant { start + .milliseconds(Int64(seconds * 1_000)) }
    func at(tenths: Int) -> ContinuousClock.Instant { start + .milliseconds(Int64(tenths) * 100) }

    @Test func silenceFailsOverAndOnlyASteadyReturnFailsBack() {
        var policy = MarketVenuePolicy(settings: Self.settings, start: start)
        #expect(policy.decide(at: at(4), primaryBanned: false) == .primary, "Binance gets failover_after to deliver a first trade")
        #expect(policy.decide(at: at(5.5), primaryBanned: false) == .fallback)
        // Binance comes back, flickers (a 6 s gap), then flows steadily from 40 s.
        for second in stride(from: 10.0, through: 30, by: 1) { policy.primaryTraded(at: at(second)) }
        #expect(policy.decide(at: at(30), primaryBanned: false) == .fallback, "20 s of trades are not 30")
        for second in stride(from: 36.0, through: 69, by: 1) { policy.primaryTraded(at: at(second)) }
        #expect(policy.decide(at: at(65), primaryBanned: false) == .fallback, "the run began at 36 s, after the gap")
        #expect(policy.decide(at: at(66), primaryBanned: false) == .primary)
    }

    @Test func aBanFailsOverWhileTradesStillFlowAndRestartsTheRun() {
        var policy = MarketVenuePolicy(settings: Self.settings, start: start)
        policy.primaryTraded(at: at(1))
        #expect(policy.decide(at: at(1), primaryBanned: true) == .fallback)
        for second in stride(from: 2.0, through: 40, by: 1) { policy.primaryTraded(at: at(second)) }
        #expect(policy.decide(at: at(40), primaryBanned: true) == .fallback)
        for second in stride(from: 41.0, through: 69, by: 1) { policy.primaryTraded(at: at(second)) }
        #expect(policy.decide(at: at(69), primaryBanned: false) == .fallback, "the run counts from the first trade after the ban: 41 s")
        policy.primaryTraded(at: at(70))
        policy.primaryTraded(at: at(71))
        #expect(policy.decide(at: at(71), primaryBanned: false) == .primary)
    }

    /// Times in whole tenths of a second, so the model's arithmetic is exact.
    enum Step {
        case trade(Int)
        case decide(Int, banned: Bool)
    }

    /// The reference: the venue recomputed from the whole history at each decision, by
    /// walking back through Binance's trades for the start of the current run.
    struct Model {
        let settings: MarketVenuePolicy.Settings
        var history: [Step] = []
        var venue = MarketVenuePolicy.Venue.primary

        mutating func apply(_ step: Step) -> MarketVenuePolicy.Venue? {
            history.append(step)
            guard case .decide(let now, let banned) = step else { return nil }
            let failover = Int(settings.failoverAfter.milliseconds / 100)
            let failback = Int(settings.failbackAfter.milliseconds / 100)
            // Trades with, for each, whether a ban was seen after the trade before it.
            var trades: [(time: Int, banBefore: Bool)] = []
            var banSince = false
            for entry in history {
                switch entry {
                case .trade(let time):
                    trades.append((time, banSince))
                    banSince = false
                case .decide(_, let banned):
                    if banned { banSince = true }
                }
            }
            let lastTrade = trades.map(\.time).max() ?? 0
            let delivering = !banned && now - lastTrade <= failover
            var runStart: Int?
            if !banSince, var index = trades.indices.last {
                // Back while the trade before is within failover_after and no ban came between.
                while index > 0, !trades[index].banBefore, trades[index].time - trades[index - 1].time <= failover { index -= 1 }
                runStart = trades[index].time
            }
            switch venue {
            case .primary: if !delivering { venue = .fallback }
            case .fallback: if delivering, let runStart, now - runStart >= failback { venue = .primary }
            }
            return venue
        }
    }

    @Test func randomHistoriesAgreeWithTheReferenceModelAtEveryDecision() {
        var generator = SplitMix64(seed: 0x7E4E_0E5)
        for history in 0..<300 {
            let settings = MarketVenuePolicy.Settings(
                failoverAfter: .seconds(Int.random(in: 1...6, using: &generator)),
                failbackAfter: .seconds(Int.random(in: 0...20, using: &generator)))
            var policy = MarketVenuePolicy(settings: settings, start: start)
            var model = Model(settings: settings)
            var now = 0
            var banned = false
            var steps: [String] = []
            for _ in 0..<200 {
                now += Int.random(in: 0...40, using: &generator)
                if Int.random(in: 0..<25, using: &generator) == 0 { banned.toggle() }
                if Int.random(in: 0..<3, using: &generator) > 0 {
                    policy.primaryTraded(at: at(tenths: now))
                    _ = model.apply(.trade(now))
                    steps.append("trade \(now)")
                } else {
                    let decided = policy.decide(at: at(tenths: now), primaryBanned: banned)
                    let expected = model.apply(.decide(now, banned: banned))
                    steps.append("decide \(now) banned \(banned) → \(decided)")
                    if decided != expected {
                        Issue.record(
                            "history \(history): \(decided) where the model says \(String(describing: expected)); \(steps.suffix(12))")
                        return
                    }
                }
            }
        }
    }
}
