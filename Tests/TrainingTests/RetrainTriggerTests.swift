import Foundation
import Testing

@testable import Training

/// When a symbol's models are trained: first without a live model; on drift or decay only once
/// the models have not seen a window of new klines; on schedule by age; never without a reason.
@Suite struct RetrainTriggerTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let stable = Array(repeating: 0.02, count: 9)

    static func decide(
        trainedAgo: TimeInterval? = 60, psi: [Double]? = stable, accuracy: Double? = 0.55, fresh: Bool = true
    ) -> RetrainTrigger? {
        RetrainTrigger.decide(
            liveTrainedAt: trainedAgo.map { now.addingTimeInterval(-$0) }, psi: psi, recentAccuracy: accuracy, minimumAccuracy: 0.45,
            now: now, retrainAfter: 3_600, freshWindow: fresh)
    }

    @Test func eachTriggerWithItsInputs() {
        #expect(Self.decide(trainedAgo: nil) == .initial)
        #expect(Self.decide() == nil)
        var drifted = Self.stable
        drifted[3] = 0.4
        #expect(Self.decide(psi: drifted) == .drift(feature: "volatility", psi: 0.4))
        #expect(Self.decide(psi: drifted)?.reason.contains("volatility PSI 0.400") == true)
        #expect(Self.decide(accuracy: 0.41) == .decay(accuracy: 0.41, minimum: 0.45))
        // Drift or decay the models already trained on: not again until new klines.
        #expect(Self.decide(psi: drifted, accuracy: 0.41, fresh: false) == nil)
        // A watch-level PSI (0.1 to 0.25) is no trigger.
        var watched = Self.stable
        watched[0] = 0.2
        #expect(Self.decide(psi: watched) == nil)
        #expect(Self.decide(trainedAgo: 3_600) == .schedule(age: 3_600))
        #expect(Self.decide(trainedAgo: 7_200, psi: drifted)?.name == "drift")
    }
}
