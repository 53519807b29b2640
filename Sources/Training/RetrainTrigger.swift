import Forecasting
import Foundation

/// Why a symbol's models are trained now, if they are, pure: no live model; a live model older
/// than `retrainAfter`; features that drifted from the live model's training window (a PSI above
/// 0.25); the live model's direction accuracy on the recent klines fallen below the minimum
/// (performance decay); or an operator's request. Each trigger names its inputs, for the log and
/// the event.
enum RetrainTrigger: Equatable {
    case initial
    case schedule(age: TimeInterval)
    case drift(feature: String, psi: Double)
    case decay(accuracy: Double, minimum: Double)
    case requested(by: String)

    var reason: String {
        switch self {
        case .initial: "no live model"
        case .schedule(let age): "the live model is \(Int(age)) s old (training.retrain_after)"
        case .drift(let feature, let psi): "feature drift: \(feature) PSI \(String(format: "%.3f", psi)) (above 0.25: retrain)"
        case .decay(let accuracy, let minimum):
            "performance decay: the live model's recent accuracy \(String(format: "%.3f", accuracy)) is below \(String(format: "%.3f", minimum))"
        case .requested(let source): "requested by \(source)"
        }
    }

    var name: String {
        switch self {
        case .initial: "initial"
        case .schedule: "schedule"
        case .drift: "drift"
        case .decay: "decay"
        case .requested: "requested"
        }
    }

    /// The trigger, if any, given the live model's training time, each feature's PSI against
    /// its training window, the live model's accuracy on the recent klines, the time, and
    /// whether a drift window of new klines came since the last training run (a drift or a
    /// decay persists until the models have seen new klines: without them a retrain would only
    /// repeat the last).
    static func decide(
        liveTrainedAt: Date?, psi: [Double]?, recentAccuracy: Double?, minimumAccuracy: Double, now: Date,
        retrainAfter: TimeInterval, freshWindow: Bool
    ) -> RetrainTrigger? {
        guard let trainedAt = liveTrainedAt else { return .initial }
        if freshWindow, let psi, let worst = psi.indices.max(by: { psi[$0] < psi[$1] }),
            DriftReference.Verdict(psi: psi[worst]) == .retrain
        {
            return .drift(feature: FeatureExtractor.names[worst], psi: psi[worst])
        }
        if freshWindow, let recentAccuracy, recentAccuracy < minimumAccuracy {
            return .decay(accuracy: recentAccuracy, minimum: minimumAccuracy)
        }
        let age = now.timeIntervalSince(trainedAt)
        return age >= retrainAfter ? .schedule(age: age) : nil
    }
}
