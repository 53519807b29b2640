// PolicyStore: the risk policy every service trades under. The risk service is its one
// authority (it validates, versions, stores and announces changes); every other service keeps a
// ``PolicyReplica`` that follows it and never goes stale silently.

import EventBus
import Foundation

/// The limits trading runs within. Amounts are exact decimals in the quote currency (USDT);
/// fractions (`maxDrawdown`, `priceCollar`) are decimals such as `0.10` for 10 %.
public struct RiskPolicy: Sendable, Equatable {
    /// Symbols that may be traded, such as `BTCUSDT`.
    public var allowedSymbols: [String]
    /// The largest notional (price × quantity) of one order.
    public var maxOrderNotional: Decimal
    /// The largest position notional in one symbol, unless `symbolExposure` names the symbol.
    public var maxSymbolExposure: Decimal
    /// Per-symbol exposure limits that replace `maxSymbolExposure`.
    public var symbolExposure: [String: Decimal]
    /// The largest notional across all positions.
    public var maxTotalExposure: Decimal
    public var maxOrdersPerMinute: Int
    /// How far a limit price may be from the last market price, as a fraction of it.
    public var priceCollar: Decimal
    public var ess: EmergencyStopPolicy

    public init(
        allowedSymbols: [String], maxOrderNotional: Decimal, maxSymbolExposure: Decimal, symbolExposure: [String: Decimal] = [:],
        maxTotalExposure: Decimal, maxOrdersPerMinute: Int, priceCollar: Decimal, ess: EmergencyStopPolicy
    ) {
        self.allowedSymbols = allowedSymbols
        self.maxOrderNotional = maxOrderNotional
        self.maxSymbolExposure = maxSymbolExposure
        self.symbolExposure = symbolExposure
        self.maxTotalExposure = maxTotalExposure
        self.maxOrdersPerMinute = maxOrdersPerMinute
        self.priceCollar = priceCollar
        self.ess = ess
    }

    /// What a fresh installation starts with: small paper-trading limits.
    public static let defaults = RiskPolicy(
        allowedSymbols: ["BTCUSDT", "ETHUSDT"], maxOrderNotional: 1000, maxSymbolExposure: 5000, maxTotalExposure: 10000,
        maxOrdersPerMinute: 60, priceCollar: Decimal(string: "0.05")!, ess: .defaults)

    public func exposureLimit(for symbol: String) -> Decimal { symbolExposure[symbol] ?? maxSymbolExposure }
}

/// The Emergency Stop System's thresholds.
public struct EmergencyStopPolicy: Sendable, Equatable {
    /// Peak-to-trough equity loss, as a fraction of the peak, that trips the ESS.
    public var maxDrawdown: Decimal
    /// A smaller drawdown that puts trading in `reducing` (only exposure-reducing orders); none
    /// when nil.
    public var reduceDrawdown: Decimal?
    /// The loss since the start of the UTC day that trips the ESS.
    public var maxDailyLoss: Decimal
    /// Rejected orders and stop-loss hits within `errorWindowSeconds` that trip the ESS.
    public var maxExecutionErrors: Int
    public var errorWindowSeconds: Int
    /// How old the last market tick of an allowed symbol may get before the ESS trips.
    public var maxFeedAgeSeconds: Int
    /// How long conditions must stay clear before trading is armed again.
    public var cooldownSeconds: Int
    /// Whether arming after the cooldown also needs an operator's reset.
    public var manualResetRequired: Bool
    public var cancelOpenOrdersOnTrip: Bool
    public var flattenPositionsOnTrip: Bool

    public init(
        maxDrawdown: Decimal, reduceDrawdown: Decimal? = nil, maxDailyLoss: Decimal, maxExecutionErrors: Int, errorWindowSeconds: Int,
        maxFeedAgeSeconds: Int, cooldownSeconds: Int, manualResetRequired: Bool = false, cancelOpenOrdersOnTrip: Bool = true,
        flattenPositionsOnTrip: Bool = false
    ) {
        self.maxDrawdown = maxDrawdown
        self.reduceDrawdown = reduceDrawdown
        self.maxDailyLoss = maxDailyLoss
        self.maxExecutionErrors = maxExecutionErrors
        self.errorWindowSeconds = errorWindowSeconds
        self.maxFeedAgeSeconds = maxFeedAgeSeconds
        self.cooldownSeconds = cooldownSeconds
        self.manualResetRequired = manualResetRequired
        self.cancelOpenOrdersOnTrip = cancelOpenOrdersOnTrip
        self.flattenPositionsOnTrip = flattenPositionsOnTrip
    }

    public static let defaults = EmergencyStopPolicy(
        maxDrawdown: Decimal(string: "0.10")!, reduceDrawdown: Decimal(string: "0.05")!, maxDailyLoss: 1000, maxExecutionErrors: 5,
        errorWindowSeconds: 60, maxFeedAgeSeconds: 30, cooldownSeconds: 300)
}

/// A policy as stored and announced: the authority numbers every change.
///
/// Two documents are equal when they are written the same: times travel with millisecond
/// precision, so a document read back from Redis or an event equals the one that was written.
public struct PolicyDocument: Sendable, Equatable {
    public static func == (left: PolicyDocument, right: PolicyDocument) -> Bool {
        left.data == right.data
    }

    public var version: Int
    public var updatedAt: Date
    public var updatedBy: String
    public var policy: RiskPolicy

    public init(version: Int, updatedAt: Date, updatedBy: String, policy: RiskPolicy) {
        self.version = version
        self.updatedAt = updatedAt
        self.updatedBy = updatedBy
        self.policy = policy
    }
}
