// MarketData: market data (8007): the exchange's streams with gap backfill, or a replay of
// kline files; `market.tick` and `market.kline` on the bus, kline history in PostgreSQL; ticks
// from a second venue (OKX) while Binance's feed is down or its IP banned.

import Binance
import Logging
import OKXAdapter
import ServiceKit
import VaktConfig

/// The market-data service: the exchange's trade and kline streams (or kline files replayed)
/// for the configured symbols, published as `market.tick` and `market.kline`; every closed
/// kline continues its series or is marked after a gap (``KlineGate``), and is kept in
/// PostgreSQL (`market_klines`) for `market_data.retention`. `/health` shows each symbol's
/// freshness and, when trading from the exchange, its request budget.
public struct MarketDataService: VaktService {
    public let kind = ServiceKind.marketData

    public init() {}

    public var migrations: [Migration] { KlineHistory.migrations }

    public func makeParts(context: ServiceContext) async throws -> ServiceParts {
        guard let events = context.events else { throw MissingInfrastructure(what: "Redis to publish on") }
        guard let postgres = context.postgres else { throw MissingInfrastructure(what: "PostgreSQL for the kline history") }
        let settings = context.configuration.marketData
        let history = KlineHistory(client: postgres, logger: context.logger)
        let writer = HistoryWriter(history: history, logger: context.logger)
        let freshness = Freshness(settings: settings)
        switch settings.source {
        case .replay:
            let gate = KlineGate(events: events, writer: writer, fetch: nil, backfillLimit: 0, logger: context.logger)
            let replay = try ReplayFeed(settings: settings, events: events, gate: gate, freshness: freshness, logger: context.logger)
            return ServiceParts(
                healthChecks: [freshness.healthCheck, writer.healthCheck],
                backgroundServices: [
                    replay, Self.retention(history, settings: settings, logger: context.logger, now: { ScaledClock.wall() }),
                ])
        case .exchange:
            let exchange = try ExchangeAccess(context: context)
            let gate = KlineGate(
                events: events, writer: writer, fetch: MarketFeed.fetch(from: exchange.client), backfillLimit: settings.backfillLimit,
                logger: context.logger)
            let venues = VenueSwitch(
                fallback: settings.fallback.map {
                    ($0.venue.rawValue, MarketVenuePolicy.Settings(failoverAfter: $0.failoverAfter, failbackAfter: $0.failbackAfter))
                })
            let feed = MarketFeed(
                settings: settings, exchange: exchange, streamURL: context.configuration.exchange.streamURL, events: events, gate: gate,
                freshness: freshness, venues: venues, history: history, logger: context.logger)
            let fallback = settings.fallback.map { fallback in
                FallbackFeed(
                    settings: fallback, symbols: settings.symbols, venues: venues,
                    client: OKXClient(settings: .init(baseURL: fallback.baseURL), http: context.httpClient, logger: context.logger),
                    exchange: exchange, events: events, freshness: freshness, logger: context.logger)
            }
            return ServiceParts(
                healthChecks: [exchange.healthCheck, freshness.healthCheck, venues.healthCheck, writer.healthCheck],
                backgroundServices: [
                    exchange, feed,
                    Self.retention(history, settings: settings, logger: context.logger, now: { exchange.client.serverNow }),
                ] + (fallback.map { [$0] } ?? []))
        }
    }

    /// Deletes the klines past `market_data.retention`, at start and hourly.
    static func retention(
        _ history: KlineHistory, settings: MarketDataSettings, logger: Logger, now: @escaping @Sendable () -> Int64
    ) -> PeriodicService {
        PeriodicService(every: .seconds(3_600)) {
            let before = now() - settings.retention.milliseconds
            do {
                let deleted = try await history.prune(closedBefore: before)
                if deleted > 0 { logger.info("kline history pruned", metadata: ["deleted": "\(deleted)", "closed_before": "\(before)"]) }
            } catch {
                logger.warning("kline history not pruned", metadata: ["error": "\(PostgresErrorText.describe(error))"])
            }
        }
    }
}

struct MissingInfrastructure: Error, CustomStringConvertible {
    var what: String
    var description: String { "the market-data service needs \(what)" }
}
