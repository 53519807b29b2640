import Money

/// One kline: open, high, low and close in ticks, volumes exact.
public struct Candle: Sendable, Equatable {
    public let openTime: Int64
    public let closeTime: Int64
    public var open: Int
    public var high: Int
    public var low: Int
    public var close: Int
    public var volume: FixedDecimal
    public var quoteVolume: FixedDecimal
    public var trades: Int
    public var takerBuyVolume: FixedDecimal
    public var takerBuyQuoteVolume: FixedDecimal

    init(openTime: Int64, interval: Int64, ticks: Int) {
        self.openTime = openTime
        closeTime = openTime + interval - 1
        (open, high, low, close) = (ticks, ticks, ticks, ticks)
        (volume, quoteVolume, takerBuyVolume, takerBuyQuoteVolume) = (.zero, .zero, .zero, .zero)
        trades = 0
    }

    /// This candle as the first part of a longer kline opening at `openTime`.
    func widened(openTime: Int64, interval: Int64) -> Candle {
        var wide = Candle(openTime: openTime, interval: interval, ticks: open)
        (wide.high, wide.low, wide.close) = (high, low, close)
        (wide.volume, wide.quoteVolume, wide.trades) = (volume, quoteVolume, trades)
        (wide.takerBuyVolume, wide.takerBuyQuoteVolume) = (takerBuyVolume, takerBuyQuoteVolume)
        return wide
    }

    /// This kline extended by `later`, a shorter one that follows within it.
    func extended(by later: Candle) throws(FixedDecimalError) -> Candle {
        var longer = self
        longer.high = max(high, later.high)
        longer.low = min(low, later.low)
        longer.close = later.close
        longer.volume = try volume + later.volume
        longer.quoteVolume = try quoteVolume + later.quoteVolume
        longer.trades = trades + later.trades
        longer.takerBuyVolume = try takerBuyVolume + later.takerBuyVolume
        longer.takerBuyQuoteVolume = try takerBuyQuoteVolume + later.takerBuyQuoteVolume
        return longer
    }
}

/// The last `capacity` candles of one interval, built trade by trade. An interval without a
/// trade has a candle too, flat at the last close with no volume, as Binance's klines do: a
/// series has no holes.
struct CandleSeries: Sendable, Equatable {
    let interval: Int64
    let capacity: Int
    private(set) var candles: [Candle] = []

    init(interval: Int64, capacity: Int) {
        self.interval = interval
        self.capacity = capacity
    }

    mutating func record(time: Int64, ticks: Int, qty: FixedDecimal, quote: FixedDecimal, takerBought: Bool) throws(FixedDecimalError) {
        let openTime = time - time % interval
        if let last = candles.last, last.openTime < openTime - interval {
            // At most a capacity's worth: older ones would be trimmed at once.
            var quiet = max(last.openTime + interval, openTime - Int64(capacity) * interval)
            while quiet < openTime {
                candles.append(Candle(openTime: quiet, interval: interval, ticks: last.close))
                quiet += interval
            }
        }
        if candles.last?.openTime != openTime {
            candles.append(Candle(openTime: openTime, interval: interval, ticks: ticks))
            // Trimmed in steps, so the copy is paid once per quarter of the capacity.
            if candles.count > capacity + capacity / 4 { candles.removeFirst(candles.count - capacity) }
        }
        var candle = candles[candles.count - 1]
        candle.high = max(candle.high, ticks)
        candle.low = min(candle.low, ticks)
        candle.close = ticks
        candle.volume = try candle.volume + qty
        candle.quoteVolume = try candle.quoteVolume + quote
        candle.trades += 1
        if takerBought {
            candle.takerBuyVolume = try candle.takerBuyVolume + qty
            candle.takerBuyQuoteVolume = try candle.takerBuyQuoteVolume + quote
        }
        candles[candles.count - 1] = candle
    }
}
