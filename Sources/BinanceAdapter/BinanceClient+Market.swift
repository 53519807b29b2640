import Binance
import EventBus
import Money

extension BinanceClient {
    /// Klines of `interval` (`1m`, `1h`, …), oldest first, at most `limit` (up to 1,000): the
    /// latest, or those from `startTime` (up to `endTime`). The last may still be open.
    public func klines(symbol: String, interval: String, limit: Int, startTime: Int64? = nil, endTime: Int64? = nil)
        async throws(ExchangeError) -> [Kline]
    {
        var parameters = [("symbol", symbol), ("interval", interval), ("limit", String(min(max(limit, 1), 1_000)))]
        if let startTime { parameters.append(("startTime", String(startTime))) }
        if let endTime { parameters.append(("endTime", String(endTime))) }
        let reply = try await call(.GET, "klines", parameters, signed: false)
        return try Self.list(reply, endpoint: "klines") { row, index throws(PayloadError) in
            guard case .array(let fields) = row, fields.count >= 9 else {
                throw PayloadError(problems: ["klines[\(index)]: expected an array of 12 fields"])
            }
            func time(_ position: Int) throws(PayloadError) -> Int64 {
                guard case .number(let value) = fields[position], value == value.rounded() else {
                    throw PayloadError(problems: ["klines[\(index)][\(position)]: expected a time in milliseconds"])
                }
                return Int64(value)
            }
            func amount<Amount: DecimalAmount>(_ position: Int) throws(PayloadError) -> Amount {
                guard case .string(let text) = fields[position], let value = try? Amount(parsing: text) else {
                    throw PayloadError(problems: ["klines[\(index)][\(position)]: expected a decimal string"])
                }
                return value
            }
            return Kline(
                openTime: try time(0), open: try amount(1), high: try amount(2), low: try amount(3), close: try amount(4),
                volume: try amount(5), closeTime: try time(6), trades: Int(try time(8)))
        }
    }

    /// The best bid and ask (`GET /api/v3/ticker/bookTicker`).
    public func bookTop(symbol: String) async throws(ExchangeError) -> BookTop {
        let reply = try await call(.GET, "ticker/bookTicker", [("symbol", symbol)], signed: false)
        return try Self.read("ticker/bookTicker") { () throws(PayloadError) in
            let reader = try PayloadReader(reply, name: "bookTicker")
            let bidPrice: Price? = reader.amount("bidPrice")
            let bidQty: Quantity? = reader.amount("bidQty")
            let askPrice: Price? = reader.amount("askPrice")
            let askQty: Quantity? = reader.amount("askQty")
            try reader.finish(allowing: true)
            guard let bidPrice, let bidQty, let askPrice, let askQty else { throw PayloadError(problems: ["bookTicker: incomplete"]) }
            return BookTop(bidPrice: bidPrice, bidQty: bidQty, askPrice: askPrice, askQty: askQty)
        }
    }

    /// The last traded price (`GET /api/v3/ticker/price`).
    public func lastPrice(symbol: String) async throws(ExchangeError) -> Price {
        let reply = try await call(.GET, "ticker/price", [("symbol", symbol)], signed: false)
        return try Self.read("ticker/price") { () throws(PayloadError) in
            let reader = try PayloadReader(reply, name: "ticker")
            let price: Price? = reader.amount("price")
            try reader.finish(allowing: true)
            guard let price else { throw PayloadError(problems: ["ticker: incomplete"]) }
            return price
        }
    }
}

/// The order book's best levels (`GET /api/v3/depth`).
public struct BookDepth: Sendable, Equatable {
    public var lastUpdateId: Int64
    public var bids: [(price: Price, qty: Quantity)]
    public var asks: [(price: Price, qty: Quantity)]

    public static func == (left: BookDepth, right: BookDepth) -> Bool {
        left.lastUpdateId == right.lastUpdateId && left.bids.elementsEqual(right.bids, by: ==)
            && left.asks.elementsEqual(right.asks, by: ==)
    }
}

extension BinanceClient {
    /// The book's best `limit` levels a side (5, 10, 20, 50, 100, 500, 1000 or 5000 on Binance;
    /// the weight grows with it).
    public func depth(symbol: String, limit: Int = 100) async throws(ExchangeError) -> BookDepth {
        let reply = try await call(.GET, "depth", [("symbol", symbol), ("limit", String(min(max(limit, 1), 5_000)))], signed: false)
        return try Self.read("depth") { () throws(PayloadError) in
            let reader = try PayloadReader(reply, name: "depth")
            let id = reader.int("lastUpdateId")
            func side(_ key: String) -> [(price: Price, qty: Quantity)]? {
                reader.reading(key) { value throws(PayloadError) in
                    guard case .array(let rows) = value else { throw PayloadError(problems: ["\(key): expected a list"]) }
                    var levels: [(price: Price, qty: Quantity)] = []
                    for (index, row) in rows.enumerated() {
                        guard case .array(let pair) = row, pair.count == 2, case .string(let price) = pair[0],
                            case .string(let qty) = pair[1],
                            let parsedPrice = try? Price(parsing: price), let parsedQty = try? Quantity(parsing: qty)
                        else { throw PayloadError(problems: ["\(key)[\(index)]: expected [\"price\", \"qty\"]"]) }
                        levels.append((parsedPrice, parsedQty))
                    }
                    return levels
                }
            }
            let bids = side("bids")
            let asks = side("asks")
            try reader.finish(allowing: true)
            guard let id, let bids, let asks else { throw PayloadError(problems: ["depth: incomplete"]) }
            return BookDepth(lastUpdateId: Int64(id), bids: bids, asks: asks)
        }
    }
}
