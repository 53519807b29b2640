import Binance
import EventBus
import Money

/// An order at the paper exchange, in the terms Binance reports it.
public struct PaperOrder: Sendable, Equatable {
    public let id: Int64
    public let clientOrderId: String
    public let symbol: String
    public let side: OrderSide
    public let type: BinanceOrderType
    /// MARKET orders report GTC, as on Binance.
    public let timeInForce: TimeInForce
    /// Zero for MARKET orders.
    public let price: Price
    /// Zero for a MARKET order by quote amount until it is done, then what it bought or sold.
    public var origQty: Quantity
    public let origQuoteOrderQty: Money
    public var executedQty: Quantity
    /// Binance's `cummulativeQuoteQty`: the quote amount of every fill so far.
    public var cumulativeQuoteQty: Money
    public var status: OrderStatus
    public let time: Int64
    public var updateTime: Int64
    /// What is still locked for the unfilled part: quote for a buy, base for a sell.
    var locked: FixedDecimal
}

/// One fill of one order (Binance's trade, as `myTrades` and a FULL reply's `fills` show it).
public struct PaperTrade: Sendable, Equatable {
    public let id: Int64
    public let orderId: Int64
    public let symbol: String
    public let price: Price
    public let qty: Quantity
    public let quoteQty: Money
    /// Charged in the asset received: base for a buyer, quote for a seller.
    public let commission: FixedDecimal
    public let commissionAsset: String
    public let time: Int64
    public let isBuyer: Bool
    public let isMaker: Bool
}

/// What the user data stream reports of an order: Binance's `executionReport`.
public struct ExecutionReport: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case new = "NEW"
        case trade = "TRADE"
        case canceled = "CANCELED"
        case expired = "EXPIRED"
    }

    public let kind: Kind
    /// The order as it stood after this execution.
    public let order: PaperOrder
    /// The fill, for a TRADE.
    public let trade: PaperTrade?
    /// For a cancel: the cancel request's own client order id (Binance's `c`; `C` is the order's).
    public let cancelClientOrderId: String?
    public let eventTime: Int64
}

/// An account's balances, free and locked by open orders, per asset.
public struct Balances: Sendable, Equatable {
    public struct Balance: Sendable, Equatable {
        public var free: FixedDecimal
        public var locked: FixedDecimal
    }

    public private(set) var assets: [String: Balance]

    public init(_ starting: [String: FixedDecimal]) {
        assets = starting.mapValues { Balance(free: $0, locked: .zero) }
    }

    public subscript(asset: String) -> Balance { assets[asset] ?? Balance(free: .zero, locked: .zero) }

    func canLock(_ amount: FixedDecimal, of asset: String) -> Bool { self[asset].free >= amount }

    /// Moves `amount` from free to locked; the caller checked ``canLock(_:of:)``.
    mutating func lock(_ amount: FixedDecimal, of asset: String) throws(FixedDecimalError) {
        var balance = self[asset]
        balance.free = try balance.free - amount
        balance.locked = try balance.locked + amount
        assets[asset] = balance
    }

    mutating func unlock(_ amount: FixedDecimal, of asset: String) throws(FixedDecimalError) {
        var balance = self[asset]
        balance.locked = try balance.locked - amount
        balance.free = try balance.free + amount
        assets[asset] = balance
    }

    /// Pays out of what an order locked.
    mutating func spendLocked(_ amount: FixedDecimal, of asset: String) throws(FixedDecimalError) {
        var balance = self[asset]
        balance.locked = try balance.locked - amount
        assets[asset] = balance
    }

    mutating func credit(_ amount: FixedDecimal, to asset: String) throws(FixedDecimalError) {
        var balance = self[asset]
        balance.free = try balance.free + amount
        assets[asset] = balance
    }
}
