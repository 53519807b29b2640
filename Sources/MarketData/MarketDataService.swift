// MarketData: market data (8007): exchange feeds or replay, staleness heartbeat.

import ServiceKit
import VaktConfig

/// The market-data service: the exchange's trade and kline streams for the configured symbols,
/// published as `market.tick` and `market.kline`, with each symbol's freshness and the
/// exchange's budget in `/health`. (Gap backfill, history in PostgreSQL and replay arrive with
/// the rest of its issue.)
public struct MarketDataService: VaktService {
    public let kind = ServiceKind.marketData

    public init() {}

    public func makeParts(context: ServiceContext) async throws -> ServiceParts {
        guard let events = context.events else { throw MissingRedis() }
        let exchange = try ExchangeAccess(context: context)
        let feed = MarketFeed(
            settings: context.configuration.marketData, exchange: exchange, streamURL: context.configuration.exchange.streamURL,
            events: events, logger: context.logger)
        return ServiceParts(healthChecks: [exchange.healthCheck, feed.freshnessCheck], backgroundServices: [exchange, feed])
    }
}

struct MissingRedis: Error, CustomStringConvertible {
    var description: String { "the market-data service needs Redis to publish on" }
}
