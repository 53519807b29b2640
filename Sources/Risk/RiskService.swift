// Risk: Risk & Safety (8003): the Emergency Stop System and the PolicyStore authority.

import ServiceKit
import VaktConfig

/// The risk service. Its capabilities arrive with later issues; today it runs on the shared
/// runtime: configuration, `/health` over its real dependencies, `/metrics`, sd_notify.
public struct RiskService: VaktService {
    public let kind = ServiceKind.risk

    public init() {}
}
