// Execution: the execution service (8002): signal queue, pre-trade checks, order lifecycle, exchange adapter.

import ServiceKit
import VaktConfig

/// The execution service. Its order handling arrives with a later issue; today it runs on the
/// shared runtime (configuration, `/health` over its real dependencies, `/metrics`, sd_notify)
/// and holds its connection to the exchange, whose budget and reachability `/health` reports.
public struct ExecutionService: VaktService {
    public let kind = ServiceKind.execution

    /// It will add exposure (or act for those who do): it carries the trading guards.
    public var usesTradingGuards: Bool { true }

    public init() {}

    public func makeParts(context: ServiceContext) async throws -> ServiceParts {
        let exchange = try ExchangeAccess(context: context)
        return ServiceParts(healthChecks: [exchange.healthCheck], backgroundServices: [exchange])
    }
}
