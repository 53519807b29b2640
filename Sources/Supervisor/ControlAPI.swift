import Foundation
import Hummingbird
import Logging
import NIOCore
import VaktConfig

/// `GET /api/services` and the token-protected `POST /api/services/{name}/start|stop|restart`.
struct ControlAPI: Sendable {
    let supervisor: Supervisor
    let token: Secret?
    let logger: Logger

    struct ServicesResponse: Codable, Sendable {
        var summary: String
        var services: [ChildSnapshot]
    }

    struct ErrorResponse: Codable, Sendable {
        var error: String
    }

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("/api/services") { _, _ -> Response in
            let snapshots = await supervisor.snapshots()
            return Self.json(.ok, ServicesResponse(summary: Supervisor.statusLine(snapshots), services: snapshots))
        }
        for (action, command) in [("start", ChildSupervisor.Command.start), ("stop", .stop), ("restart", .restart)] {
            router.post("/api/services/{name}/\(action)") { request, context -> Response in
                let name = context.parameters.get("name") ?? ""
                guard authorized(request) else {
                    logger.warning("control request refused: bad or missing token", metadata: ["action": "\(action)", "child": "\(name)"])
                    return Self.json(
                        .unauthorized,
                        ErrorResponse(
                            error: token == nil ? "control API disabled: no control token configured" : "missing or invalid bearer token"),
                        headers: [.wwwAuthenticate: "Bearer realm=\"vakt\""])
                }
                logger.notice("control request", metadata: ["action": "\(action)", "child": "\(name)"])
                guard let snapshot = await supervisor.perform(command, on: name) else {
                    return Self.json(.notFound, ErrorResponse(error: "unknown service \"\(name)\""))
                }
                return Self.json(.ok, snapshot)
            }
        }
    }

    /// `Authorization: Bearer <token>`, compared in constant time.
    private func authorized(_ request: Request) -> Bool {
        guard let token, let header = request.headers[.authorization] else { return false }
        let prefix = "Bearer "
        guard header.hasPrefix(prefix) else { return false }
        return token.matches(header.dropFirst(prefix.count))
    }

    static func json(_ status: HTTPResponse.Status, _ value: some Encodable, headers: HTTPFields = [:]) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(data: data)))
    }
}
