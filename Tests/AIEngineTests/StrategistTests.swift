import Forecasting
import Testing
import VaktTesting

@testable import AIEngine

/// The engine's decisions over a planted-momentum market: no signal before models, signals
/// after, at most one live per symbol, every prediction scored, the bandit paid, a gap
/// restarting the features, and the same bars giving the same signals.
@Suite struct StrategistTests {
    static func bars(_ count: Int, seed: UInt64 = 21) -> [Bar] {
        SyntheticMarket.bars(count: count, persistence: 0.3, seed: seed, interval: 1_000).map {
            Bar(openTime: $0.openTime, high: $0.high, low: $0.low, close: $0.close, volume: $0.volume)
        }
    }

    /// Runs `bars` after training on the first `training`; the signals, with the strategist.
    static func run(_ bars: [Bar], training: Int, lifetime: Int64 = 3_000) -> ([Strategist.Signal], Strategist) {
        var strategist = Strategist(settings: .init(signalLifetime: lifetime))
        strategist.install(ModelSet.train(on: samples(from: Array(bars.prefix(training)))), version: "v1", for: "BTCUSDT")
        var signals: [Strategist.Signal] = []
        for bar in bars.dropFirst(training) {
            if let signal = strategist.observe("BTCUSDT", bar: bar, now: bar.openTime + 999) { signals.append(signal) }
        }
        return (signals, strategist)
    }

    @Test func signalsFollowTheModelsOnePerSymbolAtATime() throws {
        let bars = Self.bars(3_000)
        var untrained = Strategist(settings: .init(signalLifetime: 3_000))
        #expect(bars.prefix(500).compactMap { untrained.observe("BTCUSDT", bar: $0, now: $0.openTime) }.isEmpty)
        #expect(untrained.symbols["BTCUSDT"]?.regime != nil, "features and regimes run without models")

        let (signals, strategist) = Self.run(bars, training: 2_000)
        #expect(signals.count >= 50, "\(signals.count)")
        // A new signal only when none is live or it flips the side.
        for (earlier, later) in zip(signals, signals.dropFirst()) {
            #expect(later.expiresAt - 3_000 >= earlier.expiresAt || later.buy != earlier.buy)
        }
        #expect(signals.allSatisfy { (0...1).contains($0.confidence) && (0...1).contains($0.size) && $0.modelVersion == "v1" })
        let state = try #require(strategist.symbols["BTCUSDT"])
        #expect(state.ensemble.records.allSatisfy { $0.scored == 1_000 - FeatureExtractor.warmUp }, "every prediction but the last scored")
        let pulls = strategist.bandit.arms.values.flatMap { $0 }.reduce(0) { $0 + $1.pulls }
        #expect(pulls == signals.count || pulls == signals.count - 1, "each signal's size rewarded once its bar closed")
        // The signals were right more often than not: the momentum is there to find.
        var right = 0
        for signal in signals {
            guard let index = bars.firstIndex(where: { $0.close == signal.referenceClose }), index + 1 < bars.count else { continue }
            if (bars[index + 1].close > signal.referenceClose) == signal.buy { right += 1 }
        }
        #expect(Double(right) / Double(signals.count) > 0.55, "\(right) of \(signals.count)")
    }

    /// The features the engine predicts from are those training learns from, bar for bar.
    @Test func liveFeaturesAreTrainingFeatures() {
        let bars = Self.bars(400, seed: 13)
        var strategist = Strategist(settings: .init(signalLifetime: 3_000))
        var live: [Features] = []
        for bar in bars {
            _ = strategist.observe("BTCUSDT", bar: bar, now: bar.openTime)
            if let features = strategist.symbols["BTCUSDT"]?.lastFeatures, live.last != features { live.append(features) }
        }
        let training = samples(from: bars).map(\.features)
        #expect(live.count == training.count + 1)
        #expect(Array(live.prefix(training.count)) == training)
    }

    @Test func theSameBarsGiveTheSameSignals() {
        let bars = Self.bars(2_600, seed: 5)
        let first = Self.run(bars, training: 2_000).0
        let second = Self.run(bars, training: 2_000).0
        #expect(first == second && !first.isEmpty)
    }

    @Test func aGapRestartsTheFeatures() {
        let bars = Self.bars(2_100)
        var strategist = Self.run(bars, training: 2_000).1
        strategist.restart("BTCUSDT")
        let later = Self.bars(2_200, seed: 8).suffix(FeatureExtractor.warmUp)
        let signals = later.dropLast().compactMap { strategist.observe("BTCUSDT", bar: $0, now: $0.openTime) }
        #expect(signals.isEmpty, "no signal until the features are warm again")
    }
}
