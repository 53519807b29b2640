/// Where a simulated market's mid price goes, one step at a time, in whole ticks (so every
/// price it makes is on the symbol's grid and exact).
public struct PricePath: Sendable, Equatable {
    /// A random walk's character: how far it moves per step and how often its regime changes.
    public struct RandomWalk: Sendable, Equatable {
        /// The typical move per step in a calm regime, in millionths of the price.
        public var volatilityPPM: Int
        /// How much wider the moves are during a volatility burst.
        public var burstMultiplier: Int
        /// The drift per step of a trending regime, in millionths of the price.
        public var trendPPM: Int

        public init(volatilityPPM: Int, burstMultiplier: Int, trendPPM: Int) {
            self.volatilityPPM = volatilityPPM
            self.burstMultiplier = burstMultiplier
            self.trendPPM = trendPPM
        }

        /// About 0.01% a step (a second, by default), bursts five times that.
        public static let standard = RandomWalk(volatilityPPM: 100, burstMultiplier: 5, trendPPM: 10)
    }

    public enum Source: Sendable, Equatable {
        /// A seeded random walk through regimes: calm, trending up, trending down, bursts.
        case randomWalk(RandomWalk)
        /// A recorded path (from ``KlineReplay``), in ticks, played in a loop.
        case replay([Int])
    }

    enum Regime: Sendable, Equatable {
        case calm, trendUp, trendDown, burst
    }

    public let source: Source
    public private(set) var ticks: Int
    private var regime = Regime.calm
    private var regimeStepsLeft = 0
    private var replayIndex = 0

    /// - Parameter ticks: the starting price in ticks (a replay starts at its first point).
    public init(source: Source, ticks: Int) {
        self.source = source
        if case .replay(let points) = source, let first = points.first {
            self.ticks = first
        } else {
            self.ticks = max(1, ticks)
        }
    }

    /// Moves one step and answers the new price in ticks (never below one tick).
    mutating func step(using generator: inout SeededGenerator) -> Int {
        switch source {
        case .replay(let points):
            guard !points.isEmpty else { return ticks }
            replayIndex = (replayIndex + 1) % points.count
            ticks = points[replayIndex]
        case .randomWalk(let walk):
            if regimeStepsLeft <= 0 { chooseRegime(using: &generator) }
            regimeStepsLeft -= 1
            let volatility = walk.volatilityPPM * (regime == .burst ? walk.burstMultiplier : 1)
            let spread = max(1, ticks / 1_000_000 * volatility + ticks % 1_000_000 * volatility / 1_000_000)
            var drift = 0
            switch regime {
            case .trendUp: drift = max(1, ticks / 1_000_000 * walk.trendPPM)
            case .trendDown: drift = -max(1, ticks / 1_000_000 * walk.trendPPM)
            case .calm, .burst: break
            }
            ticks = max(1, ticks + generator.bell(spread) + drift)
        }
        return ticks
    }

    private mutating func chooseRegime(using generator: inout SeededGenerator) {
        let draw = Int.random(in: 0..<100, using: &generator)
        switch draw {
        case 0..<70:
            regime = .calm
            regimeStepsLeft = Int.random(in: 60...600, using: &generator)
        case 70..<80:
            regime = .trendUp
            regimeStepsLeft = Int.random(in: 60...300, using: &generator)
        case 80..<90:
            regime = .trendDown
            regimeStepsLeft = Int.random(in: 60...300, using: &generator)
        default:
            regime = .burst
            regimeStepsLeft = Int.random(in: 10...60, using: &generator)
        }
    }
}
