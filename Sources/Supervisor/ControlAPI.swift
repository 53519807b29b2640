import EventBus
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceKit
import VaktConfig

/// `GET /api/services` and the token-protected `POST /api/services/{name}/start|stop|restart`.
struct ControlAPI: Sendable {
    let supervisor: Supervisor
    let authenticator: ControlAuthenticator
    let lag: ConsumerLagMonitor?
    let safety: SafetyDriver
    let logger: Logger

    struct ServicesResponse: Codable, Sendable {
        var summary: String
        var services: [ChildSnapshot]
        var consumerGroups: [ConsumerGroupSnapshot]?
    }

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("/api/services") { _, _ -> Response in
            let snapshots = await supervisor.snapshots()
            let groups = lag?.groups.map(ConsumerGroupSnapshot.init)
            return JSONResponse.make(
                .ok, ServicesResponse(summary: Supervisor.statusLine(snapshots), services: snapshots, consumerGroups: groups))
        }
        let control = router.controlRoutes(authenticator)
        for (action, command) in [("start", ChildSupervisor.Command.start), ("stop", .stop), ("restart", .restart)] {
            control.post("/api/services/{name}/\(action)") { _, context -> Response in
                let name = context.parameters.get("name") ?? ""
                if command != .stop, await safety.isHolding(name) {
                    return JSONResponse.error(
                        .conflict,
                        "\(name) is held stopped by the supervisor until the risk service is back and the ESS armed (see GET /api/mesh)")
                }
                logger.notice("control request", metadata: ["action": "\(action)", "child": "\(name)"])
                guard let snapshot = await supervisor.perform(command, on: name) else {
                    return JSONResponse.error(.notFound, "unknown service \"\(name)\"")
                }
                return JSONResponse.make(.ok, snapshot)
            }
        }
    }
}

/// A consumer group's lag verdict, as `GET /api/services` and `vakt status` show it.
public struct ConsumerGroupSnapshot: Codable, Sendable, Equatable {
    public var stream: String
    public var group: String
    public var status: String
    public var reason: String
    public var backlog: Int?

    init(_ group: ConsumerLagMonitor.Group) {
        stream = group.stream
        self.group = group.group
        status = group.verdict.status.rawValue
        reason = group.verdict.reason
        backlog = group.latest.map { ($0.lag ?? 0) + $0.pending }
    }
}
