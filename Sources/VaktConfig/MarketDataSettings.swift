/// The market-data service's feed (`market_data`): which symbols and kline intervals it follows
/// and when a symbol's data counts as stale. See docs/configuration.md.
public struct MarketDataSettings: Sendable, Equatable {
    public var symbols: [String]
    /// Binance's kline intervals to follow (`1m`, …); the paper exchange streams `1s` and `1m`.
    public var intervals: [String]
    /// A symbol without a trade for this long is stale: `/health` fails.
    public var staleAfter: Duration
    /// The stream is reconnected when no message came for this long.
    public var quietAfter: Duration

    init(reading section: ConfigReader.Section) {
        symbols = section.stringList("symbols", default: ["BTCUSDT", "ETHUSDT"])
        intervals = section.stringList("intervals", default: ["1m"])
        staleAfter = section.duration("stale_after", default: .seconds(15), in: .seconds(1)...(.seconds(3_600)))
        quietAfter = section.duration("quiet_after", default: .seconds(10), in: .milliseconds(100)...(.seconds(600)))
        for symbol in symbols where symbol.isEmpty || !symbol.allSatisfy({ $0.isUppercase || $0.isNumber }) {
            section.report("symbols", "\"\(symbol)\" is not a symbol such as BTCUSDT")
        }
        let known = ["1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w", "1M"]
        for interval in intervals where !known.contains(interval) {
            section.report("intervals", "\"\(interval)\" is not one of Binance's intervals (\(known.joined(separator: ", ")))")
        }
        if symbols.isEmpty { section.report("symbols", "lists no symbol") }
        section.finish()
    }
}
