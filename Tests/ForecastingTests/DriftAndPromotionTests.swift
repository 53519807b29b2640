import Foundation
import Testing
import VaktTesting

@testable import Forecasting

/// Retraining on drift and promotion by a margin: the same market reads stable, a changed one
/// drifts; a better candidate is promoted, a worse one is not; models survive the registry's
/// JSON exactly.
@Suite struct DriftAndPromotionTests {
    static func features(_ bars: [Bar]) -> [Features] {
        var extractor = FeatureExtractor()
        return bars.compactMap { extractor.add($0) }
    }

    @Test func theSameMarketIsStableAndAWilderOneDrifts() {
        let reference = DriftReference(training: Self.features(market(bars: 3_000, persistence: 0.1, seed: 41)))
        let same = reference.psi(Self.features(market(bars: 1_000, persistence: 0.1, seed: 42)))
        // Slow features (the trend) wander within one market: none drifts, most stay stable.
        #expect(same.allSatisfy { DriftReference.Verdict(psi: $0) != .retrain }, "\(same)")
        #expect(same.filter { DriftReference.Verdict(psi: $0) == .stable }.count >= 7, "\(same)")
        // Three times the volatility: the volatility feature (and the returns') move bins.
        let wildBars = SyntheticMarket.wilder(SyntheticMarket.bars(count: 1_000, persistence: 0.1, seed: 43), by: 3).map {
            Bar(openTime: $0.openTime, high: $0.high, low: $0.low, close: $0.close, volume: $0.volume)
        }
        let wild = reference.psi(Self.features(wildBars))
        #expect(DriftReference.Verdict(psi: wild[FeatureExtractor.Name.volatility.rawValue]) == .retrain, "\(wild)")
        #expect(DriftReference.Verdict(psi: 0.1) == .watch && DriftReference.Verdict(psi: 0.26) == .retrain)
    }

    @Test func aBetterCandidateIsPromotedAndAWorseOneIsNot() {
        let momentum = samples(from: market(bars: 4_000, persistence: 0.3, seed: 51))
        let noise = samples(from: market(bars: 3_000, persistence: 0, seed: 52))
        let good = ModelSet.train(on: Array(momentum.prefix(3_000)))
        let poor = ModelSet.train(on: noise)
        let heldOut = Array(momentum.suffix(900))
        let rule = PromotionRule(margin: 0.002)
        let better = PromotionRule.evaluate(candidate: good, live: poor, on: heldOut)
        #expect(rule.promotes(better), "\(better)")
        #expect(better.candidateAccuracy > better.liveAccuracy)
        let worse = PromotionRule.evaluate(candidate: poor, live: good, on: heldOut)
        #expect(!rule.promotes(worse), "\(worse)")
        // No better than itself.
        #expect(!rule.promotes(PromotionRule.evaluate(candidate: good, live: good, on: heldOut)))
    }

    @Test func modelsSurviveJSONExactly() throws {
        let trained = ModelSet.train(on: samples(from: market(bars: 1_500, persistence: 0.3, seed: 61)))
        let decoded = try JSONDecoder().decode(ModelSet.self, from: JSONEncoder().encode(trained))
        #expect(decoded == trained)
    }
}
