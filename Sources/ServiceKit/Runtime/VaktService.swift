// ServiceKit: the runtime every Vakt process is built from. A service states its kind, its
// routes, extra health checks and background work (``VaktService``); ``ServiceRuntime`` gives it
// configuration, structured logs, `/health` and `/metrics`, Redis and PostgreSQL clients,
// sd_notify readiness and watchdog, and graceful shutdown on SIGTERM/SIGINT.

import Hummingbird
import ServiceLifecycle
import VaktConfig

/// What makes one service different from another; everything else is the runtime's.
public protocol VaktService: Sendable {
    var kind: ServiceKind { get }
    /// Adds the service's own endpoints; `/health` and `/metrics` are already there.
    func addRoutes(to router: Router<BasicRequestContext>, context: ServiceContext) throws
    /// Checks beyond the infrastructure the service's kind declares.
    func healthChecks(context: ServiceContext) -> [any HealthCheck]
    /// Long-running work that lives and stops with the service.
    func backgroundServices(context: ServiceContext) -> [any ServiceLifecycle.Service]
}

extension VaktService {
    public func addRoutes(to router: Router<BasicRequestContext>, context: ServiceContext) throws {}
    public func healthChecks(context: ServiceContext) -> [any HealthCheck] { [] }
    public func backgroundServices(context: ServiceContext) -> [any ServiceLifecycle.Service] { [] }
}

/// The build's version, reported in `/health`, `vakt_build_info` and `vakt version`.
public enum VaktVersion {
    public static let current = "0.1.0"
}
