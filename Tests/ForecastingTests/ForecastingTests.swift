import Foundation
import Testing
import VaktTesting

@testable import Forecasting

func market(bars: Int, persistence: Double, seed: UInt64) -> [Bar] {
    SyntheticMarket.bars(count: bars, persistence: persistence, seed: seed).map {
        Bar(openTime: $0.openTime, high: $0.high, low: $0.low, close: $0.close, volume: $0.volume)
    }
}

/// Trains on the first `training` samples, then runs the rest as the engine does live: each
/// bar's ensemble direction is scored against the next bar's, the ensemble and the online model
/// learn only afterwards. Answers the share of correct directions.
func outOfSampleAccuracy(_ bars: [Bar], training: Int) -> Double {
    let all = samples(from: bars)
    var models = ModelSet.train(on: Array(all.prefix(training)))
    var ensemble = Ensemble()
    var correct = 0
    for sample in all.dropFirst(training) {
        let probabilities = models.probabilities(sample.features)
        if (ensemble.combine(probabilities) > 0.5) == sample.up { correct += 1 }
        ensemble.score(probabilities, up: sample.up)
        models.learn(sample)
    }
    return Double(correct) / Double(all.count - training)
}

@Suite struct ForecastingTests {
    /// A planted momentum is found out of sample (2,000 bars: chance gives 50% ± 1.1%), and a
    /// random walk's direction is not (which a look-ahead leak would give away).
    @Test func theEnsembleFindsAPlantedSignalAndNotNoise() {
        let planted = outOfSampleAccuracy(market(bars: 5_030, persistence: 0.3, seed: 11), training: 3_000)
        #expect(planted >= 0.56, "planted momentum: \(planted)")
        var noises: [Double] = []
        for seed: UInt64 in [12, 13] {
            let noise = outOfSampleAccuracy(market(bars: 5_030, persistence: 0, seed: seed), training: 3_000)
            #expect(abs(noise - 0.5) <= 0.035, "random walk \(seed): \(noise)")
            noises.append(noise)
        }
        print("forecasting: out-of-sample accuracy, planted momentum \(planted), random walks \(noises)")
    }

    /// Features computed bar by bar equal the same statistics computed from the whole window
    /// at once, and depend on nothing after their bar.
    @Test func featuresAreTheWindowsStatisticsAndSeeNoFuture() throws {
        let bars = market(bars: 200, persistence: 0.1, seed: 3)
        var extractor = FeatureExtractor()
        var features: [Features?] = []
        for bar in bars { features.append(extractor.add(bar)) }
        #expect(features.prefix(FeatureExtractor.warmUp - 1).allSatisfy { $0 == nil })
        let index = 150
        let feature = try #require(features[index])
        let closes = bars.map(\.close)
        let returns = (1...index).map { log(closes[$0] / closes[$0 - 1]) }
        let window = Array(returns.suffix(20))
        let mean = window.reduce(0, +) / 20
        let volatility = sqrt(window.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 20)
        #expect(abs(feature[.return1] - log(closes[index] / closes[index - 1])) < 1e-12)
        #expect(abs(feature[.return15] - log(closes[index] / closes[index - 15])) < 1e-12)
        #expect(abs(feature[.volatility] - volatility) < 1e-12)
        let lastCloses = Array(closes[(index - 19)...index])
        let closeMean = lastCloses.reduce(0, +) / 20
        let spread = sqrt(lastCloses.map { ($0 - closeMean) * ($0 - closeMean) }.reduce(0, +) / 20)
        #expect(abs(feature[.meanReversion] - (closes[index] - closeMean) / spread) < 1e-9)
        // Changing what comes after a bar changes none of its features.
        var altered = bars
        for later in (index + 1)..<altered.count { altered[later].close *= 1.5 }
        var again = FeatureExtractor()
        let replayed = altered.map { again.add($0) }
        #expect(Array(replayed.prefix(index + 1)) == Array(features.prefix(index + 1)))
    }

    /// The ensemble leans on whichever model has been right lately.
    @Test func weightsFollowRecentAccuracy() {
        var ensemble = Ensemble(models: 2, halfLife: 20)
        #expect(ensemble.weights() == [0.5, 0.5])
        for step in 0..<100 {
            let up = step % 3 != 0
            ensemble.score([up ? 0.7 : 0.3, up ? 0.3 : 0.7], up: up)
        }
        let weights = ensemble.weights()
        #expect(weights[0] > 0.95, "\(weights)")
        #expect(ensemble.records[0].brier < 0.1 && ensemble.records[1].brier > 0.4)
        #expect(ensemble.combine([0.8, 0.2]) > 0.75)
    }

    /// Where signals pay, the bandit comes to size up; where they lose, down.
    @Test func theBanditSizesUpWhereSignalsPayAndDownWhereTheyLose() {
        var bandit = SizingBandit()
        var generator = SplitMix64(seed: 5)
        for _ in 0..<2_000 {
            let paying = bandit.choose(in: .trending)
            bandit.reward(paying, in: .trending, realized: 0.8 + 0.5 * generator.normal())
            let losing = bandit.choose(in: .volatile)
            bandit.reward(losing, in: .volatile, realized: -0.3 + 0.5 * generator.normal())
        }
        let mostPlayed: (Regime) -> Double = { regime in
            (bandit.arms[regime] ?? []).max { $0.pulls < $1.pulls }?.share ?? 0
        }
        #expect(mostPlayed(.trending) >= 0.75, "\(bandit.arms[.trending] ?? [])")
        #expect(mostPlayed(.volatile) == 0.25, "\(bandit.arms[.volatile] ?? [])")
    }

    /// A volatility burst reads as volatile; a steady climb as trending; noise as ranging.
    @Test func regimesFollowTheMarket() {
        var detector = RegimeDetector()
        var extractor = FeatureExtractor()
        var regimes: [Regime] = []
        var close = 100.0
        var generator = SplitMix64(seed: 9)
        for index in 0..<900 {
            let change: Double
            switch index {
            case 0..<400: change = 0.001 * generator.normal()
            case 400..<600: change = 0.0006 + 0.0003 * generator.normal()
            default: change = 0.006 * generator.normal()
            }
            close *= exp(change)
            let bar = Bar(openTime: Int64(index), high: close * 1.0001, low: close * 0.9999, close: close, volume: 1)
            if let features = extractor.add(bar) { regimes.append(detector.classify(features)) }
        }
        let share: (ArraySlice<Regime>, Regime) -> Double = { slice, regime in
            Double(slice.filter { $0 == regime }.count) / Double(slice.count)
        }
        #expect(share(regimes[200..<370], .ranging) > 0.6)
        #expect(share(regimes[450..<570], .trending) > 0.6)
        #expect(share(regimes[585..<660], .volatile) > 0.6)
    }
}
