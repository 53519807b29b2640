import Binance
import EventBus
import Money

/// What the paper exchange answers about its markets and the account. Reads only: the caller
/// moves the exchange to the present (``PaperExchange/advance(to:)``) first.
extension PaperExchange {
    /// An order by id or client order id (Binance's `GET /api/v3/order`).
    public func order(symbol: String, orderId: Int64?, clientOrderId: String?) throws(BinanceError) -> PaperOrder {
        guard markets[symbol] != nil else { throw .badSymbol }
        guard let id = try find(symbol: symbol, orderId: orderId, clientOrderId: clientOrderId, missing: .noSuchOrder),
            let order = orders[id]
        else { throw .noSuchOrder }
        return order
    }

    /// Open orders, on one symbol or all, oldest first.
    public func openOrders(symbol: String?) throws(BinanceError) -> [PaperOrder] {
        if let symbol, markets[symbol] == nil { throw .badSymbol }
        let resting = markets.values.filter { symbol == nil || $0.symbol.name == symbol }.flatMap { $0.bids + $0.asks }
        return resting.compactMap { orders[$0.id] }.sorted { $0.id < $1.id }
    }

    /// The account's orders on `symbol` (open, and closed ones not yet forgotten), oldest
    /// first: from order id `fromId`, or the most recent; at most `limit` (Binance's
    /// `GET /api/v3/allOrders`).
    public func allOrders(symbol: String, fromId: Int64?, limit: Int) throws(BinanceError) -> [PaperOrder] {
        guard markets[symbol] != nil else { throw .badSymbol }
        let matching = orders.values.filter { order in order.symbol == symbol && (fromId.map { order.id >= $0 } ?? true) }
            .sorted { $0.id < $1.id }
        return fromId == nil ? Array(matching.suffix(limit)) : Array(matching.prefix(limit))
    }

    /// The account's trades on `symbol`, oldest first: those of one order, or from a trade id,
    /// or within a time range; at most `limit`.
    public func trades(
        symbol: String, orderId: Int64?, fromId: Int64?, startTime: Int64?, endTime: Int64?, limit: Int
    ) throws(BinanceError) -> [PaperTrade] {
        guard markets[symbol] != nil else { throw .badSymbol }
        let matching = trades.lazy.filter { trade in
            trade.symbol == symbol && (orderId.map { trade.orderId == $0 } ?? true) && (fromId.map { trade.id >= $0 } ?? true)
                && (startTime.map { trade.time >= $0 } ?? true) && (endTime.map { trade.time <= $0 } ?? true)
        }
        // Without a starting point, Binance answers the most recent ones.
        if fromId == nil, startTime == nil, orderId == nil { return Array(Array(matching).suffix(limit)) }
        return Array(matching.prefix(limit))
    }

    /// The last price traded.
    public func lastPrice(symbol: String) throws(BinanceError) -> Price {
        guard let market = markets[symbol] else { throw .badSymbol }
        return market.tape.last?.price ?? market.price(market.mid)
    }

    /// The mid price now: what a MARKET order's notional is judged at.
    public func midPrice(symbol: String) throws(BinanceError) -> Price {
        guard let market = markets[symbol] else { throw .badSymbol }
        return market.price(market.mid)
    }

    /// One side of the book, best first: the simulator's levels (less what takers used this
    /// step) with the account's resting orders at their prices.
    public struct Level: Sendable, Equatable {
        public let price: Price
        public let qty: Quantity
    }

    public struct Book: Sendable, Equatable {
        public let lastUpdateId: Int64
        public let bids: [Level]
        public let asks: [Level]
    }

    public func book(symbol: String, limit: Int) throws(BinanceError) -> Book {
        guard let market = markets[symbol] else { throw .badSymbol }
        func side(_ takerSide: OrderSide, resting: [MarketState.Resting]) throws(BinanceError) -> [Level] {
            var byTicks: [Int: Quantity] = [:]
            for level in 0..<market.liquidity.levels {
                let ticks = market.levelTicks(level, takerSide: takerSide)
                guard ticks >= 1 else { break }
                let available = try exact { try market.available(level, takerSide: takerSide) }
                if available > .zero { byTicks[ticks] = available }
            }
            for order in resting {
                guard let paper = orders[order.id] else { continue }
                byTicks[order.ticks] = try exact { try (byTicks[order.ticks] ?? .zero) + (paper.origQty - paper.executedQty) }
            }
            // Asks (what a buyer takes) lowest first, bids highest first.
            let ordered = byTicks.keys.sorted(by: takerSide == .buy ? (<) : (>))
            return ordered.prefix(limit).map { Level(price: market.price($0), qty: byTicks[$0] ?? .zero) }
        }
        return Book(
            lastUpdateId: market.updateId, bids: try side(.sell, resting: market.bids), asks: try side(.buy, resting: market.asks))
    }

    /// Binance's kline intervals, in milliseconds (1M, a calendar month, is not offered).
    public static let klineIntervals: [String: Int64] = [
        "1s": 1_000, "1m": 60_000, "3m": 180_000, "5m": 300_000, "15m": 900_000, "30m": 1_800_000, "1h": 3_600_000,
        "2h": 7_200_000, "4h": 14_400_000, "6h": 21_600_000, "8h": 28_800_000, "12h": 43_200_000, "1d": 86_400_000,
        "3d": 259_200_000, "1w": 604_800_000,
    ]

    /// Klines of `interval` (one of ``klineIntervals``), oldest first, at most `limit`: the
    /// latest ones, or those from `startTime` / up to `endTime`. Weeks start on Monday, as
    /// Binance's do; the rest are aligned to the epoch.
    public func klines(
        symbol: String, interval: String, startTime: Int64?, endTime: Int64?, limit: Int
    ) throws(BinanceError) -> [Candle] {
        guard let market = markets[symbol] else { throw .badSymbol }
        guard let length = Self.klineIntervals[interval] else { throw BinanceError(code: -1120, msg: "Invalid interval.") }
        let source = length == 1_000 ? market.seconds.candles : market.minutes.candles
        var candles: [Candle] = []
        if length <= 60_000 {
            candles = source
        } else {
            // The epoch fell on a Thursday; Binance's weeks open on Monday 00:00 UTC.
            let offset: Int64 = interval == "1w" ? 4 * 86_400_000 : 0
            for candle in source {
                let openTime = (candle.openTime - offset) - (candle.openTime - offset) % length + offset
                if let last = candles.last, last.openTime == openTime {
                    candles[candles.count - 1] = try exact { try last.extended(by: candle) }
                } else {
                    candles.append(candle.widened(openTime: openTime, interval: length))
                }
            }
        }
        let inRange = candles.filter { candle in
            (startTime.map { candle.closeTime >= $0 } ?? true) && (endTime.map { candle.openTime <= $0 } ?? true)
        }
        return startTime == nil ? Array(inRange.suffix(limit)) : Array(inRange.prefix(limit))
    }

    /// A rolling day of a market (Binance's `ticker/24hr`), from its minute klines.
    public struct DayStatistics: Sendable, Equatable {
        public let openTime: Int64
        public let open: Price
        public let high: Price
        public let low: Price
        public let last: Price
        public let lastQty: Quantity
        public let volume: FixedDecimal
        public let quoteVolume: FixedDecimal
        public let trades: Int
    }

    public func dayStatistics(symbol: String, now: Int64) throws(BinanceError) -> DayStatistics {
        guard let market = markets[symbol] else { throw .badSymbol }
        let day = market.minutes.candles.filter { $0.closeTime >= now - 86_400_000 }
        let last = market.tape.last
        var volume = FixedDecimal.zero
        var quoteVolume = FixedDecimal.zero
        for candle in day {
            volume = try exact { try volume + candle.volume }
            quoteVolume = try exact { try quoteVolume + candle.quoteVolume }
        }
        let mid = market.mid
        return DayStatistics(
            openTime: day.first?.openTime ?? now, open: market.price(day.first?.open ?? mid),
            high: market.price(day.map(\.high).max() ?? mid), low: market.price(day.map(\.low).min() ?? mid),
            last: last?.price ?? market.price(mid), lastQty: last?.qty ?? .zero, volume: volume, quoteVolume: quoteVolume,
            trades: day.map(\.trades).reduce(0, +))
    }

    /// The volume-weighted average price over the last `minutes` minutes (Binance's
    /// `avgPrice`), to eight places; the mid when nothing traded.
    public func averagePrice(symbol: String, now: Int64, minutes: Int) throws(BinanceError) -> Price {
        guard let market = markets[symbol] else { throw .badSymbol }
        let window = market.minutes.candles.filter { $0.closeTime >= now - Int64(minutes) * 60_000 }
        var volume = FixedDecimal.zero
        var quoteVolume = FixedDecimal.zero
        for candle in window {
            volume = try exact { try volume + candle.volume }
            quoteVolume = try exact { try quoteVolume + candle.quoteVolume }
        }
        guard !volume.isZero else { return market.price(market.mid) }
        return Price(try exact { try quoteVolume.divided(by: volume, scale: 8, rounding: .halfEven) })
    }

    /// The account's balances, every asset it holds or has held, by name.
    public var accountBalances: [(asset: String, balance: Balances.Balance)] {
        balances.assets.keys.sorted().map { ($0, balances[$0]) }
    }

    /// Execution reports after `sequence` (numbered from 1 over the exchange's life); those
    /// already trimmed are gone.
    public func reports(after sequence: Int) -> ArraySlice<ExecutionReport> {
        reports[min(max(sequence - reportsDropped, 0), reports.count)...]
    }

    /// The tape of `symbol` after trade id `after`.
    public func tape(symbol: String, after: Int64) throws(BinanceError) -> [MarketTrade] {
        guard let market = markets[symbol] else { throw .badSymbol }
        return market.tape.filter { $0.id > after }
    }
}
