import Foundation

/// A seeded market for tests: bars whose 1-bar log returns follow
/// `r(t) = persistence · r(t-1) + noise`. With persistence 0 a random walk; with 0.3 a planted,
/// learnable momentum (the next move keeps the last one's sign about 60% of the time). One
/// seed, one market.
public struct SyntheticMarket: Sendable {
    public struct Bar: Sendable, Equatable {
        public var openTime: Int64
        public var open: Double
        public var high: Double
        public var low: Double
        public var close: Double
        public var volume: Double

        /// The bar as a line of Binance's kline CSV (prices to the cent).
        public func csvLine(interval: Int64) -> String {
            func cents(_ value: Double) -> String { String(format: "%.2f", value) }
            return "\(openTime),\(cents(open)),\(cents(high)),\(cents(low)),\(cents(close)),"
                + "\(String(format: "%.3f", volume)),\(openTime + interval - 1),0,1,0,0,0"
        }
    }

    public static func bars(count: Int, persistence: Double, seed: UInt64, start: Int64 = 1_700_000_000_000, interval: Int64 = 60_000)
        -> [Bar]
    {
        var generator = SplitMix64(seed: seed)
        var close = 50_000.0
        var last = 0.0
        return (0..<count).map { index in
            let change = persistence * last + 0.001 * generator.normal()
            last = change
            let open = close
            close *= exp(change)
            let wick = abs(generator.normal()) * 0.0003
            return Bar(
                openTime: start + Int64(index) * interval, open: open, high: max(open, close) * (1 + wick),
                low: min(open, close) * (1 - wick), close: close, volume: 10 + abs(generator.normal()) * 5)
        }
    }
}

extension SyntheticMarket {
    /// `bars` with every close-to-close move `factor` times larger (a wilder market of the same
    /// shape), starting from `start` (the first bar's open, unless given).
    public static func wilder(_ bars: [Bar], by factor: Double, startingAt start: Double? = nil) -> [Bar] {
        guard let first = bars.first else { return [] }
        var close = first.close * (start.map { $0 / first.open } ?? 1)
        var result: [Bar] = []
        for (index, bar) in bars.enumerated() {
            if index > 0 { close *= exp(factor * log(bar.close / bars[index - 1].close)) }
            let ratio = close / bar.close
            var copy = bar
            (copy.open, copy.high, copy.low, copy.close) = (bar.open * ratio, bar.high * ratio, bar.low * ratio, close)
            result.append(copy)
        }
        return result
    }
}

extension SplitMix64 {
    /// A standard normal variate (Box–Muller).
    public mutating func normal() -> Double {
        let u = Double.random(in: Double.ulpOfOne..<1, using: &self)
        let v = Double.random(in: 0..<1, using: &self)
        return sqrt(-2 * log(u)) * cos(2 * .pi * v)
    }
}
