import Binance
import EventBus
import Money

/// An order as Binance reports it (a new order's FULL reply, a query, a cancel), in exact
/// amounts.
public struct OrderReport: Sendable, Equatable {
    public var symbol: String
    public var orderId: Int64
    public var clientOrderId: String
    public var status: OrderStatus
    public var side: OrderSide
    public var type: String
    public var price: Price
    public var origQty: Quantity
    public var executedQty: Quantity
    public var cumulativeQuoteQty: Money
    /// The fills a FULL reply carried, or those read back while reconciling.
    public var fills: [FillReport]
    /// Whether this came from a reconciliation (the reply to the order itself was lost).
    public var reconciled: Bool

    /// An order in Binance's terms, from another venue's report of it.
    public init(
        symbol: String, orderId: Int64, clientOrderId: String, status: OrderStatus, side: OrderSide, type: String, price: Price,
        origQty: Quantity, executedQty: Quantity, cumulativeQuoteQty: Money, fills: [FillReport], reconciled: Bool
    ) {
        self.symbol = symbol
        self.orderId = orderId
        self.clientOrderId = clientOrderId
        self.status = status
        self.side = side
        self.type = type
        self.price = price
        self.origQty = origQty
        self.executedQty = executedQty
        self.cumulativeQuoteQty = cumulativeQuoteQty
        self.fills = fills
        self.reconciled = reconciled
    }

    /// Reads an order reply; `clientOrderIdField` is `origClientOrderId` for a cancel.
    init(_ value: JSONValue, clientOrderIdField: String = "clientOrderId") throws(PayloadError) {
        let reader = try PayloadReader(value, name: "order")
        let symbol = reader.string("symbol", maxLength: 32)
        let orderId = reader.int("orderId")
        let clientOrderId = reader.string(clientOrderIdField, maxLength: 64)
        let status: OrderStatus? = reader.choice("status")
        let side: OrderSide? = reader.choice("side")
        let type = reader.string("type", maxLength: 32)
        let price: Price? = reader.amount("price")
        let origQty: Quantity? = reader.amount("origQty")
        let executedQty: Quantity? = reader.amount("executedQty")
        let cumulative: Money? = reader.amount("cummulativeQuoteQty")
        var fills: [FillReport] = []
        if reader.contains("fills") {
            fills =
                reader.reading("fills") { value throws(PayloadError) in
                    guard case .array(let items) = value else { throw PayloadError(problems: ["fills: expected a list"]) }
                    var fills: [FillReport] = []
                    for (index, item) in items.enumerated() { fills.append(try FillReport(item, name: "fills[\(index)]")) }
                    return fills
                } ?? []
        }
        try reader.finish(allowing: true)
        guard let symbol, let orderId, let clientOrderId, let status, let side, let type, let price, let origQty, let executedQty,
            let cumulative
        else { throw PayloadError(problems: ["order: incomplete"]) }
        self.symbol = symbol
        self.orderId = Int64(orderId)
        self.clientOrderId = clientOrderId
        self.status = status
        self.side = side
        self.type = type
        self.price = price
        self.origQty = origQty
        self.executedQty = executedQty
        cumulativeQuoteQty = cumulative
        self.fills = fills
        reconciled = false
    }
}

/// One fill of an order: a FULL reply's `fills` entry or a `myTrades` entry.
public struct FillReport: Sendable, Equatable {
    public var tradeId: Int64
    public var price: Price
    public var qty: Quantity
    /// In `commissionAsset` (the asset received, or BNB).
    public var commission: FixedDecimal
    public var commissionAsset: String

    public init(tradeId: Int64, price: Price, qty: Quantity, commission: FixedDecimal, commissionAsset: String) {
        self.tradeId = tradeId
        self.price = price
        self.qty = qty
        self.commission = commission
        self.commissionAsset = commissionAsset
    }

    init(_ value: JSONValue, name: String) throws(PayloadError) {
        let reader = try PayloadReader(value, name: name)
        // A FULL reply says tradeId; myTrades says id.
        let tradeId = reader.contains("tradeId") ? reader.int("tradeId") : reader.int("id")
        let price: Price? = reader.amount("price")
        let qty: Quantity? = reader.amount("qty")
        let commission = reader.exactDecimal("commission")
        let asset = reader.string("commissionAsset", maxLength: 16)
        do {
            try reader.finish(allowing: true)
        } catch {
            throw PayloadError(problems: error.problems.map { "\(name).\($0)" })
        }
        guard let tradeId, let price, let qty, let commission, let asset else { throw PayloadError(problems: ["\(name): incomplete"]) }
        self.tradeId = Int64(tradeId)
        self.price = price
        self.qty = qty
        self.commission = commission
        commissionAsset = asset
    }
}

/// An asset's balance in the account.
public struct BalanceReport: Sendable, Equatable {
    public var asset: String
    public var free: FixedDecimal
    public var locked: FixedDecimal

    public init(asset: String, free: FixedDecimal, locked: FixedDecimal) {
        self.asset = asset
        self.free = free
        self.locked = locked
    }
}

/// The best bid and ask.
public struct BookTop: Sendable, Equatable {
    public var bidPrice: Price
    public var bidQty: Quantity
    public var askPrice: Price
    public var askQty: Quantity
}

extension PayloadReader {
    /// An exact decimal string of any meaning (a commission in whatever asset).
    func exactDecimal(_ key: String) -> FixedDecimal? {
        guard let text = string(key, maxLength: 64) else { return nil }
        do {
            return try FixedDecimal(parsing: text)
        } catch {
            report(key, "\"\(text)\" is not a decimal number: \(error)")
            return nil
        }
    }
}
