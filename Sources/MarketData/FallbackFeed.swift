import BinanceAdapter
import EventBus
import Logging
import OKXAdapter
import ServiceKit
import ServiceLifecycle
import VaktConfig

/// The second venue's ticks: each round it asks ``VenueSwitch`` which venue serves (Binance's
/// silence and ban are the inputs); while the fallback does, it reads each symbol's recent
/// trades there and publishes those not yet published as `market.tick`, oldest first. The first
/// round after a switch publishes only the latest trade: the price now, not the fallback's
/// history. Klines are not taken from the fallback (its candles do not come in every interval
/// Binance's do, `1s` among them); the kline gate backfills them from Binance once it is back.
final class FallbackFeed: ServiceLifecycle.Service, Sendable {
    let settings: MarketDataSettings.Fallback
    let symbols: [String]
    let venues: VenueSwitch
    let client: OKXClient
    let exchange: ExchangeAccess
    let events: EventPublisher
    let freshness: Freshness
    let logger: Logger

    init(
        settings: MarketDataSettings.Fallback, symbols: [String], venues: VenueSwitch, client: OKXClient, exchange: ExchangeAccess,
        events: EventPublisher, freshness: Freshness, logger: Logger
    ) {
        self.settings = settings
        self.symbols = symbols
        self.venues = venues
        self.client = client
        self.exchange = exchange
        self.events = events
        self.freshness = freshness
        self.logger = logger
    }

    /// What the feed keeps between rounds.
    struct Round {
        /// Each symbol's instrument id at the fallback, once its instruments were read.
        var instruments: [String: String]?
        /// The last trade id published per symbol since the fallback began serving.
        var lastTrade: [String: Int64] = [:]
        /// What failed at the last read (instruments, or a symbol's trades): logged once, when
        /// it starts failing, and again when it answers.
        var failing: Set<String> = []

        /// Logs a failure the first time in a row, a recovery once.
        mutating func note(_ what: String, failed error: (any Error)?, logger: Logger) {
            if let error {
                if failing.insert(what).inserted {
                    logger.warning("market data: the fallback venue does not answer", metadata: ["read": "\(what)", "error": "\(error)"])
                }
            } else if failing.remove(what) != nil {
                logger.notice("market data: the fallback venue answers again", metadata: ["read": "\(what)"])
            }
        }
    }

    func run() async throws {
        var round = Round()
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let status = await exchange.client.status()
            let (venue, before, silent) = venues.decide(primaryBanned: status.bannedUntil > status.now)
            if venue != before {
                if venue == .fallback {
                    logger.notice(
                        "market data: ticks now from the fallback venue",
                        metadata: [
                            "venue": "\(venues.name(.fallback))", "binance_silent_ms": "\(silent.milliseconds)",
                            "binance_banned": "\(status.bannedUntil > status.now)",
                        ])
                } else {
                    logger.notice("market data: ticks from Binance again", metadata: ["venue": "\(venues.name(.primary))"])
                    round.lastTrade = [:]
                }
            }
            if venue == .fallback { await poll(&round) }
            try? await gracefulShutdownSleep(settings.pollInterval)
        }
    }

    private func gracefulShutdownSleep(_ duration: Duration) async throws {
        try await cancelWhenGracefulShutdown { try await Task.sleep(for: duration) }
    }

    /// One read of each symbol's recent trades at the fallback.
    func poll(_ round: inout Round) async {
        if round.instruments == nil {
            do {
                let ids = OKXInstrument.ids(for: symbols, in: try await client.spotInstruments())
                for symbol in symbols where ids[symbol] == nil {
                    logger.error(
                        "market data: the fallback venue lists no live instrument for a symbol; it gets no ticks there",
                        metadata: ["symbol": "\(symbol)", "venue": "\(venues.name(.fallback))"])
                }
                round.instruments = ids
                round.note("instruments", failed: nil, logger: logger)
            } catch {
                round.note("instruments", failed: error, logger: logger)
                return
            }
        }
        for symbol in symbols {
            guard let instId = round.instruments?[symbol] else { continue }
            let trades: [OKXTrade]
            do {
                trades = try await client.trades(instId: instId)
                round.note("trades of \(symbol)", failed: nil, logger: logger)
            } catch {
                round.note("trades of \(symbol)", failed: error, logger: logger)
                continue
            }
            let newest = trades.max { $0.tradeId < $1.tradeId }
            let fresh =
                if let last = round.lastTrade[symbol] {
                    trades.filter { $0.tradeId > last }.sorted { $0.tradeId < $1.tradeId }
                } else {
                    newest.map { [$0] } ?? []
                }
            for trade in fresh {
                do {
                    try await events.publish(
                        EventEnvelope(MarketTick(symbol: symbol, price: trade.price, quantity: trade.quantity), source: "market-data"))
                    freshness.traded(symbol)
                    round.lastTrade[symbol] = trade.tradeId
                } catch {
                    logger.error("market event not published", metadata: ["type": "market.tick", "error": "\(error)"])
                    break
                }
            }
        }
    }
}
