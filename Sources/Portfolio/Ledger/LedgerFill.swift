import Binance
import EventBus
import Foundation
import Money

/// One execution as the portfolio books it: a fill of one of our orders.
public struct LedgerFill: Sendable, Equatable, Codable {
    public var symbol: String
    public var side: OrderSide
    public var quantity: Quantity
    public var price: Price
    /// Paid in `commissionAsset`: the base asset (Binance takes a buy's fee from what it
    /// receives), the quote asset, or another (BNB), which is counted apart.
    public var commission: FixedDecimal
    public var commissionAsset: String
    /// The exchange's trade id: a fill is booked once (per venue: each numbers its own).
    public var tradeId: Int64
    public var venue: TradingVenue
    public var clientOrderId: String
    public var time: Date

    public init(
        symbol: String, side: OrderSide, quantity: Quantity, price: Price, commission: FixedDecimal, commissionAsset: String,
        tradeId: Int64, clientOrderId: String, time: Date, venue: TradingVenue = .binance
    ) {
        self.venue = venue
        self.symbol = symbol
        self.side = side
        self.quantity = quantity
        self.price = price
        self.commission = commission
        self.commissionAsset = commissionAsset
        self.tradeId = tradeId
        self.clientOrderId = clientOrderId
        self.time = time
    }

    /// An `order.partially_filled` or `order.filled` event's execution.
    public init(_ fill: Fill, time: Date) {
        self.init(
            symbol: fill.symbol, side: fill.side, quantity: fill.lastQuantity, price: fill.lastPrice, commission: fill.commission.value,
            commissionAsset: fill.commissionAsset, tradeId: Int64(fill.tradeId), clientOrderId: fill.clientOrderId, time: time,
            venue: fill.venue)
    }
}
