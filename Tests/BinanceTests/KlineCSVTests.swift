import Money
import Testing

@testable import Binance

/// Binance's kline files: every kline of a file read exactly, a header skipped, microsecond
/// times (2025's files on) read as milliseconds, and a bad line named with its field.
@Suite struct KlineCSVTests {
    @Test func aFileReadsExactlyAndABadLineIsNamed() throws {
        let csv = """
            open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore
            1700000000000,100.10,101.50,99.00,101.00,12.5,1700000059999,0,42,0,0,0
            1700000060000000,101.00,101.20,100.10,100.50,3,1700000119999999,0,7,0,0,0

            """
        let klines = try KlineCSV.read(csv)
        #expect(klines.map(\.openTime) == [1_700_000_000_000, 1_700_000_060_000])
        #expect(klines.map(\.closeTime) == [1_700_000_059_999, 1_700_000_119_999])
        #expect(try klines[0].open == Price(parsing: "100.10") && klines[0].volume == Quantity(parsing: "12.5"))
        #expect(klines.map(\.trades) == [42, 7] && klines[0].nextOpenTime == klines[1].openTime)
        let cases: [(String, KlineCSV.ReadError)] = [
            ("1,1,2,0.5,1,0,59\n60,1,2,0.5,x,0,119\n", .init(line: 2, reason: "close \"x\" is not a positive decimal price")),
            ("1,1,0.9,0.5,1,0,59\n", .init(line: 1, reason: "high and low do not bound open and close")),
            ("1,1,2,0.5,1,0\n", .init(line: 1, reason: "expected at least 7 comma-separated fields, got 6")),
            ("60,1,2,0.5,1,0,60\n", .init(line: 1, reason: "close time 60 is not after open time 60")),
            ("x1,1,2,0.5,1,0,60\n", .init(line: 1, reason: "open time \"x1\" is not a time in milliseconds")),
            ("1,1,2,0.5,1,-3,60\n", .init(line: 1, reason: "volume \"-3\" is not a decimal quantity")),
            ("\n", .init(line: 0, reason: "no klines")),
        ]
        for (text, error) in cases {
            #expect(throws: error, "\(text)") { try KlineCSV.read(text) }
        }
    }
}
