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
    let logger: Logger

    struct ServicesResponse: Codable, Sendable {
        var summary: String
        var services: [ChildSnapshot]
    }

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("/api/services") { _, _ -> Response in
            let snapshots = await supervisor.snapshots()
            return JSONResponse.make(.ok, ServicesResponse(summary: Supervisor.statusLine(snapshots), services: snapshots))
        }
        for (action, command) in [("start", ChildSupervisor.Command.start), ("stop", .stop), ("restart", .restart)] {
            router.post("/api/services/{name}/\(action)") { request, context -> Response in
                let name = context.parameters.get("name") ?? ""
                if let refusal = authenticator.refusal(for: request, action: "\(action) \(name)") { return refusal }
                logger.notice("control request", metadata: ["action": "\(action)", "child": "\(name)"])
                guard let snapshot = await supervisor.perform(command, on: name) else {
                    return JSONResponse.error(.notFound, "unknown service \"\(name)\"")
                }
                return JSONResponse.make(.ok, snapshot)
            }
        }
    }
}
