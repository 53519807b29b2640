// Gateway: the API gateway (8000): REST snapshot and WebSocket fan-out for the dashboard, auth.

import ServiceKit
import VaktConfig

/// The gateway service. Its capabilities arrive with later issues; today it runs on the shared
/// runtime: configuration, `/health` over its real dependencies, `/metrics`, sd_notify.
public struct GatewayService: VaktService {
    public let kind = ServiceKind.gateway

    /// It will add exposure (or act for those who do): it carries the trading guards.
    public var usesTradingGuards: Bool { true }

    public init() {}
}
