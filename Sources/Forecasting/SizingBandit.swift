import Foundation

/// Position sizing as a contextual bandit (one UCB1 bandit per regime): its arms are shares of
/// the policy's largest order, and each chosen size is rewarded, once its signal's horizon has
/// passed, with the mean-variance utility of what that size earned: `s·z − s²·z²/2`, where `z`
/// is the signal's realized return in volatilities (positive when the side was right). The
/// expectation of that reward is the size's risk-adjusted return, so the bandit learns to size
/// up where signals pay and down where they are noise. Chosen over a full RL method: one
/// decision per signal with its reward known a horizon later is a bandit problem, and UCB1's
/// regret is bounded without tuning.
public struct SizingBandit: Sendable, Equatable {
    public struct Arm: Sendable, Equatable {
        public var share: Double
        public var pulls = 0
        public var totalReward = 0.0
        public var mean: Double { pulls == 0 ? 0 : totalReward / Double(pulls) }
    }

    public static let shares = [0.25, 0.5, 0.75, 1.0]
    public private(set) var arms: [Regime: [Arm]]
    let exploration: Double

    public init(exploration: Double = 0.5) {
        arms = Dictionary(uniqueKeysWithValues: Regime.allCases.map { ($0, Self.shares.map { Arm(share: $0) }) })
        self.exploration = exploration
    }

    /// The arm to play in `regime`: each once, then the highest upper confidence bound.
    public func choose(in regime: Regime) -> Int {
        let candidates = arms[regime] ?? []
        if let untried = candidates.firstIndex(where: { $0.pulls == 0 }) { return untried }
        let total = Double(candidates.reduce(0) { $0 + $1.pulls })
        var best = 0
        var bestBound = -Double.infinity
        for (index, arm) in candidates.enumerated() {
            let bound = arm.mean + exploration * sqrt(2 * log(total) / Double(arm.pulls))
            if bound > bestBound { (best, bestBound) = (index, bound) }
        }
        return best
    }

    /// The reward of `arm` in `regime` for a realized return of `z` volatilities.
    public mutating func reward(_ arm: Int, in regime: Regime, realized z: Double) {
        guard var candidates = arms[regime], candidates.indices.contains(arm) else { return }
        let clipped = max(min(z, 5), -5)
        let share = candidates[arm].share
        candidates[arm].pulls += 1
        candidates[arm].totalReward += share * clipped - share * share * clipped * clipped / 2
        arms[regime] = candidates
    }
}
