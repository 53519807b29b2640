import Foundation

/// One labelled bar: its features, and whether the next bar closed higher.
public struct Sample: Sendable, Equatable {
    public var features: Features
    public var up: Bool

    public init(features: Features, up: Bool) {
        self.features = features
        self.up = up
    }
}

/// A model of the next bar's direction: the probability it closes higher.
public protocol DirectionModel: Sendable {
    func probabilityUp(_ features: Features) -> Double
}

func logistic(_ x: Double) -> Double { 1 / (1 + exp(-max(min(x, 40), -40))) }

/// Mean log loss of `probability` over `samples` (lower is better).
func logLoss(_ samples: [Sample], _ probability: (Features) -> Double) -> Double {
    guard !samples.isEmpty else { return .infinity }
    let total = samples.reduce(0.0) { sum, sample in
        let p = min(max(probability(sample.features), 1e-9), 1 - 1e-9)
        return sum - (sample.up ? log(p) : log(1 - p))
    }
    return total / Double(samples.count)
}

/// A model of one feature and one fitted gain: the probability is the logistic of `gain` times
/// the feature. The trend follower (trend) and the mean-reversion model (the close's distance
/// from its mean, whose gain comes out negative where prices revert) are two of these; the gain
/// is fitted on the training window by the least log loss over a grid (0 where the feature says
/// nothing, so the model then says 0.5).
public struct SingleFeatureModel: DirectionModel, Equatable, Codable {
    public let feature: FeatureExtractor.Name
    public private(set) var gain: Double

    public init(feature: FeatureExtractor.Name, gain: Double = 0) {
        self.feature = feature
        self.gain = gain
    }

    public func probabilityUp(_ features: Features) -> Double { logistic(gain * features[feature]) }

    /// The gain, from -2 to 2 in steps of 0.02, with the least log loss on `samples`.
    public static func train(feature: FeatureExtractor.Name, on samples: [Sample]) -> SingleFeatureModel {
        var best = SingleFeatureModel(feature: feature)
        var bestLoss = logLoss(samples, best.probabilityUp)
        for step in -100...100 where step != 0 {
            let candidate = SingleFeatureModel(feature: feature, gain: Double(step) / 50)
            let loss = logLoss(samples, candidate.probabilityUp)
            if loss < bestLoss { (best, bestLoss) = (candidate, loss) }
        }
        return best
    }
}

/// Logistic regression over every feature (standardized by the training window's means and
/// deviations), fitted by stochastic gradient descent and kept learning online, one labelled
/// bar at a time, live as in training.
public struct OnlineLogisticModel: DirectionModel, Equatable, Codable {
    public private(set) var weights: [Double]
    public private(set) var bias = 0.0
    let means: [Double]
    let scales: [Double]
    let learningRate: Double
    let l2: Double

    public init(means: [Double], scales: [Double], learningRate: Double = 0.01, l2: Double = 1e-4) {
        weights = Array(repeating: 0, count: means.count)
        self.means = means
        self.scales = scales.map { $0 > 1e-12 ? $0 : 1 }
        self.learningRate = learningRate
        self.l2 = l2
    }

    func standardized(_ features: Features) -> [Double] {
        zip(features.values, zip(means, scales)).map { value, scale in max(min((value - scale.0) / scale.1, 5), -5) }
    }

    public func probabilityUp(_ features: Features) -> Double {
        let x = standardized(features)
        return logistic(bias + zip(weights, x).reduce(0) { $0 + $1.0 * $1.1 })
    }

    /// One step of gradient descent on one labelled bar.
    public mutating func learn(_ sample: Sample) {
        let x = standardized(sample.features)
        let error = probabilityUp(sample.features) - (sample.up ? 1 : 0)
        for index in weights.indices { weights[index] -= learningRate * (error * x[index] + l2 * weights[index]) }
        bias -= learningRate * error
    }

    /// Standardized on `samples`, then `passes` passes over them in order.
    public static func train(on samples: [Sample], passes: Int = 3) -> OnlineLogisticModel {
        let count = samples.first?.features.values.count ?? FeatureExtractor.Name.allCases.count
        var means = Array(repeating: 0.0, count: count)
        var squares = Array(repeating: 0.0, count: count)
        for sample in samples {
            for index in 0..<count { means[index] += sample.features.values[index] / Double(max(samples.count, 1)) }
        }
        for sample in samples {
            for index in 0..<count {
                let deviation = sample.features.values[index] - means[index]
                squares[index] += deviation * deviation / Double(max(samples.count, 1))
            }
        }
        var model = OnlineLogisticModel(means: means, scales: squares.map { sqrt($0) })
        for _ in 0..<passes {
            for sample in samples { model.learn(sample) }
        }
        return model
    }
}

/// Gradient-boosted decision stumps with the logistic loss: each round adds the one-feature,
/// one-threshold split (thresholds at the training window's deciles) that best fits the
/// current gradients, with Newton-step leaf values, shrunk by the learning rate. Chosen over
/// deeper trees: on a few thousand noisy bars, stumps overfit least and train in milliseconds.
public struct BoostedStumpsModel: DirectionModel, Equatable, Codable {
    public struct Stump: Sendable, Equatable, Codable {
        public var feature: Int
        public var threshold: Double
        public var below: Double
        public var above: Double
    }

    public private(set) var base: Double
    public private(set) var stumps: [Stump]

    public init(base: Double = 0, stumps: [Stump] = []) {
        self.base = base
        self.stumps = stumps
    }

    func score(_ features: Features) -> Double {
        stumps.reduce(base) { sum, stump in sum + (features.values[stump.feature] < stump.threshold ? stump.below : stump.above) }
    }

    public func probabilityUp(_ features: Features) -> Double { logistic(score(features)) }

    public static func train(on samples: [Sample], rounds: Int = 50, learningRate: Double = 0.1) -> BoostedStumpsModel {
        guard !samples.isEmpty else { return BoostedStumpsModel() }
        let ups = Double(samples.filter(\.up).count)
        let prior = min(max(ups / Double(samples.count), 0.01), 0.99)
        var model = BoostedStumpsModel(base: log(prior / (1 - prior)))
        let featureCount = samples[0].features.values.count
        let thresholds: [[Double]] = (0..<featureCount).map { feature in
            let sorted = samples.map { $0.features.values[feature] }.sorted()
            return Array(Set((1...9).map { sorted[sorted.count * $0 / 10] })).sorted()
        }
        var scores = samples.map { model.score($0.features) }
        for _ in 0..<rounds {
            let probabilities = scores.map(logistic)
            let gradients = zip(samples, probabilities).map { ($0.up ? 1 : 0) - $1 }
            let hessians = probabilities.map { max($0 * (1 - $0), 1e-6) }
            var best: (gain: Double, stump: Stump)?
            for feature in 0..<featureCount {
                for threshold in thresholds[feature] {
                    var (gradientBelow, hessianBelow, gradientAbove, hessianAbove) = (0.0, 0.0, 0.0, 0.0)
                    for index in samples.indices {
                        if samples[index].features.values[feature] < threshold {
                            gradientBelow += gradients[index]
                            hessianBelow += hessians[index]
                        } else {
                            gradientAbove += gradients[index]
                            hessianAbove += hessians[index]
                        }
                    }
                    let regularization = 1.0
                    let gain =
                        gradientBelow * gradientBelow / (hessianBelow + regularization) + gradientAbove * gradientAbove
                        / (hessianAbove + regularization)
                    if best.map({ gain > $0.gain }) ?? true {
                        best = (
                            gain,
                            Stump(
                                feature: feature, threshold: threshold,
                                below: learningRate * gradientBelow / (hessianBelow + regularization),
                                above: learningRate * gradientAbove / (hessianAbove + regularization))
                        )
                    }
                }
            }
            guard let stump = best?.stump else { break }
            model.stumps.append(stump)
            for index in samples.indices {
                scores[index] += samples[index].features.values[stump.feature] < stump.threshold ? stump.below : stump.above
            }
        }
        return model
    }
}
