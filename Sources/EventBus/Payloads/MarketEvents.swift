import Foundation
import Money

/// `market.tick`: a trade on the exchange. The envelope's `occurredAt` is the trade's time.
public struct MarketTick: EventPayload {
    public static let eventType = EventType.marketTick
    public var symbol: String
    public var price: Price
    public var quantity: Quantity

    public init(symbol: String, price: Price, quantity: Quantity) {
        self.symbol = symbol
        self.price = price
        self.quantity = quantity
    }

    public init?(reading reader: PayloadReader) {
        let symbol = reader.symbol("symbol")
        let price: Price? = reader.amount("price")
        let quantity: Quantity? = reader.amount("quantity")
        guard let symbol, let price, let quantity else { return nil }
        self.init(symbol: symbol, price: price, quantity: quantity)
    }

    public var json: JSONValue { .object(["symbol": .string(symbol), "price": .amount(price), "quantity": .amount(quantity)]) }

    public static let example = MarketTick(symbol: "BTCUSDT", price: Price(42_000), quantity: Quantity(15, scale: 3))
}

/// `market.kline`: one candle of an interval, open or closed.
public struct MarketKline: EventPayload {
    public static let eventType = EventType.marketKline
    public var symbol: String
    /// Binance's interval names: `1m`, `5m`, `1h`, ...
    public var interval: String
    public var openTime: Date
    public var closeTime: Date
    public var open: Price
    public var high: Price
    public var low: Price
    public var close: Price
    public var volume: Quantity
    /// The candle is final; an open one is published as it changes.
    public var closed: Bool
    /// Fetched after a gap in the stream (it arrives late, in order, before the kline that
    /// revealed the gap).
    public var backfilled: Bool
    /// Klines before this one are missing and could not be backfilled: whatever a consumer
    /// built from the series so far does not continue here.
    public var afterGap: Bool

    public init(
        symbol: String, interval: String, openTime: Date, closeTime: Date, open: Price, high: Price, low: Price, close: Price,
        volume: Quantity, closed: Bool, backfilled: Bool = false, afterGap: Bool = false
    ) {
        self.symbol = symbol
        self.interval = interval
        self.openTime = openTime
        self.closeTime = closeTime
        self.open = open
        self.high = high
        self.low = low
        self.close = close
        self.volume = volume
        self.closed = closed
        self.backfilled = backfilled
        self.afterGap = afterGap
    }

    public init?(reading reader: PayloadReader) {
        let symbol = reader.symbol("symbol")
        let interval = reader.string("interval", maxLength: 8)
        let openTime = reader.date("openTime")
        let closeTime = reader.date("closeTime")
        let open: Price? = reader.amount("open")
        let high: Price? = reader.amount("high")
        let low: Price? = reader.amount("low")
        let close: Price? = reader.amount("close")
        let volume: Quantity? = reader.amount("volume")
        let closed = reader.bool("closed")
        // Absent in events from before they existed.
        let backfilled = reader.optionalBool("backfilled") ?? false
        let afterGap = reader.optionalBool("afterGap") ?? false
        if let low, let high, low > high { reader.report("low", "\(low) is above high \(high)") }
        if let openTime, let closeTime, closeTime < openTime { reader.report("closeTime", "is before openTime") }
        guard let symbol, let interval, let openTime, let closeTime, let open, let high, let low, let close, let volume, let closed,
            low <= high, openTime <= closeTime
        else { return nil }
        self.init(
            symbol: symbol, interval: interval, openTime: openTime, closeTime: closeTime, open: open, high: high, low: low,
            close: close, volume: volume, closed: closed, backfilled: backfilled, afterGap: afterGap)
    }

    public var json: JSONValue {
        .object([
            "symbol": .string(symbol), "interval": .string(interval), "openTime": .time(openTime), "closeTime": .time(closeTime),
            "open": .amount(open), "high": .amount(high), "low": .amount(low), "close": .amount(close), "volume": .amount(volume),
            "closed": .bool(closed), "backfilled": .bool(backfilled), "afterGap": .bool(afterGap),
        ])
    }

    public static let example = MarketKline(
        symbol: "BTCUSDT", interval: "1m", openTime: Date(timeIntervalSince1970: 1_796_000_000),
        closeTime: Date(timeIntervalSince1970: 1_796_000_059.5), open: Price(42_000), high: Price(42_100), low: Price(41_950),
        close: Price(42_050), volume: Quantity(125, scale: 1), closed: true)
}
