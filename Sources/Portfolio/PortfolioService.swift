// Portfolio: the portfolio service (8004): positions, exact PnL, equity, drawdown, snapshots.

import ServiceKit
import VaktConfig

/// The portfolio service. Its capabilities arrive with later issues; today it runs on the shared
/// runtime: configuration, `/health` over its real dependencies, `/metrics`, sd_notify.
public struct PortfolioService: VaktService {
    public let kind = ServiceKind.portfolio

    public init() {}
}
