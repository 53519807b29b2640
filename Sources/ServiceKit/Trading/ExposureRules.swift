import EmergencyStop
import EventBus
import Foundation
import Money
import PolicyStore

/// A trading service's question before it adds exposure: may an order of `notional` on `symbol`
/// go out now? The exposures after the order are the caller's (execution knows its positions).
public struct ExposureQuestion: Sendable, Equatable {
    public var symbol: String
    public var notional: Money
    /// True for an order that only reduces a position: allowed while the ESS is `reducing`, and
    /// not held to the exposure limits.
    public var reducesExposure: Bool
    /// The symbol's position notional if the order fills; nil when the caller does not track it.
    public var symbolExposureAfter: Money?
    /// All positions' notional if the order fills; nil when the caller does not track it.
    public var totalExposureAfter: Money?

    public init(
        symbol: String, notional: Money, reducesExposure: Bool = false, symbolExposureAfter: Money? = nil, totalExposureAfter: Money? = nil
    ) {
        self.symbol = symbol
        self.notional = notional
        self.reducesExposure = reducesExposure
        self.symbolExposureAfter = symbolExposureAfter
        self.totalExposureAfter = totalExposureAfter
    }
}

/// The answer, with the rule that refused and why, for `order.rejected` and the log.
public enum ExposureVerdict: Sendable, Equatable {
    case allowed
    case refused(rule: String, reason: String)
}

/// The pure rules behind ``TradingGuards``: the ESS first (as its fail-safe reader reports it,
/// so an unknown or stale state reads as tripped), then the policy's limits. Time, state and
/// policy come in as arguments.
public enum ExposureRules {
    public static func decide(_ question: ExposureQuestion, ess: ESSStatus, policy: RiskPolicy?) -> ExposureVerdict {
        switch ess.state {
        case .armed: break
        case .reducing:
            guard question.reducesExposure else {
                return .refused(rule: "ess", reason: "the ESS allows only orders that reduce exposure: \(ess.reason)")
            }
        case .tripped, .cooldown:
            return .refused(rule: "ess", reason: "the ESS is \(ess.state.rawValue): \(ess.reason)")
        }
        if question.reducesExposure { return .allowed }
        guard let policy else { return .refused(rule: "policy", reason: "no risk policy loaded yet") }
        guard policy.allowedSymbols.contains(question.symbol) else {
            return .refused(rule: "symbol", reason: "\(question.symbol) is not among the policy's allowed symbols")
        }
        let limits: [(rule: String, amount: Money?, limit: Decimal, what: String)] = [
            ("order_notional", question.notional, policy.maxOrderNotional, "order notional"),
            ("symbol_exposure", question.symbolExposureAfter, policy.exposureLimit(for: question.symbol), "\(question.symbol) exposure"),
            ("total_exposure", question.totalExposureAfter, policy.maxTotalExposure, "total exposure"),
        ]
        for check in limits {
            guard let amount = check.amount else { continue }
            guard let limit = try? Money(parsing: ExactDecimal.text(check.limit)) else {
                return .refused(rule: check.rule, reason: "the policy's \(check.what) limit \(check.limit) is not an exact amount")
            }
            if amount > limit {
                return .refused(rule: check.rule, reason: "\(check.what) \(amount) would exceed the policy's limit of \(limit)")
            }
        }
        return .allowed
    }
}
