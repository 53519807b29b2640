import Forecasting
import Foundation

/// The AI engine's decisions, pure: each closed bar of a symbol first scores what was predicted
/// at the bar before (the ensemble's records, the online model's learning, the bandit's reward
/// for the size it chose), then predicts the next bar: features, regime and profile, the
/// ensemble's probability, and a signal when the profile's confidence is met and the symbol
/// has no live signal on that side. Time, bars and models come in; nothing is read from a
/// clock or a network.
public struct Strategist: Sendable {
    public struct Settings: Sendable, Equatable {
        /// How long a signal stays live, ms.
        public var signalLifetime: Int64

        public init(signalLifetime: Int64) { self.signalLifetime = signalLifetime }
    }

    /// A signal to publish.
    public struct Signal: Sendable, Equatable {
        public var symbol: String
        public var buy: Bool
        /// |2p − 1|, 0 to 1.
        public var confidence: Double
        public var probabilityUp: Double
        public var referenceClose: Double
        public var regime: Regime
        public var profile: String
        /// The share of the policy's largest order: the bandit's arm times the profile's scale.
        public var size: Double
        public var modelVersion: String
        public var expiresAt: Int64
        public var reason: String
    }

    struct Prediction: Sendable {
        var probabilities: [Double]
        var features: Features
        var close: Double
        var regime: Regime
        /// The signal's side (+1 buy, −1 sell) and the bandit arm it was sized by.
        var signal: (direction: Double, arm: Int)?
    }

    /// One symbol's live state.
    public struct SymbolState: Sendable {
        var extractor = FeatureExtractor()
        var detector = RegimeDetector()
        public internal(set) var ensemble = Ensemble()
        public internal(set) var models: ModelSet?
        public internal(set) var modelVersion = "none"
        var pending: Prediction?
        public internal(set) var regime: Regime?
        public internal(set) var regimeBars: [Regime: Int] = [:]
        public internal(set) var lastProbabilities: [Double] = []
        /// The features of the last bar (what the models saw).
        public internal(set) var lastFeatures: Features?
        public internal(set) var live: (buy: Bool, expiresAt: Int64)?
        public internal(set) var bars = 0
        public internal(set) var signals = 0
    }

    public let settings: Settings
    public private(set) var symbols: [String: SymbolState] = [:]
    public private(set) var bandit = SizingBandit()
    public private(set) var lastArm: [Regime: Int] = [:]

    public init(settings: Settings) { self.settings = settings }

    /// Hot-swaps a symbol's models (its ensemble's record carries over: it scores predictions,
    /// whichever models made them).
    public mutating func install(_ models: ModelSet, version: String, for symbol: String) {
        symbols[symbol, default: SymbolState()].models = models
        symbols[symbol, default: SymbolState()].modelVersion = version
    }

    /// Klines before this bar are missing: what was built from the series starts again.
    public mutating func restart(_ symbol: String) {
        var state = symbols[symbol] ?? SymbolState()
        state.extractor = FeatureExtractor()
        state.pending = nil
        symbols[symbol] = state
    }

    /// One closed bar of `symbol` at `now` (ms); the signal to publish, if any.
    public mutating func observe(_ symbol: String, bar: Bar, now: Int64) -> Signal? {
        var state = symbols[symbol] ?? SymbolState()
        defer { symbols[symbol] = state }
        state.bars += 1
        if let pending = state.pending, pending.close > 0 {
            let up = bar.close > pending.close
            state.ensemble.score(pending.probabilities, up: up)
            state.models?.learn(Sample(features: pending.features, up: up))
            if let signal = pending.signal {
                let volatility = max(pending.features[.volatility], 1e-9)
                bandit.reward(signal.arm, in: pending.regime, realized: signal.direction * log(bar.close / pending.close) / volatility)
            }
            state.pending = nil
        }
        if let live = state.live, live.expiresAt <= now { state.live = nil }
        guard let features = state.extractor.add(bar) else { return nil }
        state.lastFeatures = features
        let regime = state.detector.classify(features)
        state.regime = regime
        state.regimeBars[regime, default: 0] += 1
        guard let models = state.models else { return nil }
        let profile = Profile.standard(for: regime)
        let probabilities = models.probabilities(features)
        state.lastProbabilities = probabilities
        let probability = state.ensemble.combine(probabilities, tilt: profile.tilt)
        let confidence = abs(2 * probability - 1)
        let buy = probability > 0.5
        var prediction = Prediction(probabilities: probabilities, features: features, close: bar.close, regime: regime)
        defer { state.pending = prediction }
        guard confidence >= profile.minimumConfidence, state.live.map({ $0.buy != buy }) ?? true else { return nil }
        let arm = bandit.choose(in: regime)
        lastArm[regime] = arm
        prediction.signal = (buy ? 1 : -1, arm)
        let expiresAt = now + settings.signalLifetime
        state.live = (buy, expiresAt)
        state.signals += 1
        let weights = state.ensemble.weights(tilt: profile.tilt)
        let leading = zip(ModelSet.names, zip(weights, probabilities)).max { $0.1.0 < $1.1.0 }
        return Signal(
            symbol: symbol, buy: buy, confidence: confidence, probabilityUp: probability, referenceClose: bar.close, regime: regime,
            profile: profile.name, size: SizingBandit.shares[arm] * profile.sizeScale, modelVersion: state.modelVersion,
            expiresAt: expiresAt,
            reason: "\(regime.rawValue) regime (\(profile.name)): ensemble p(up) \(Self.fixed(probability)); heaviest "
                + "\(leading?.0 ?? "-") (weight \(Self.fixed(leading?.1.0 ?? 0)), p \(Self.fixed(leading?.1.1 ?? 0))); "
                + "trend \(Self.fixed(features[.trend])), z \(Self.fixed(features[.meanReversion]))")
    }

    static func fixed(_ value: Double) -> String { String(format: "%.3f", value) }
}
