import Foundation
import Money

/// A price path from Binance's kline CSV (the files data.binance.vision publishes: open time,
/// open, high, low, close, volume, …, one kline a line, no header): each kline becomes four
/// steps, open, then high and low in the order a rising or falling candle most likely took,
/// then close, each rounded to the tick.
public enum KlineReplay {
    public struct ReadError: Error, Sendable, Equatable, CustomStringConvertible {
        public var line: Int
        public var reason: String
        public var description: String { "kline CSV line \(line): \(reason)" }
    }

    public static func path(csv: String, tickSize: Price) throws(ReadError) -> [Int] {
        var points: [Int] = []
        var lineNumber = 0
        for line in csv.split(whereSeparator: \.isNewline) {
            lineNumber += 1
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            // A header line (open_time,open,...) is skipped, as some exports carry one.
            if lineNumber == 1, let first = fields.first, Int(first.trimmingCharacters(in: .whitespaces)) == nil { continue }
            guard fields.count >= 5 else {
                throw ReadError(line: lineNumber, reason: "expected at least 5 comma-separated fields, got \(fields.count)")
            }
            var prices: [Int] = []
            for (column, name) in [(1, "open"), (2, "high"), (3, "low"), (4, "close")] {
                let text = fields[column].trimmingCharacters(in: .whitespaces)
                guard let price = try? Price(parsing: text), price > .zero else {
                    throw ReadError(line: lineNumber, reason: "\(name) \"\(text)\" is not a positive decimal price")
                }
                guard let ticks = try? Tick.count(of: price, tickSize: tickSize, rounding: .halfEven) else {
                    throw ReadError(line: lineNumber, reason: "\(name) \(text) does not fit on tick \(tickSize)")
                }
                prices.append(max(1, ticks))
            }
            let (open, high, low, close) = (prices[0], prices[1], prices[2], prices[3])
            guard low <= min(open, close), high >= max(open, close) else {
                throw ReadError(line: lineNumber, reason: "high and low do not bound open and close")
            }
            points += close >= open ? [open, low, high, close] : [open, high, low, close]
        }
        guard !points.isEmpty else { throw ReadError(line: 0, reason: "no klines") }
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
