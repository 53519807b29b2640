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
    /// One action: the owning service and its path (`{symbol}` stands for the body's symbol),
    /// and whether it needs the caller's `actionId` (an action that must not happen twice).
    struct Action: Sendable {
        let name: String
        let service: ServiceKind
        let path: String
        var needsActionId = false

        var needsSymbol: Bool { path.contains("{symbol}") }

        /// What it acts on, for the audit: the symbol, or the ESS.
        func target(_ symbol: String?) -> String { symbol ?? "ess" }
    }

    static let actions: [Action] = [
        Action(name: "ess.trip", service: .risk, path: "/api/ess/trip"),
        Action(name: "ess.reduce", service: .risk, path: "/api/ess/reduce"),
        Action(name: "ess.reset", service: .risk, path: "/api/ess/reset"),
        Action(name: "symbol.pause", service: .execution, path: "/api/symbols/{symbol}/pause"),
        Action(name: "symbol.resume", service: .execution, path: "/api/symbols/{symbol}/resume"),
        Action(name: "position.close", service: .execution, path: "/api/positions/{symbol}/close", needsActionId: true),
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
            let body: ControlRequestBody
            switch await ControlRequestBody.read(
                request, limit: maxBodyBytes, symbol: action.needsSymbol, actionId: action.needsActionId)
            {
            case .success(let value): body = value
            case .failure(let failure): return failure.response
            }
            let seen = Self.requester(of: request)
            let requester = body.source == "api" ? seen : "\(body.source) via \(seen)"
            return await forward(action, body, requester: requester, authorization: request.headers[.authorization] ?? "")
        }
    }

    private func forward(_ action: Action, _ request: ControlRequestBody, requester: String, authorization: String) async -> Response {
        let path = request.symbol.map { action.path.replacingOccurrences(of: "{symbol}", with: $0) } ?? action.path
        var outgoing = HTTPClientRequest(url: baseURL(action.service) + path)
        outgoing.method = .POST
        outgoing.headers.add(name: "Authorization", value: authorization)
        outgoing.headers.add(name: "Content-Type", value: "application/json")
        var fields: [String: JSONValue] = [
            "reason": .string(request.reason), "source": .string("gateway: \(requester)".prefix(100).description),
        ]
        if let actionId = request.actionId { fields["actionId"] = .string(actionId) }
        outgoing.body = .bytes(ByteBuffer(data: JSONValue.object(fields).encoded()))
        let reason = request.reason
        let target = action.target(request.symbol)
        let status: Int
        let answer: ByteBuffer
        do {
            let response = try await httpClient.execute(outgoing, timeout: .seconds(30))
            status = Int(response.status.code)
            answer = try await response.body.collect(upTo: 1 << 20)
        } catch {
            let message = "\(action.service.rawValue) could not be reached: \(error); nothing was done"
            await audit(action, target: target, reason: reason, status: 502, outcome: message, requester: requester)
            return JSONResponse.error(.badGateway, message)
        }
        let text = String(buffer: answer)
        await audit(action, target: target, reason: reason, status: status, outcome: Self.outcome(of: text), requester: requester)
        logger.notice(
            "control action relayed",
            metadata: [
                "action": "\(action.name)", "target": "\(target)", "status": "\(status)", "requester": "\(requester)",
                "reason": "\(reason)",
            ])
        return Response(
            status: .init(code: status), headers: [.contentType: "application/json"], body: .init(byteBuffer: answer))
    }

    private func audit(_ action: Action, target: String, reason: String, status: Int, outcome: String, requester: String) async {
        let payload = ControlActionTaken(
            action: action.name, service: action.service.rawValue, target: target, reason: reason, status: status, outcome: outcome,
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
