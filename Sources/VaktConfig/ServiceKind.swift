/// The process kinds `vakt` can run, each with the port the architecture gives it.
public enum ServiceKind: String, Sendable, CaseIterable, Codable, Comparable {
    case supervisor
    case gateway
    case aiEngine = "ai-engine"
    case execution
    case risk
    case portfolio
    case rlTraining = "rl-training"
    case marketData = "market-data"
    case dashboard
    case exchangeSim = "exchange-sim"

    public var defaultPort: Int {
        switch self {
        case .gateway: 8000
        case .aiEngine: 8001
        case .execution: 8002
        case .risk: 8003
        case .portfolio: 8004
        case .supervisor: 8005
        case .rlTraining: 8006
        case .marketData: 8007
        case .dashboard: 3000
        case .exchangeSim: 9100
        }
    }

    /// The infrastructure each service needs, from the seed's dependency column (and the kline
    /// history in PostgreSQL that market data writes and the AI engine reads).
    public var infrastructure: Set<Infrastructure> {
        switch self {
        case .supervisor: [.redis]
        case .gateway: [.redis, .postgres]
        case .aiEngine: [.redis, .postgres]
        case .execution: [.redis, .postgres, .exchange]
        case .risk: [.redis, .postgres]
        case .portfolio: [.redis, .postgres, .exchange]
        case .rlTraining: [.redis, .postgres]
        case .marketData: [.redis, .postgres, .exchange]
        case .dashboard: []
        case .exchangeSim: []
        }
    }

    /// Whether trading must halt when this service is down (the seed's "Critical for Go-Live").
    public var criticalForTrading: Bool {
        switch self {
        case .gateway, .aiEngine, .execution, .risk, .portfolio, .dashboard: true
        case .supervisor, .rlTraining, .marketData, .exchangeSim: false
        }
    }

    public static func < (lhs: ServiceKind, rhs: ServiceKind) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// Shared infrastructure a service connects to.
public enum Infrastructure: String, Sendable, CaseIterable, Codable {
    case redis
    case postgres
    case exchange
}
