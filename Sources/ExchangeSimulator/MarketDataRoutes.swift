import Binance
import EventBus
import HTTPTypes
import Money
import PaperExchange

/// Binance's public market data endpoints over the simulated market: klines, tickers, depth,
/// the average price.
enum MarketDataRoutes {
    typealias Register = (HTTPRequest.Method, String, @escaping ExchangeSimulatorService.Handler) -> Void

    static func add(to route: Register, markets: SimulatedMarkets) {
        typealias Replies = BinanceReplies
        /// One symbol's reply, or every symbol's in an array when none is named.
        @Sendable func eachSymbol(
            _ parameters: RequestParameters, _ body: (String) throws(BinanceError) -> JSONValue
        ) throws(BinanceError) -> JSONValue {
            if let symbol = try parameters.optionalSymbol(in: markets) { return try body(symbol) }
            var all: [JSONValue] = []
            for symbol in markets.symbols { all.append(try body(symbol.name)) }
            return .array(all)
        }

        route(.get, "klines") { parameters, exchange, _ throws(BinanceError) in
            let symbol = try parameters.symbol(in: markets)
            let interval = try parameters.mandatory("interval")
            let candles = try exchange.klines(
                symbol: symbol, interval: interval, startTime: try parameters.integer("startTime"),
                endTime: try parameters.integer("endTime"), limit: try parameters.limit(default: 500, max: 1_000))
            let tick = markets.symbol(symbol)?.tickSize ?? Price(1, scale: 2)
            return .array(candles.map { Replies.kline($0, tickSize: tick) })
        }
        route(.get, "depth") { parameters, exchange, _ throws(BinanceError) in
            let symbol = try parameters.symbol(in: markets)
            return Replies.depth(try exchange.book(symbol: symbol, limit: try parameters.limit(default: 100, max: 5_000)))
        }
        route(.get, "ticker/price") { parameters, exchange, _ throws(BinanceError) in
            try eachSymbol(parameters) { symbol throws(BinanceError) in
                .object(["symbol": .string(symbol), "price": Replies.amount(try exchange.lastPrice(symbol: symbol))])
            }
        }
        route(.get, "ticker/bookTicker") { parameters, exchange, _ throws(BinanceError) in
            try eachSymbol(parameters) { symbol throws(BinanceError) in
                Replies.bookTicker(symbol: symbol, try exchange.book(symbol: symbol, limit: 1))
            }
        }
        route(.get, "avgPrice") { parameters, exchange, now throws(BinanceError) in
            let symbol = try parameters.symbol(in: markets)
            return .object([
                "mins": .number(5), "price": Replies.amount(try exchange.averagePrice(symbol: symbol, now: now, minutes: 5)),
                "closeTime": .number(Double(now)),
            ])
        }
        route(.get, "ticker/24hr") { parameters, exchange, now throws(BinanceError) in
            try eachSymbol(parameters) { symbol throws(BinanceError) in
                let day = try exchange.dayStatistics(symbol: symbol, now: now)
                let book = try exchange.book(symbol: symbol, limit: 1)
                let change = try exact { try day.last - day.open }
                let percent = try exact {
                    try change.value.multiplied(by: FixedDecimal(100)).divided(by: day.open.value, scale: 3, rounding: .halfEven)
                }
                let average =
                    day.volume.isZero
                    ? FixedDecimal.zero : try exact { try day.quoteVolume.divided(by: day.volume, scale: 8, rounding: .halfEven) }
                return .object([
                    "symbol": .string(symbol), "priceChange": Replies.amount(change), "priceChangePercent": .string(percent.description),
                    "weightedAvgPrice": Replies.amount(average), "prevClosePrice": Replies.amount(day.open),
                    "lastPrice": Replies.amount(day.last), "lastQty": Replies.amount(day.lastQty),
                    "bidPrice": Replies.amount(book.bids.first?.price ?? .zero), "bidQty": Replies.amount(book.bids.first?.qty ?? .zero),
                    "askPrice": Replies.amount(book.asks.first?.price ?? .zero), "askQty": Replies.amount(book.asks.first?.qty ?? .zero),
                    "openPrice": Replies.amount(day.open), "highPrice": Replies.amount(day.high), "lowPrice": Replies.amount(day.low),
                    "volume": Replies.amount(day.volume), "quoteVolume": Replies.amount(day.quoteVolume),
                    "openTime": .number(Double(day.openTime)), "closeTime": .number(Double(now)),
                    "firstId": .number(-1), "lastId": .number(-1), "count": .number(Double(day.trades)),
                ])
            }
        }
    }
}
