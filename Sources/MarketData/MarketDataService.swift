// MarketData: market data (8007): exchange feeds or replay, staleness heartbeat.

import ServiceKit
import VaktConfig

/// The market-data service. Its capabilities arrive with later issues; today it runs on the shared
/// runtime: configuration, `/health` over its real dependencies, `/metrics`, sd_notify.
public struct MarketDataService: VaktService {
    public let kind = ServiceKind.marketData

    public init() {}
}
