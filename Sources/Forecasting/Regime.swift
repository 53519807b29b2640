import Foundation

/// The market's state as the meta-strategy controller reads it from the features: volatile
/// when volatility runs well above its own long-run level, trending when the trend measure is
/// strong, ranging otherwise.
public enum Regime: String, Sendable, CaseIterable, Equatable {
    case trending, ranging, volatile
}

/// What the controller does in a regime: which models it leans on, how sure a signal must be,
/// and how much of the bandit's size it takes.
public struct Profile: Sendable, Equatable {
    public var name: String
    /// A factor per model, in ``ModelSet/names`` order.
    public var tilt: [Double]
    /// The least confidence (|2p - 1|) a signal needs.
    public var minimumConfidence: Double
    /// The share of the bandit's size taken.
    public var sizeScale: Double

    public static func standard(for regime: Regime) -> Profile {
        switch regime {
        case .trending: Profile(name: "trend-following", tilt: [2, 0.5, 1, 1], minimumConfidence: 0.04, sizeScale: 1)
        case .ranging: Profile(name: "mean-reverting", tilt: [0.5, 2, 1, 1], minimumConfidence: 0.04, sizeScale: 1)
        case .volatile: Profile(name: "defensive", tilt: [1, 1, 1, 1], minimumConfidence: 0.1, sizeScale: 0.5)
        }
    }
}

/// Detects the regime bar by bar; pure, its state the long-run volatility level.
public struct RegimeDetector: Sendable, Equatable {
    private var volatilityLevel: ExponentialAverage
    private var seen = 0
    let volatileRatio: Double
    let trendThreshold: Double

    public init(longRun: Int = 500, volatileRatio: Double = 1.6, trendThreshold: Double = 1.5) {
        volatilityLevel = ExponentialAverage(period: longRun)
        self.volatileRatio = volatileRatio
        self.trendThreshold = trendThreshold
    }

    public mutating func classify(_ features: Features) -> Regime {
        let volatility = features[.volatility]
        let level = seen == 0 ? volatility : volatilityLevel.value
        volatilityLevel.add(volatility)
        seen += 1
        if volatility > level * volatileRatio { return .volatile }
        return abs(features[.trend]) > trendThreshold ? .trending : .ranging
    }
}
