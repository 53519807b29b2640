import Foundation
import Money

/// One kline (candle) as Binance reports it: its open and close times (ms, the close time the
/// last millisecond of the interval), exact prices and volume, and its number of trades.
/// Klines of one symbol and interval follow each other without a gap when each opens the
/// millisecond after the one before closed.
public struct Kline: Sendable, Equatable {
    public var openTime: Int64
    public var open: Price
    public var high: Price
    public var low: Price
    public var close: Price
    public var volume: Quantity
    public var closeTime: Int64
    public var trades: Int

    public init(openTime: Int64, open: Price, high: Price, low: Price, close: Price, volume: Quantity, closeTime: Int64, trades: Int) {
        self.openTime = openTime
        self.open = open
        self.high = high
        self.low = low
        self.close = close
        self.volume = volume
        self.closeTime = closeTime
        self.trades = trades
    }

    /// The open time of the kline that follows this one.
    public var nextOpenTime: Int64 { closeTime + 1 }
}

/// Binance's kline CSV files (as data.binance.vision publishes them): open time, open, high,
/// low, close, volume, close time, quote volume, number of trades, …; one kline a line, no
/// header (a header line, as some exports carry, is skipped). Times are milliseconds; files
/// from 2025 on give microseconds, which are read as milliseconds.
public enum KlineCSV {
    public struct ReadError: Error, Sendable, Equatable, CustomStringConvertible {
        public var line: Int
        public var reason: String
        public var description: String { "kline CSV line \(line): \(reason)" }

        public init(line: Int, reason: String) {
            self.line = line
            self.reason = reason
        }
    }

    /// Every kline of `csv`, in the file's order, each checked on its own: prices positive
    /// decimals, high and low bounding open and close, the close time after the open time.
    public static func read(_ csv: String) throws(ReadError) -> [Kline] {
        var klines: [Kline] = []
        var lineNumber = 0
        for line in csv.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            lineNumber += 1
            guard !line.allSatisfy(\.isWhitespace) else { continue }
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            if klines.isEmpty, let first = fields.first, !first.isEmpty, !first.contains(where: \.isNumber) { continue }
            guard fields.count >= 7 else {
                throw ReadError(line: lineNumber, reason: "expected at least 7 comma-separated fields, got \(fields.count)")
            }
            func time(_ column: Int, _ name: String) throws(ReadError) -> Int64 {
                guard let value = Int64(fields[column]), value >= 0 else {
                    throw ReadError(line: lineNumber, reason: "\(name) \"\(fields[column])\" is not a time in milliseconds")
                }
                // Microseconds (16 digits) from 2025's files on.
                return value >= 10_000_000_000_000 ? value / 1_000 : value
            }
            var prices: [Price] = []
            for (column, name) in [(1, "open"), (2, "high"), (3, "low"), (4, "close")] {
                guard let price = try? Price(parsing: fields[column]), price > .zero else {
                    throw ReadError(line: lineNumber, reason: "\(name) \"\(fields[column])\" is not a positive decimal price")
                }
                prices.append(price)
            }
            guard let volume = try? Quantity(parsing: fields[5]), volume >= .zero else {
                throw ReadError(line: lineNumber, reason: "volume \"\(fields[5])\" is not a decimal quantity")
            }
            let (open, high, low, close) = (prices[0], prices[1], prices[2], prices[3])
            guard low <= min(open, close), high >= max(open, close) else {
                throw ReadError(line: lineNumber, reason: "high and low do not bound open and close")
            }
            let openTime = try time(0, "open time")
            let closeTime = try time(6, "close time")
            guard closeTime > openTime else {
                throw ReadError(line: lineNumber, reason: "close time \(closeTime) is not after open time \(openTime)")
            }
            let trades = fields.count > 8 ? Int(fields[8]) ?? 0 : 0
            klines.append(
                Kline(
                    openTime: openTime, open: open, high: high, low: low, close: close, volume: volume, closeTime: closeTime,
                    trades: trades))
        }
        guard !klines.isEmpty else { throw ReadError(line: 0, reason: "no klines") }
        return klines
    }
}
