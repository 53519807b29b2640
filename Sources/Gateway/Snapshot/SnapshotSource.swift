import EventBus
import VaktConfig

/// One section of the dashboard's snapshot: the service that owns its data, the paths read from
/// it (one path gives the section its answer; several give an object of them by name), and the
/// events after which it is read again.
struct SnapshotSource: Sendable {
    let section: String
    let service: ServiceKind
    let paths: [(name: String, path: String)]
    let refreshedBy: Set<EventType>

    /// Every section the dashboard draws: positions, PnL, equity history and trades (the
    /// portfolio), open orders and the signal accounting (execution), the ESS (risk), the health
    /// mesh with its firing alerts (the supervisor), the AI engine's insights.
    static let all: [SnapshotSource] = [
        SnapshotSource(
            section: "positions", service: .portfolio, paths: [("", "/api/portfolio/positions")], refreshedBy: [.positionUpdated]),
        SnapshotSource(
            section: "pnl", service: .portfolio, paths: [("", "/api/portfolio/pnl")],
            refreshedBy: [.portfolioSnapshot, .positionUpdated]),
        SnapshotSource(
            section: "equity", service: .portfolio, paths: [("", "/api/portfolio/equity?limit=360")], refreshedBy: [.portfolioSnapshot]),
        SnapshotSource(
            section: "trades", service: .portfolio, paths: [("", "/api/portfolio/trades?limit=50")],
            refreshedBy: [.orderFilled, .orderPartiallyFilled]),
        SnapshotSource(
            section: "orders", service: .execution,
            paths: [("open", "/api/orders?open=true&limit=200"), ("recent", "/api/orders?limit=50"), ("execution", "/api/execution")],
            refreshedBy: [
                .orderSubmitted, .orderFilled, .orderPartiallyFilled, .orderCanceled, .orderRejected, .signalDropped, .controlAction,
            ]),
        SnapshotSource(section: "ess", service: .risk, paths: [("", "/api/ess")], refreshedBy: [.essStateChanged]),
        SnapshotSource(
            section: "mesh", service: .supervisor, paths: [("", "/api/mesh")], refreshedBy: [.healthChanged, .alertFired, .alertResolved]),
        SnapshotSource(
            section: "ai", service: .aiEngine,
            paths: [
                ("ensemble", "/api/ai/metrics/ensemble"), ("metaStrategy", "/api/ai/metrics/meta-strategy"),
                ("sizing", "/api/ai/metrics/rl-sizing"),
            ], refreshedBy: [.modelPromoted, .signalGenerated]),
    ]
}
