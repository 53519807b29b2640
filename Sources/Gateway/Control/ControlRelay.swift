import AsyncHTTPClient
import EventBus
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceKit
import VaktConfig

/// The dashboard's actions, passed through to the service that owns each (`POST
/// /api/control/{action}` with the control token): the gateway checks the token and the body,
/// forwards the caller's token, returns the owner's answer as it is, and publishes every action
/// that reached the owner, or failed to, as a `control.action` event.
struct ControlRelay: Sendable {
    /// One action: the owning service and its path, and what it acts on.
    struct Action: Sendable {
        let name: String
        let service: ServiceKind
        let path: String
        var target = "ess"
    }

    static let actions: [Action] = [
        Action(name: "ess.trip", service: .risk, path: "/api/ess/trip"),
        Action(name: "ess.reduce", service: .risk, path: "/api/ess/reduce"),
        Action(name: "ess.reset", service: .risk, path: "/api/ess/reset"),
    ]

    let baseURL: @Sendable (ServiceKind) -> String
    let httpClient: HTTPClient
    let events: EventPublisher?
    let maxBodyBytes: Int
    let logger: Logger

    func addRoutes(to control: RouterGroup<BasicRequestContext>) {
        control.post("/api/control/{action}") { request, context -> Response in
            let name = context.parameters.get("action") ?? ""
            guard let action = Self.actions.first(where: { $0.name == name }) else {
                return JSONResponse.error(
                    .notFound, "action: unknown \"\(name)\"; expected one of \(Self.actions.map(\.name).joined(separator: ", "))")
            }
            let reader: PayloadReader
            switch await JSONResponse.readObject(request, limit: maxBodyBytes) {
            case .success(let value): reader = value
            case .failure(let failure): return failure.response
            }
            let reason = reader.string("reason", maxLength: 500)
            do throws(PayloadError) {
                try reader.finish()
            } catch {
                return JSONResponse.error(.badRequest, "invalid request; nothing changed", problems: error.problems)
            }
            guard let reason, !reason.trimmingCharacters(in: .whitespaces).isEmpty else {
                return JSONResponse.error(.badRequest, "reason: missing; say why (it is kept in the audit trail)")
            }
            let requester = Self.requester(of: request)
            return await forward(action, reason: reason, requester: requester, authorization: request.headers[.authorization] ?? "")
        }
    }

    private func forward(_ action: Action, reason: String, requester: String, authorization: String) async -> Response {
        var outgoing = HTTPClientRequest(url: baseURL(action.service) + action.path)
        outgoing.method = .POST
        outgoing.headers.add(name: "Authorization", value: authorization)
        outgoing.headers.add(name: "Content-Type", value: "application/json")
        let body = JSONValue.object(["reason": .string(reason), "source": .string("gateway: \(requester)".prefix(100).description)])
        outgoing.body = .bytes(ByteBuffer(data: body.encoded()))
        let status: Int
        let answer: ByteBuffer
        do {
            let response = try await httpClient.execute(outgoing, timeout: .seconds(30))
            status = Int(response.status.code)
            answer = try await response.body.collect(upTo: 1 << 20)
        } catch {
            let message = "\(action.service.rawValue) could not be reached: \(error); nothing was done"
            await audit(action, reason: reason, status: 502, outcome: message, requester: requester)
            return JSONResponse.error(.badGateway, message)
        }
        let text = String(buffer: answer)
        await audit(action, reason: reason, status: status, outcome: Self.outcome(of: text), requester: requester)
        logger.notice(
            "control action relayed",
            metadata: ["action": "\(action.name)", "status": "\(status)", "requester": "\(requester)", "reason": "\(reason)"])
        return Response(
            status: .init(code: status), headers: [.contentType: "application/json"], body: .init(byteBuffer: answer))
    }

    private func audit(_ action: Action, reason: String, status: Int, outcome: String, requester: String) async {
        let payload = ControlActionTaken(
            action: action.name, service: action.service.rawValue, target: action.target, reason: reason, status: status, outcome: outcome,
            requester: requester)
        do {
            try await events?.publish(EventEnvelope(payload, source: ServiceKind.gateway.rawValue))
        } catch {
            logger.error("control action not audited on the bus", metadata: ["action": "\(action.name)", "error": "\(error)"])
        }
    }

    /// The owner's `outcome` or `error`, else its answer cut short.
    static func outcome(of text: String) -> String {
        if case .object(let fields)? = try? JSONValue(parsing: Array(text.utf8)) {
            if case .string(let outcome)? = fields["outcome"] { return outcome }
            if case .string(let error)? = fields["error"] { return error }
        }
        return String(text.prefix(1000))
    }

    static func requester(of request: Request) -> String {
        let agent = request.headers[.userAgent].map { " (\($0.prefix(200)))" } ?? ""
        let forwarded = request.headers[.init("X-Forwarded-For")!].map { "forwarded for \($0.prefix(100))" } ?? "direct"
        return forwarded + agent
    }
}
