// MarketData: market data (8007): exchange feeds or replay, staleness heartbeat.

import ServiceKit
import VaktConfig

/// The market-data service. Its feeds arrive with a later issue; today it runs on the shared
/// runtime (configuration, `/health` over its real dependencies, `/metrics`, sd_notify) and
/// holds its connection to the exchange, whose budget and reachability `/health` reports.
public struct MarketDataService: VaktService {
    public let kind = ServiceKind.marketData

    public init() {}

    public func makeParts(context: ServiceContext) async throws -> ServiceParts {
        let exchange = try ExchangeAccess(context: context)
        return ServiceParts(healthChecks: [exchange.healthCheck], backgroundServices: [exchange])
    }
}
