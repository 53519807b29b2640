import BinanceAdapter
import EventBus
import Foundation
import HealthFormat
import Logging
import Metrics
import ServiceKit
import ServiceLifecycle
import Synchronization
import VaktConfig

/// The live feed: the exchange's trade and kline streams for the configured symbols, published
/// as `market.tick` and `market.kline`; each symbol's freshness in `/health`. The stream is
/// reconnected with backoff when it drops or goes quiet.
final class MarketFeed: ServiceLifecycle.Service, Sendable {
    let settings: MarketDataSettings
    let exchange: ExchangeAccess
    let streamURL: String
    let events: EventPublisher
    let logger: Logger
    /// When each symbol last traded (wall clock).
    private let lastTrade = Mutex<[String: ContinuousClock.Instant]>([:])
    private let started = ContinuousClock.now

    init(settings: MarketDataSettings, exchange: ExchangeAccess, streamURL: String, events: EventPublisher, logger: Logger) {
        self.settings = settings
        self.exchange = exchange
        self.streamURL = streamURL
        self.events = events
        self.logger = logger
        for symbol in settings.symbols {
            Counter(label: "vakt_market_ticks_total", dimensions: [("symbol", symbol)]).increment(by: 0)
        }
    }

    func run() async throws {
        await exchange.waitUntilConnected()
        guard exchange.isConnected else { return }
        var streams: [String] = []
        for symbol in settings.symbols {
            let name = symbol.lowercased()
            streams.append(name + "@trade")
            streams += settings.intervals.map { "\(name)@kline_\($0)" }
        }
        let stream = MarketStream(
            settings: .init(baseURL: streamURL, streams: streams, staleAfter: settings.quietAfter), logger: logger)
        logger.info("market feed starting", metadata: ["streams": "\(streams.joined(separator: ","))"])
        await cancelWhenGracefulShutdown { await stream.run { event in await self.publish(event) } }
    }

    private func publish(_ event: MarketStreamEvent) async {
        let envelope: EventEnvelope
        switch event {
        case .trade(let symbol, _, let price, let qty, _, _):
            lastTrade.withLock { $0[symbol] = .now }
            Counter(label: "vakt_market_ticks_total", dimensions: [("symbol", symbol)]).increment()
            envelope = EventEnvelope(MarketTick(symbol: symbol, price: price, quantity: qty), source: "market-data")
        case .kline(let symbol, let interval, let kline, let closed):
            envelope = EventEnvelope(
                MarketKline(
                    symbol: symbol, interval: interval, openTime: Date(timeIntervalSince1970: Double(kline.openTime) / 1000),
                    closeTime: Date(timeIntervalSince1970: Double(kline.closeTime) / 1000), open: kline.open, high: kline.high,
                    low: kline.low, close: kline.close, volume: kline.volume, closed: closed), source: "market-data")
        case .bookTicker:
            return
        }
        do {
            try await events.publish(envelope)
        } catch {
            logger.error("market event not published", metadata: ["type": "\(envelope.type.rawValue)", "error": "\(error)"])
        }
    }

    /// `market:freshness`: the stalest symbol's age; warn past a fifth of `stale_after`, fail
    /// past it (before the first trade, from the service's start).
    var freshnessCheck: any HealthCheck { FreshnessCheck(feed: self) }

    struct FreshnessCheck: HealthCheck {
        let feed: MarketFeed
        let key = "market:freshness"
        let componentType = "datastore"

        func measure() async throws -> HealthMeasurement {
            let now = ContinuousClock.now
            let seen = feed.lastTrade.withLock { $0 }
            var ages: [(String, Duration)] = []
            for symbol in feed.settings.symbols {
                let age = now - (seen[symbol] ?? feed.started)
                ages.append((symbol, age))
                Gauge(label: "vakt_market_data_age_seconds", dimensions: [("symbol", symbol)]).record(Double(age.milliseconds) / 1000)
            }
            let (stalest, age) = ages.max { $0.1 < $1.1 } ?? ("", .zero)
            let output = ages.map { "\($0.0) \($0.1.milliseconds) ms" }.joined(separator: ", ")
            let status: HealthStatus = age > feed.settings.staleAfter ? .fail : age > feed.settings.staleAfter / 5 ? .warn : .pass
            return HealthMeasurement(
                status: status, value: Double(age.milliseconds), unit: "ms",
                output: status == .pass ? output : "\(stalest) has not traded for \(age.milliseconds) ms; \(output)")
        }
    }
}
