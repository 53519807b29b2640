import EventBus
import Foundation
import Money

/// Why an order exists.
public enum OrderPurpose: String, Sendable, CaseIterable, Codable {
    /// A signal's order.
    case entry
    /// An entry's unfilled remainder placed again at the market's price then.
    case reprice
    /// Exits placed after a buy filled.
    case takeProfit = "take_profit"
    case stopLoss = "stop_loss"
    /// An operator's close of a position (`POST /api/positions/{symbol}/close`): a sell of
    /// what is free of the symbol's base asset.
    case close
}

/// Where a filled buy's exits stand.
public enum ExitState: String, Sendable, Codable {
    /// None to place (a sell, an exit, nothing filled, or exits turned off).
    case none
    /// Watching the market for the take-profit or the stop-loss price.
    case armed
    /// One of them fired: its order is placed (or nothing was left to sell).
    case done
}

/// An order as the outbox holds it: the machine's view and what it was for.
public struct StoredOrder: Sendable, Equatable {
    public var tracked: TrackedOrder
    /// Where it is placed: every lookup, cancel and fill of it goes there.
    public var venue: TradingVenue
    /// The signal event it came from (an exit's and a re-price's: its entry's; a close's: the
    /// operator's action id).
    public var signalId: String
    public var purpose: OrderPurpose
    /// The order an exit or a re-price belongs to.
    public var parent: String?
    public var symbol: String
    public var side: OrderSide
    public var price: Price
    /// The signal's price: slippage is measured against it.
    public var referencePrice: Price
    public var reprices: Int
    /// Why it ended as it did, when it was not simply filled.
    public var reason: String?
    public var createdAt: Date
    public var updatedAt: Date
    public var exitState: ExitState
    public var takeProfit: Price?
    public var stopLoss: Price?
    /// What the exchange last reported filled: while it is more than the fills booked, the
    /// missing fills are read back (a report that came while the process was down, a fill
    /// lookup that failed).
    public var exchangeExecuted: Quantity

    public init(
        clientOrderId: String, signalId: String, purpose: OrderPurpose, parent: String?, symbol: String, side: OrderSide,
        quantity: Quantity, price: Price, referencePrice: Price, reprices: Int = 0, createdAt: Date, venue: TradingVenue = .binance
    ) {
        tracked = TrackedOrder(clientOrderId: clientOrderId, quantity: quantity)
        self.venue = venue
        self.signalId = signalId
        self.purpose = purpose
        self.parent = parent
        self.symbol = symbol
        self.side = side
        self.price = price
        self.referencePrice = referencePrice
        self.reprices = reprices
        reason = nil
        self.createdAt = createdAt
        updatedAt = createdAt
        exitState = .none
        takeProfit = nil
        stopLoss = nil
        exchangeExecuted = .zero
    }

    public var clientOrderId: String { tracked.clientOrderId }
    public var state: OrderState { tracked.state }

    /// The average price of its fills; none before the first.
    public var averagePrice: Price? {
        guard tracked.executed > .zero else { return nil }
        return try? Price(tracked.cumulativeQuote.value.divided(by: tracked.executed.value, scale: 8, rounding: .halfEven))
    }

    /// Fills the exchange reported that are not booked yet.
    public var missesFills: Bool { exchangeExecuted > tracked.executed }

    /// Nothing more to do for it: final, its fills all booked, no exit watched.
    public var isSettled: Bool { state.isFinal && !missesFills && exitState != .armed }

    /// The unfilled part.
    public var remaining: Quantity { (try? tracked.quantity - tracked.executed) ?? .zero }

    /// What `/api/orders` shows of it.
    public var json: JSONValue {
        .fields([
            "clientOrderId": .string(clientOrderId), "orderId": tracked.exchangeOrderId.map { .number(Double($0)) },
            "purpose": .string(purpose.rawValue), "parent": parent.map(JSONValue.string), "signal": .string(signalId),
            "symbol": .string(symbol), "side": .string(side.rawValue), "quantity": .amount(tracked.quantity), "price": .amount(price),
            "referencePrice": .amount(referencePrice), "state": .string(state.rawValue), "executed": .amount(tracked.executed),
            "exchangeExecuted": .amount(exchangeExecuted),
            "cumulativeQuote": .amount(tracked.cumulativeQuote), "averagePrice": averagePrice.map(JSONValue.amount),
            "reprices": .number(Double(reprices)), "reason": reason.map(JSONValue.string), "createdAt": .time(createdAt),
            "updatedAt": .time(updatedAt), "exits": .string(exitState.rawValue), "takeProfit": takeProfit.map(JSONValue.amount),
            "stopLoss": stopLoss.map(JSONValue.amount), "venue": .string(venue.rawValue),
        ])
    }
}

/// One fill of one of our orders, as the outbox records it (once per trade).
public struct RecordedFill: Sendable, Equatable {
    public var clientOrderId: String
    public var symbol: String
    public var tradeId: Int64
    public var quantity: Quantity
    public var price: Price
    public var commission: FixedDecimal
    public var commissionAsset: String
    public var time: Date

    public init(
        clientOrderId: String, symbol: String, tradeId: Int64, quantity: Quantity, price: Price, commission: FixedDecimal,
        commissionAsset: String, time: Date
    ) {
        self.clientOrderId = clientOrderId
        self.symbol = symbol
        self.tradeId = tradeId
        self.quantity = quantity
        self.price = price
        self.commission = commission
        self.commissionAsset = commissionAsset
        self.time = time
    }
}
