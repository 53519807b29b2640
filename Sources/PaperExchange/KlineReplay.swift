import Binance
import Foundation
import Money

/// A price path from Binance's kline CSV (``KlineCSV``): each kline becomes four steps, open,
/// then high and low in the order a rising or falling candle most likely took, then close, each
/// rounded to the tick.
public enum KlineReplay {
    public static func path(csv: String, tickSize: Price) throws(KlineCSV.ReadError) -> [Int] {
        var points: [Int] = []
        for (index, kline) in try KlineCSV.read(csv).enumerated() {
            var prices: [Int] = []
            for (name, price) in [("open", kline.open), ("high", kline.high), ("low", kline.low), ("close", kline.close)] {
                guard let ticks = try? Tick.count(of: price, tickSize: tickSize, rounding: .halfEven) else {
                    throw KlineCSV.ReadError(line: index + 1, reason: "\(name) \(price) does not fit on tick \(tickSize)")
                }
                prices.append(max(1, ticks))
            }
            let (open, high, low, close) = (prices[0], prices[1], prices[2], prices[3])
            points += close >= open ? [open, low, high, close] : [open, high, low, close]
        }
        return points
    }
}

/// Prices as whole ticks and back: the simulator's prices are counted in ticks so that every
/// price it makes is on the grid.
public enum Tick {
    public static func count(of price: Price, tickSize: Price, rounding: RoundingMode) throws(FixedDecimalError) -> Int {
        let quotient = try price.value.divided(by: tickSize.value, scale: 0, rounding: rounding)
        guard let ticks = Int(exactly: quotient.units / FixedDecimal(1).units) else {
            throw .overflow("price \(price) in ticks of \(tickSize)")
        }
        return ticks
    }

    public static func price(_ ticks: Int, tickSize: Price) -> Price {
        Price(FixedDecimal(units: tickSize.value.units * Int128(ticks)))
    }
}
