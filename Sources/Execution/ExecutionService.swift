// Execution: the execution service (8002): signal queue, pre-trade checks, order lifecycle, exchange adapter.

import ServiceKit
import VaktConfig

/// The execution service. Its capabilities arrive with later issues; today it runs on the shared
/// runtime: configuration, `/health` over its real dependencies, `/metrics`, sd_notify.
public struct ExecutionService: VaktService {
    public let kind = ServiceKind.execution

    /// It will add exposure (or act for those who do): it carries the trading guards.
    public var usesTradingGuards: Bool { true }

    public init() {}
}
