import EventBus
import Testing
import VaktTesting

@testable import Execution

/// Where new orders go: scenarios, then random histories checked against the policy's promises
/// at every step.
@Suite struct OrderVenuePolicyTests {
    typealias Observation = OrderVenuePolicy.Observation

    static func settings(_ mode: OrderVenuePolicy.Mode) -> OrderVenuePolicy.Settings {
        .init(mode: mode, failoverAfter: 10_000, failbackAfter: 60_000)
    }

    static func up(_ now: Int64, unreconciled: Int = 0, okxReady: Bool = true) -> Observation {
        Observation(
            now: now, bannedUntil: 0, lastAnswer: now, failing: false, unreconciledOnBinance: unreconciled, secondVenueReady: okxReady)
    }

    static func banned(_ now: Int64, until: Int64, unreconciled: Int = 0, okxReady: Bool = true) -> Observation {
        Observation(
            now: now, bannedUntil: until, lastAnswer: now, failing: false, unreconciledOnBinance: unreconciled,
            secondVenueReady: okxReady)
    }

    @Test func haltHoldsNewOrdersWhileBinanceIsBannedOrSilentAndNeverUsesTheSecondVenue() {
        var policy = OrderVenuePolicy(settings: Self.settings(.halt))
        #expect(policy.decide(Self.up(1_000)) == .place(.binance))
        guard case .hold(let why) = policy.decide(Self.banned(2_000, until: 120_000)) else {
            Issue.record("placed while banned")
            return
        }
        #expect(why.contains("banned") && why.contains("halt"), "\(why)")
        // Failing, but answered 9 s ago: not down yet; at 11 s it is.
        let failing = Observation(
            now: 130_000, bannedUntil: 0, lastAnswer: 121_000, failing: true, unreconciledOnBinance: 0, secondVenueReady: true)
        #expect(policy.decide(failing) == .place(.binance))
        var later = failing
        later.now = 132_000
        #expect(policy.decide(later) == .hold("binance has not answered since 121000; execution.on_binance_down is halt"))
        #expect(policy.decide(Self.up(133_000)) == .place(.binance), "halting never moved new orders elsewhere")
    }

    @Test func failoverWaitsForBinancesOrdersToBeReconciledThenServesFromOKXUntilBinanceIsSteady() {
        var policy = OrderVenuePolicy(settings: Self.settings(.failover))
        #expect(policy.decide(Self.up(0)) == .place(.binance))
        #expect(
            policy.decide(Self.banned(1_000, until: 100_000, unreconciled: 2))
                == .hold("binance has banned this IP until 100000; 2 orders on binance are not reconciled yet"))
        #expect(
            policy.decide(Self.banned(2_000, until: 100_000, okxReady: false))
                == .hold("binance has banned this IP until 100000; okx is not ready"))
        #expect(policy.decide(Self.banned(3_000, until: 100_000)) == .place(.okx))
        // Serving from OKX, an order left on Binance unreconciled does not stop it.
        #expect(policy.decide(Self.banned(4_000, until: 100_000, unreconciled: 1)) == .place(.okx))
        // The ban ends at 100 s: OKX serves until Binance has been up for 60 s.
        #expect(policy.decide(Self.up(100_000)) == .place(.okx))
        #expect(policy.decide(Self.up(159_999)) == .place(.okx))
        #expect(policy.decide(Self.up(160_000)) == .place(.binance))
    }

    @Test func aBreakInBinancesReturnStartsTheWaitAgain() {
        var policy = OrderVenuePolicy(settings: Self.settings(.failover))
        #expect(policy.decide(Self.banned(0, until: 10_000)) == .place(.okx))
        #expect(policy.decide(Self.up(10_000)) == .place(.okx))
        #expect(policy.decide(Self.banned(50_000, until: 51_000)) == .place(.okx))
        #expect(policy.decide(Self.up(60_000)) == .place(.okx))
        #expect(policy.decide(Self.up(110_000)) == .place(.okx), "up since 60 s, not 10 s")
        #expect(policy.decide(Self.up(120_000)) == .place(.binance))
    }

    /// 300 random histories of 200 steps: bans, failures with and without answers, orders left
    /// unreconciled, the second venue coming and going; at every step the decision keeps the
    /// policy's promises.
    @Test func randomHistoriesKeepThePromisesAtEveryStep() {
        var generator = SplitMix64(seed: 0x0DE5_1E)
        for history in 0..<300 {
            let mode = OrderVenuePolicy.Mode.allCases[Int.random(in: 0..<2, using: &generator)]
            let settings = OrderVenuePolicy.Settings(
                mode: mode, failoverAfter: Int64.random(in: 1...5, using: &generator) * 1_000,
                failbackAfter: Int64.random(in: 0...20, using: &generator) * 1_000)
            var policy = OrderVenuePolicy(settings: settings)
            var now: Int64 = 0
            var bannedUntil: Int64 = 0
            var lastAnswer: Int64? = nil
            var failing = false
            var serving = TradingVenue.binance
            var upSince: Int64? = nil
            for step in 0..<200 {
                now += Int64.random(in: 0...3_000, using: &generator)
                if Int.random(in: 0..<30, using: &generator) == 0 {
                    bannedUntil = now + Int64.random(in: 1...30, using: &generator) * 1_000
                }
                if Int.random(in: 0..<4, using: &generator) == 0 { failing.toggle() }
                if !failing || Int.random(in: 0..<5, using: &generator) == 0 { lastAnswer = now }
                let observation = Observation(
                    now: now, bannedUntil: bannedUntil, lastAnswer: lastAnswer, failing: failing,
                    unreconciledOnBinance: Int.random(in: 0..<4, using: &generator) == 0 ? 1 : 0,
                    secondVenueReady: Int.random(in: 0..<6, using: &generator) > 0)
                let down =
                    bannedUntil > now || (failing && lastAnswer.map { now - $0 > settings.failoverAfter } ?? true)
                upSince = down ? nil : (upSince ?? now)
                let decision = policy.decide(observation)
                let context = "history \(history) step \(step): \(observation) → \(decision)"
                switch decision {
                case .place(.binance):
                    #expect(!down, "placed on a Binance that cannot take orders: \(context)")
                    if serving == .okx {
                        #expect(upSince.map { now - $0 >= settings.failbackAfter } == true, "failed back too soon: \(context)")
                    }
                    serving = .binance
                case .place(.okx):
                    #expect(mode == .failover && observation.secondVenueReady, "\(context)")
                    if serving == .binance {
                        #expect(down && observation.unreconciledOnBinance == 0, "failed over without cause or unreconciled: \(context)")
                    }
                    serving = .okx
                case .hold:
                    #expect(down || serving == .okx, "held while Binance serves and is up: \(context)")
                    if mode == .failover, down, serving == .binance {
                        #expect(observation.unreconciledOnBinance > 0 || !observation.secondVenueReady, "\(context)")
                    }
                }
            }
        }
    }
}
