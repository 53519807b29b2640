import Binance
import BinanceAdapter
import EventBus
import Logging
import ServiceKit
import ServiceLifecycle
import VaktConfig

/// The live feed: the exchange's trade and kline streams for the configured symbols, published
/// as `market.tick` and `market.kline`. At start each series is caught up from the history's
/// end (or the exchange's recent klines); closed klines then pass through the ``KlineGate``,
/// which backfills gaps from the exchange's REST klines. The stream is reconnected with
/// backoff when it drops or goes quiet. Its trades are published while ``VenueSwitch`` says
/// Binance serves (``FallbackFeed`` publishes the second venue's otherwise).
final class MarketFeed: ServiceLifecycle.Service, Sendable {
    let settings: MarketDataSettings
    let exchange: ExchangeAccess
    let streamURL: String
    let events: EventPublisher
    let gate: KlineGate
    let freshness: Freshness
    let venues: VenueSwitch
    let history: KlineHistory?
    let logger: Logger

    init(
        settings: MarketDataSettings, exchange: ExchangeAccess, streamURL: String, events: EventPublisher, gate: KlineGate,
        freshness: Freshness, venues: VenueSwitch, history: KlineHistory?, logger: Logger
    ) {
        self.settings = settings
        self.exchange = exchange
        self.streamURL = streamURL
        self.events = events
        self.gate = gate
        self.freshness = freshness
        self.venues = venues
        self.history = history
        self.logger = logger
    }

    /// The exchange's klines for the gate's backfill.
    static func fetch(from client: BinanceClient) -> KlineGate.Fetch {
        { series, from, until, limit in
            try await client.klines(symbol: series.symbol, interval: series.interval, limit: limit, startTime: from, endTime: until - 1)
        }
    }

    var series: [KlineGate.Series] {
        settings.symbols.flatMap { symbol in settings.intervals.map { KlineGate.Series(symbol: symbol, interval: $0) } }
    }

    func run() async throws {
        await exchange.waitUntilConnected()
        guard exchange.isConnected else { return }
        for series in series {
            do {
                if let last = try await history?.latest(symbol: series.symbol, interval: series.interval) {
                    gate.resume(series, after: last.closeTime)
                }
            } catch {
                logger.warning(
                    "kline history not read; the series starts from the exchange's recent klines",
                    metadata: [
                        "symbol": "\(series.symbol)", "interval": "\(series.interval)", "error": "\(PostgresErrorText.describe(error))",
                    ])
            }
            await gate.catchUp(series, now: exchange.client.serverNow, recent: settings.historyOnStart)
        }
        var streams: [String] = []
        for symbol in settings.symbols {
            let name = symbol.lowercased()
            streams.append(name + "@trade")
            streams += settings.intervals.map { "\(name)@kline_\($0)" }
        }
        let stream = MarketStream(
            settings: .init(baseURL: streamURL, streams: streams, staleAfter: settings.quietAfter), logger: logger)
        logger.info("market feed starting", metadata: ["streams": "\(streams.joined(separator: ","))"])
        await cancelWhenGracefulShutdown { await stream.run { event in await self.handle(event) } }
    }

    private func handle(_ event: MarketStreamEvent) async {
        let envelope: EventEnvelope
        switch event {
        case .trade(let symbol, _, let price, let qty, _, _):
            // While the fallback venue serves, Binance's trades only count towards its return.
            guard venues.primaryTraded() else { return }
            freshness.traded(symbol)
            envelope = EventEnvelope(MarketTick(symbol: symbol, price: price, quantity: qty), source: "market-data")
        case .kline(let symbol, let interval, let kline, let closed):
            let series = KlineGate.Series(symbol: symbol, interval: interval)
            if closed {
                await gate.closed(kline, series: series)
                return
            }
            // The kline in progress, unless it is one the series already passed.
            guard gate.expected(series).map({ kline.openTime >= $0 }) ?? true else { return }
            envelope = EventEnvelope(
                MarketKline(
                    symbol: symbol, interval: interval, openTime: KlineGate.date(kline.openTime),
                    closeTime: KlineGate.date(kline.closeTime), open: kline.open, high: kline.high, low: kline.low, close: kline.close,
                    volume: kline.volume, closed: false), source: "market-data")
        case .bookTicker:
            return
        }
        do {
            try await events.publish(envelope)
        } catch {
            logger.error("market event not published", metadata: ["type": "\(envelope.type.rawValue)", "error": "\(error)"])
        }
    }
}
