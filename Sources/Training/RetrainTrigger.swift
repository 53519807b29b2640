import Forecasting
import Foundation

/// Why a symbol's models are trained now, if they are, pure: no live model; a live model older
/// than `retrainAfter`; features that drifted from the live model's training window (a PSI above
/// 0.25); or an operator's request. Each trigger names its inputs, for the log and the event.
enum RetrainTrigger: Equatable {
    case initial
    case schedule(age: TimeInterval)
    case drift(feature: String, psi: Double)
    case requested(by: String)

    var reason: String {
        switch self {
        case .initial: "no live model"
        case .schedule(let age): "the live model is \(Int(age)) s old (training.retrain_after)"
        case .drift(let feature, let psi): "feature drift: \(feature) PSI \(String(format: "%.3f", psi)) (above 0.25: retrain)"
        case .requested(let source): "requested by \(source)"
        }
    }

    var name: String {
        switch self {
        case .initial: "initial"
        case .schedule: "schedule"
        case .drift: "drift"
        case .requested: "requested"
        }
    }

    /// The trigger, if any, given the live model's training time, each feature's PSI against
    /// its training window, the time, and whether a drift window of new klines came since the
    /// last training run (a drift persists until the models have seen it: without new klines a
    /// retrain would only repeat the last).
    static func decide(liveTrainedAt: Date?, psi: [Double]?, now: Date, retrainAfter: TimeInterval, freshWindow: Bool)
        -> RetrainTrigger?
    {
        guard let trainedAt = liveTrainedAt else { return .initial }
        if freshWindow, let psi, let worst = psi.indices.max(by: { psi[$0] < psi[$1] }),
            DriftReference.Verdict(psi: psi[worst]) == .retrain
        {
            return .drift(feature: FeatureExtractor.names[worst], psi: psi[worst])
        }
        let age = now.timeIntervalSince(trainedAt)
        return age >= retrainAfter ? .schedule(age: age) : nil
    }
}
