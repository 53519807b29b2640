import Foundation
import Money

/// `order.submitted`: the exchange accepted a new order.
public struct OrderSubmitted: EventPayload {
    public static let eventType = EventType.orderSubmitted
    /// Ours, idempotent: a retried submission carries the same one (Binance `newClientOrderId`).
    public var clientOrderId: String
    /// The exchange's.
    public var orderId: Int
    public var symbol: String
    public var side: OrderSide
    public var kind: OrderKind
    public var quantity: Quantity
    /// The limit price; none for a market order.
    public var price: Price?

    public init(
        clientOrderId: String, orderId: Int, symbol: String, side: OrderSide, kind: OrderKind, quantity: Quantity, price: Price?
    ) {
        self.clientOrderId = clientOrderId
        self.orderId = orderId
        self.symbol = symbol
        self.side = side
        self.kind = kind
        self.quantity = quantity
        self.price = price
    }

    public init?(reading reader: PayloadReader) {
        let clientOrderId = reader.clientOrderId()
        let orderId = reader.int("orderId")
        let symbol = reader.symbol("symbol")
        let side: OrderSide? = reader.choice("side")
        let kind: OrderKind? = reader.choice("kind")
        let quantity: Quantity? = reader.amount("quantity")
        let price: Price? = reader.optionalAmount("price")
        if kind == .limit, price == nil, !reader.contains("price") { reader.report("price", "missing (a limit order has one)") }
        guard let clientOrderId, let orderId, let symbol, let side, let kind, let quantity, kind == .market || price != nil else {
            return nil
        }
        self.init(clientOrderId: clientOrderId, orderId: orderId, symbol: symbol, side: side, kind: kind, quantity: quantity, price: price)
    }

    public var json: JSONValue {
        .fields([
            "clientOrderId": .string(clientOrderId), "orderId": .number(Double(orderId)), "symbol": .string(symbol),
            "side": .string(side.rawValue), "kind": .string(kind.rawValue), "quantity": .amount(quantity),
            "price": price.map(JSONValue.amount),
        ])
    }

    public static let example = OrderSubmitted(
        clientOrderId: "vakt-01a2b3c4d5e6", orderId: 28_457, symbol: "BTCUSDT", side: .buy, kind: .limit, quantity: Quantity(15, scale: 3),
        price: Price(42_000))
}

/// The exchange an order is placed on: Binance, or the second venue execution fails over to.
public enum TradingVenue: String, Sendable, CaseIterable, Codable {
    case binance
    case okx
}

/// One execution of an order: what `order.partially_filled` and `order.filled` carry.
public struct Fill: Sendable, Equatable {
    /// Where it traded; `venue` is left out of the JSON for Binance (events from before there
    /// was a second venue read the same).
    public var venue: TradingVenue
    public var clientOrderId: String
    public var orderId: Int
    public var symbol: String
    public var side: OrderSide
    /// The exchange's trade id of this execution.
    public var tradeId: Int
    public var lastQuantity: Quantity
    public var lastPrice: Price
    /// Filled so far, this execution included.
    public var cumulativeQuantity: Quantity
    /// Quote spent or received so far (Binance `cummulativeQuoteQty`).
    public var cumulativeQuote: Money
    public var commission: Money
    public var commissionAsset: String
    /// Why the order existed, when it was not a signal's: `stop_loss` for a stop-loss exit.
    public var trigger: String?

    public init(
        clientOrderId: String, orderId: Int, symbol: String, side: OrderSide, tradeId: Int, lastQuantity: Quantity, lastPrice: Price,
        cumulativeQuantity: Quantity, cumulativeQuote: Money, commission: Money, commissionAsset: String, trigger: String? = nil,
        venue: TradingVenue = .binance
    ) {
        self.venue = venue
        self.clientOrderId = clientOrderId
        self.orderId = orderId
        self.symbol = symbol
        self.side = side
        self.tradeId = tradeId
        self.lastQuantity = lastQuantity
        self.lastPrice = lastPrice
        self.cumulativeQuantity = cumulativeQuantity
        self.cumulativeQuote = cumulativeQuote
        self.commission = commission
        self.commissionAsset = commissionAsset
        self.trigger = trigger
    }

    init?(reading reader: PayloadReader) {
        let clientOrderId = reader.clientOrderId()
        let orderId = reader.int("orderId")
        let symbol = reader.symbol("symbol")
        let side: OrderSide? = reader.choice("side")
        let tradeId = reader.int("tradeId")
        let lastQuantity: Quantity? = reader.amount("lastQuantity")
        let lastPrice: Price? = reader.amount("lastPrice")
        let cumulativeQuantity: Quantity? = reader.amount("cumulativeQuantity")
        let cumulativeQuote: Money? = reader.amount("cumulativeQuote")
        let commission: Money? = reader.amount("commission")
        let commissionAsset = reader.string("commissionAsset", maxLength: 20)
        let trigger = reader.optionalString("trigger", maxLength: 64)
        let venue: TradingVenue? = reader.contains("venue") ? reader.choice("venue") : .binance
        if let lastQuantity, let cumulativeQuantity, lastQuantity > cumulativeQuantity {
            reader.report("cumulativeQuantity", "\(cumulativeQuantity) is less than this execution's lastQuantity \(lastQuantity)")
        }
        guard let clientOrderId, let orderId, let symbol, let side, let tradeId, let lastQuantity, let lastPrice, let cumulativeQuantity,
            let cumulativeQuote, let commission, let commissionAsset, let venue, lastQuantity <= cumulativeQuantity
        else { return nil }
        self.init(
            clientOrderId: clientOrderId, orderId: orderId, symbol: symbol, side: side, tradeId: tradeId, lastQuantity: lastQuantity,
            lastPrice: lastPrice, cumulativeQuantity: cumulativeQuantity, cumulativeQuote: cumulativeQuote, commission: commission,
            commissionAsset: commissionAsset, trigger: trigger, venue: venue)
    }

    var json: JSONValue {
        .fields([
            "clientOrderId": .string(clientOrderId), "orderId": .number(Double(orderId)), "symbol": .string(symbol),
            "side": .string(side.rawValue), "tradeId": .number(Double(tradeId)), "lastQuantity": .amount(lastQuantity),
            "lastPrice": .amount(lastPrice), "cumulativeQuantity": .amount(cumulativeQuantity),
            "cumulativeQuote": .amount(cumulativeQuote), "commission": .amount(commission), "commissionAsset": .string(commissionAsset),
            "trigger": trigger.map(JSONValue.string), "venue": venue == .binance ? nil : .string(venue.rawValue),
        ])
    }

    static let example = Fill(
        clientOrderId: "vakt-01a2b3c4d5e6", orderId: 28_457, symbol: "BTCUSDT", side: .sell, tradeId: 12_345,
        lastQuantity: Quantity(5, scale: 3), lastPrice: Price(41_000), cumulativeQuantity: Quantity(15, scale: 3),
        cumulativeQuote: Money(615, scale: 0), commission: Money(615, scale: 3), commissionAsset: "USDT", trigger: "stop_loss",
        venue: .okx)
}

/// `order.partially_filled`: an execution that leaves part of the order open.
public struct OrderPartiallyFilled: EventPayload {
    public static let eventType = EventType.orderPartiallyFilled
    public var fill: Fill
    public init(_ fill: Fill) { self.fill = fill }
    public init?(reading reader: PayloadReader) { guard let fill = Fill(reading: reader) else { return nil }; self.fill = fill }
    public var json: JSONValue { fill.json }
    public static let example = OrderPartiallyFilled(Fill.example)
}

/// `order.filled`: the execution that completes the order.
public struct OrderFilled: EventPayload {
    public static let eventType = EventType.orderFilled
    public var fill: Fill
    public init(_ fill: Fill) { self.fill = fill }
    public init?(reading reader: PayloadReader) { guard let fill = Fill(reading: reader) else { return nil }; self.fill = fill }
    public var json: JSONValue { fill.json }
    public static let example = OrderFilled(Fill.example)
}

/// `order.canceled`: the order is closed with what had filled; the rest will not.
public struct OrderCanceled: EventPayload {
    public static let eventType = EventType.orderCanceled
    public var clientOrderId: String
    public var orderId: Int
    public var symbol: String
    public var executedQuantity: Quantity
    /// Who or what canceled it: `operator`, `ess`, `expired`, ...
    public var reason: String

    public init(clientOrderId: String, orderId: Int, symbol: String, executedQuantity: Quantity, reason: String) {
        self.clientOrderId = clientOrderId
        self.orderId = orderId
        self.symbol = symbol
        self.executedQuantity = executedQuantity
        self.reason = reason
    }

    public init?(reading reader: PayloadReader) {
        let clientOrderId = reader.clientOrderId()
        let orderId = reader.int("orderId")
        let symbol = reader.symbol("symbol")
        let executedQuantity: Quantity? = reader.amount("executedQuantity")
        let reason = reader.string("reason", maxLength: 1000)
        guard let clientOrderId, let orderId, let symbol, let executedQuantity, let reason else { return nil }
        self.init(clientOrderId: clientOrderId, orderId: orderId, symbol: symbol, executedQuantity: executedQuantity, reason: reason)
    }

    public var json: JSONValue {
        .object([
            "clientOrderId": .string(clientOrderId), "orderId": .number(Double(orderId)), "symbol": .string(symbol),
            "executedQuantity": .amount(executedQuantity), "reason": .string(reason),
        ])
    }

    public static let example = OrderCanceled(
        clientOrderId: "vakt-01a2b3c4d5e6", orderId: 28_457, symbol: "BTCUSDT", executedQuantity: Quantity(5, scale: 3), reason: "ess")
}

/// `order.rejected`: the order was refused, by the pre-trade checks or by the exchange.
public struct OrderRejected: EventPayload {
    public static let eventType = EventType.orderRejected
    public var clientOrderId: String
    public var symbol: String
    public var reason: String
    /// The exchange's error code (Binance `code`, such as -2010); none for our own checks.
    public var code: Int?
    /// The check that refused it: a pre-trade rule (`ess`, `order_notional`, `balance`, ...),
    /// `exchange` when the exchange refused it, `placement` when it could not be placed. The
    /// ESS counts the last two (and a rejection without a rule) as execution errors.
    public var rule: String?

    /// Refusals that are the execution going wrong rather than the checks working.
    public var isExecutionError: Bool { rule == nil || rule == "exchange" || rule == "placement" }

    public init(clientOrderId: String, symbol: String, reason: String, code: Int? = nil, rule: String? = nil) {
        self.clientOrderId = clientOrderId
        self.symbol = symbol
        self.reason = reason
        self.code = code
        self.rule = rule
    }

    public init?(reading reader: PayloadReader) {
        let clientOrderId = reader.clientOrderId()
        let symbol = reader.symbol("symbol")
        let reason = reader.string("reason", maxLength: 1000)
        let code = reader.optionalInt("code")
        let rule = reader.optionalString("rule", maxLength: 64)
        guard let clientOrderId, let symbol, let reason else { return nil }
        self.init(clientOrderId: clientOrderId, symbol: symbol, reason: reason, code: code, rule: rule)
    }

    public var json: JSONValue {
        .fields([
            "clientOrderId": .string(clientOrderId), "symbol": .string(symbol), "reason": .string(reason),
            "code": code.map { .number(Double($0)) }, "rule": rule.map(JSONValue.string),
        ])
    }

    public static let example = OrderRejected(
        clientOrderId: "vakt-01a2b3c4d5e6", symbol: "BTCUSDT", reason: "Account has insufficient balance for requested action.",
        code: -2010, rule: "exchange")
}

/// Client order ids: ours, chosen before an order is sent, so a retry or a restart sends the
/// same one and the exchange refuses a duplicate.
public enum ClientOrderID {
    /// Binance's rule for `newClientOrderId`: `^[.A-Z:/a-z0-9_-]{1,36}$`.
    public static func isValid(_ text: String) -> Bool {
        (1...36).contains(text.utf8.count)
            && text.utf8.allSatisfy { byte in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || ".:/_-".utf8.contains(byte)
            }
    }
}

extension PayloadReader {
    func clientOrderId() -> String? {
        guard let text = string("clientOrderId", maxLength: 36) else { return nil }
        guard ClientOrderID.isValid(text) else {
            report("clientOrderId", "\"\(text)\" has characters outside [.A-Z:/a-z0-9_-]")
            return nil
        }
        return text
    }
}
