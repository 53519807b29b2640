import EmergencyStop
import Foundation

/// A time trading was halted: the ESS left `armed` (tripped, reducing, or cooling down) and
/// was armed again `until` (nil: still halted), with the transition that halted it.
public struct TradingHalt: Sendable, Equatable {
    public var cause: ESSTransition
    public var until: Date?

    public func seconds(at now: Date) -> Double { (until ?? now).timeIntervalSince(cause.at) }
}

/// The halts in the ESS's transitions, pure: each run of states other than `armed`, from the
/// transition that left `armed` to the one that returned to it.
public enum TradingHalts {
    public static func from(_ transitions: [ESSTransition]) -> [TradingHalt] {
        var halts: [TradingHalt] = []
        for transition in transitions.sorted(by: { $0.at < $1.at }) {
            let halted = halts.last.map { $0.until == nil } ?? false
            if transition.to != .armed, !halted {
                halts.append(TradingHalt(cause: transition, until: nil))
            } else if transition.to == .armed, halted {
                halts[halts.count - 1].until = transition.at
            }
        }
        return halts
    }
}
