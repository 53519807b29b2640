import Foundation

/// The four models the engine runs, trained together on one window of bars.
public struct ModelSet: Sendable, Equatable, Codable {
    public static let names = ["trend", "mean-reversion", "logistic", "boosted-stumps"]

    public var trend: SingleFeatureModel
    public var meanReversion: SingleFeatureModel
    public var logistic: OnlineLogisticModel
    public var boosted: BoostedStumpsModel

    /// Every model trained on `samples` (oldest first).
    public static func train(on samples: [Sample]) -> ModelSet {
        ModelSet(
            trend: .train(feature: .trend, on: samples), meanReversion: .train(feature: .meanReversion, on: samples),
            logistic: .train(on: samples), boosted: .train(on: samples))
    }

    /// Each model's probability that the next bar closes higher, in ``names`` order.
    public func probabilities(_ features: Features) -> [Double] {
        [
            trend.probabilityUp(features), meanReversion.probabilityUp(features), logistic.probabilityUp(features),
            boosted.probabilityUp(features),
        ]
    }

    /// The online model keeps learning from each labelled bar.
    public mutating func learn(_ sample: Sample) { logistic.learn(sample) }
}

/// The labelled samples of a run of bars, oldest first: each bar's features (once warm) with
/// whether the next bar closed higher. The same ``FeatureExtractor`` the engine runs live.
public func samples(from bars: [Bar]) -> [Sample] {
    var extractor = FeatureExtractor()
    var result: [Sample] = []
    var pending: (features: Features, close: Double)?
    for bar in bars {
        if let pending { result.append(Sample(features: pending.features, up: bar.close > pending.close)) }
        pending = extractor.add(bar).map { ($0, bar.close) }
    }
    return result
}

/// Weighs the models by their recent out-of-sample record (dynamic confidence): each
/// prediction is scored when its bar's outcome is known, before the model sees that bar.
/// Accuracy and Brier score decay with a half-life of `halfLife` scored predictions; a model's
/// weight is its accuracy's edge over chance (at least a floor, so a model can come back),
/// times the regime's tilt.
public struct Ensemble: Sendable, Equatable {
    public struct Record: Sendable, Equatable {
        /// Exponentially weighted share of correct directions.
        public var accuracy = 0.5
        /// Exponentially weighted squared error of the probability (0.25 is a coin's).
        public var brier = 0.25
        public var scored = 0
    }

    public private(set) var records: [Record]
    let decay: Double
    static let floor = 0.005

    public init(models: Int = ModelSet.names.count, halfLife: Double = 100) {
        records = Array(repeating: Record(), count: models)
        decay = pow(0.5, 1 / halfLife)
    }

    /// The weights (summing to 1) under `tilt` (one factor a model; 1 for none).
    public func weights(tilt: [Double]? = nil) -> [Double] {
        let raw = records.indices.map { index in
            max(records[index].accuracy - 0.5, Self.floor) * (tilt?[index] ?? 1)
        }
        let total = raw.reduce(0, +)
        return total > 0 ? raw.map { $0 / total } : raw.map { _ in 1 / Double(raw.count) }
    }

    /// The weighted probability that the next bar closes higher.
    public func combine(_ probabilities: [Double], tilt: [Double]? = nil) -> Double {
        zip(weights(tilt: tilt), probabilities).reduce(0) { $0 + $1.0 * $1.1 }
    }

    /// Scores each model's earlier prediction now that the outcome is known.
    public mutating func score(_ probabilities: [Double], up: Bool) {
        for index in records.indices where index < probabilities.count {
            let p = probabilities[index]
            let correct: Double = (p > 0.5) == up && p != 0.5 ? 1 : p == 0.5 ? 0.5 : 0
            let error = p - (up ? 1 : 0)
            records[index].accuracy = decay * records[index].accuracy + (1 - decay) * correct
            records[index].brier = decay * records[index].brier + (1 - decay) * error * error
            records[index].scored += 1
        }
    }
}
