import Foundation

/// Feature drift by the population stability index: each feature's recent values against the
/// training window's, over the training window's deciles. PSI = Σ (recent − reference) ·
/// ln(recent / reference) over the bins, each share floored so an empty bin does not make it
/// infinite. Below 0.1 the feature is stable, from 0.1 to 0.25 worth watching, above 0.25 it
/// has drifted and the models should be trained again.
public struct DriftReference: Sendable, Equatable, Codable {
    /// Per feature, the nine inner decile edges of the training window.
    public let edges: [[Double]]
    /// Per feature, the share of the training window in each of the ten bins.
    public let shares: [[Double]]

    public enum Verdict: String, Sendable, Equatable, Codable {
        case stable, watch, retrain

        public init(psi: Double) {
            self = psi < 0.1 ? .stable : psi <= 0.25 ? .watch : .retrain
        }
    }

    public init(training: [Features]) {
        let count = training.first?.values.count ?? 0
        var edges: [[Double]] = []
        var shares: [[Double]] = []
        for feature in 0..<count {
            let sorted = training.map { $0.values[feature] }.sorted()
            let cuts = (1...9).map { sorted[sorted.count * $0 / 10] }
            edges.append(cuts)
            shares.append(Self.shares(of: sorted, edges: cuts))
        }
        self.edges = edges
        self.shares = shares
    }

    static func shares(of values: [Double], edges: [Double]) -> [Double] {
        var counts = Array(repeating: 0.0, count: edges.count + 1)
        for value in values {
            // The first bin whose upper edge is above the value; the last bin takes the rest.
            let bin = edges.firstIndex { value < $0 } ?? edges.count
            counts[bin] += 1
        }
        return counts.map { $0 / Double(max(values.count, 1)) }
    }

    /// Each feature's PSI of `recent` against the training window.
    public func psi(_ recent: [Features]) -> [Double] {
        edges.indices.map { feature in
            let now = Self.shares(of: recent.map { $0.values[feature] }, edges: edges[feature])
            return zip(now, shares[feature]).reduce(0) { sum, pair in
                let (actual, expected) = (max(pair.0, 1e-4), max(pair.1, 1e-4))
                return sum + (actual - expected) * log(actual / expected)
            }
        }
    }
}

/// Whether a candidate replaces the live models: on the same held-out bars (after both
/// training windows), the candidate's ensemble log loss must be lower than the live one's by
/// at least `margin`. A candidate no better, or better by less, is kept out.
public struct PromotionRule: Sendable, Equatable {
    public var margin: Double

    public init(margin: Double) { self.margin = margin }

    public struct Evaluation: Sendable, Equatable, Codable {
        public var candidateLogLoss: Double
        public var liveLogLoss: Double
        public var candidateAccuracy: Double
        public var liveAccuracy: Double
        public var samples: Int
    }

    /// Both model sets on `heldOut`, each through a fresh ensemble scored as it goes (as the
    /// engine would run it).
    public static func evaluate(candidate: ModelSet, live: ModelSet, on heldOut: [Sample]) -> Evaluation {
        func run(_ models: ModelSet) -> (loss: Double, accuracy: Double) {
            var models = models
            var ensemble = Ensemble()
            var loss = 0.0
            var correct = 0
            for sample in heldOut {
                let probabilities = models.probabilities(sample.features)
                let p = min(max(ensemble.combine(probabilities), 1e-9), 1 - 1e-9)
                loss -= sample.up ? log(p) : log(1 - p)
                if (p > 0.5) == sample.up { correct += 1 }
                ensemble.score(probabilities, up: sample.up)
                models.learn(sample)
            }
            let count = Double(max(heldOut.count, 1))
            return (loss / count, Double(correct) / count)
        }
        let (candidateResult, liveResult) = (run(candidate), run(live))
        return Evaluation(
            candidateLogLoss: candidateResult.loss, liveLogLoss: liveResult.loss, candidateAccuracy: candidateResult.accuracy,
            liveAccuracy: liveResult.accuracy, samples: heldOut.count)
    }

    public func promotes(_ evaluation: Evaluation) -> Bool {
        evaluation.samples > 0 && evaluation.liveLogLoss - evaluation.candidateLogLoss >= margin
    }
}
