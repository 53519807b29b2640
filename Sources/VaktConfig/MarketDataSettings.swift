/// The market-data service's feed (`market_data`): which symbols and kline intervals it follows,
/// where from (the exchange's streams, or a replay of kline files), when a symbol's data counts
/// as stale, and how much history it keeps. See docs/configuration.md.
public struct MarketDataSettings: Sendable, Equatable {
    public var symbols: [String]
    /// Binance's kline intervals to follow (`1m`, …); the paper exchange streams `1s` and `1m`.
    public var intervals: [String]
    /// A symbol without a trade for this long is stale: `/health` fails.
    public var staleAfter: Duration
    /// The stream is reconnected when no message came for this long.
    public var quietAfter: Duration
    /// Closed klines older than this are deleted from the history.
    public var retention: Duration
    /// With no history of a series yet, this many of its latest klines are fetched at start.
    public var historyOnStart: Int
    /// A gap of more klines than this is not backfilled: it is reported, and the series starts
    /// again after it.
    public var backfillLimit: Int
    public var source: Source
    /// Where the klines come from when `source` is `replay`.
    public var replay: Replay
    /// The second venue whose trades are published while Binance's feed is down or its IP
    /// banned; nil: none (the feed only goes stale).
    public var fallback: Fallback?

    public enum Source: String, Sendable, Equatable, CaseIterable {
        /// The exchange's market streams, with REST backfill after gaps.
        case exchange
        /// Binance kline CSV files, played at `replay.speed`.
        case replay
    }

    public struct Replay: Sendable, Equatable {
        /// A kline file per symbol.
        public var files: [String: String]
        /// The files' kline interval (each line must span it).
        public var interval: String
        /// How many times faster than the klines' own time they are played; 0 as fast as the
        /// bus takes them.
        public var speed: Int
    }

    /// `market_data.fallback`: the second venue for ticks.
    public struct Fallback: Sendable, Equatable {
        public var venue: Venue
        /// The venue's REST API: `https://www.okx.com`, or the paper exchange, which speaks it too.
        public var baseURL: String
        /// Binance's trades silent this long (or its IP banned): ticks come from the fallback.
        public var failoverAfter: Duration
        /// Binance's trades flowing again without a gap for this long: ticks come from Binance.
        public var failbackAfter: Duration
        /// How often the fallback's recent trades are read while it serves.
        public var pollInterval: Duration

        public enum Venue: String, Sendable, Equatable, CaseIterable {
            case okx
        }
    }

    static let knownIntervals = ["1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w", "1M"]

    init(reading section: ConfigReader.Section) {
        symbols = section.stringList("symbols", default: ["BTCUSDT", "ETHUSDT"])
        intervals = section.stringList("intervals", default: ["1m"])
        staleAfter = section.duration("stale_after", default: .seconds(15), in: .seconds(1)...(.seconds(3_600)))
        quietAfter = section.duration("quiet_after", default: .seconds(10), in: .milliseconds(100)...(.seconds(600)))
        retention = section.duration("retention", default: .seconds(30 * 86_400), in: .seconds(60)...(.seconds(3_650 * 86_400)))
        historyOnStart = section.int("history_on_start", default: 500, in: 0...1_000)
        backfillLimit = section.int("backfill_limit", default: 5_000, in: 0...100_000)
        source = section.choice("source", default: Source.exchange)
        let replaySection = section.section("replay")
        replay = Replay(
            files: replaySection.stringMap("files"), interval: replaySection.string("interval", default: "1m"),
            speed: replaySection.int("speed", default: 60, in: 0...1_000_000))
        for symbol in symbols where !SymbolSyntax.isValid(symbol) {
            section.report("symbols", SymbolSyntax.problem(symbol))
        }
        for interval in intervals + [replay.interval] where !Self.knownIntervals.contains(interval) {
            section.report(
                interval == replay.interval ? "replay.interval" : "intervals",
                "\"\(interval)\" is not one of Binance's intervals (\(Self.knownIntervals.joined(separator: ", ")))")
        }
        if symbols.isEmpty { section.report("symbols", "lists no symbol") }
        if source == .replay {
            for symbol in symbols where replay.files[symbol] == nil {
                section.report("replay.files", "names no file for \(symbol) (source is replay)")
            }
        }
        for symbol in replay.files.keys where !symbols.contains(symbol) {
            section.report("replay.files", "\(symbol) is not one of market_data.symbols")
        }
        replaySection.finish()
        if section.contains("fallback") {
            let fallbackSection = section.section("fallback")
            let fallback = Fallback(
                venue: fallbackSection.choice("venue", default: Fallback.Venue.okx),
                baseURL: fallbackSection.optionalHTTPURL("base_url").map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
                    ?? "https://www.okx.com",
                failoverAfter: fallbackSection.duration("failover_after", default: .seconds(5), in: .milliseconds(500)...(.seconds(600))),
                failbackAfter: fallbackSection.duration("failback_after", default: .seconds(30), in: .zero...(.seconds(3_600))),
                pollInterval: fallbackSection.duration("poll_interval", default: .seconds(1), in: .milliseconds(100)...(.seconds(60))))
            if fallback.failoverAfter >= staleAfter {
                fallbackSection.report(
                    "failover_after",
                    "must be shorter than market_data.stale_after (\(staleAfter)): the feed would count as stale before the fallback serves"
                )
            }
            fallbackSection.finish()
            self.fallback = fallback
        } else {
            fallback = nil
        }
        section.finish()
    }
}
