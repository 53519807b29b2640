import Binance
import BinanceAdapter
import EventBus
import Foundation
import Hummingbird
import ServiceKit
import VaktConfig

/// Execution's control actions, each with the control token and a reason (the gateway relays
/// the dashboard's): pausing and resuming a symbol, closing a position.
///
/// - `GET /api/symbols/paused`
/// - `POST /api/symbols/{symbol}/pause`, `POST /api/symbols/{symbol}/resume`: `{"reason"}`
/// - `POST /api/positions/{symbol}/close`: `{"reason", "actionId"}`; the same `actionId` sent
///   again answers with the order the first placed.
struct ExecutionControlAPI: Sendable {
    let executor: OrderExecutor
    let pauses: SymbolPauses
    let exchange: ExchangeAccess
    let authenticator: ControlAuthenticator
    let maxBodyBytes: Int

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("/api/symbols/paused") { _, _ -> Response in
            JSONResponse.make(.ok, .object(["paused": Self.json(pauses.current)]))
        }
        let control = router.controlRoutes(authenticator)
        for action in ["pause", "resume"] {
            control.post("/api/symbols/{symbol}/\(action)") { request, context -> Response in
                let symbol: String
                switch checkedSymbol(context, whileDisconnected: true) {
                case .success(let value): symbol = value
                case .failure(let failure): return failure.response
                }
                let body: ControlRequestBody
                switch await ControlRequestBody.read(request, limit: maxBodyBytes) {
                case .success(let value): body = value
                case .failure(let failure): return failure.response
                }
                let change: SymbolPauses.Change =
                    action == "pause"
                    ? .pause(SymbolPause(symbol: symbol, reason: body.reason, requester: body.source, since: Date()))
                    : .resume(symbol: symbol)
                switch await pauses.change(change) {
                case .failure(let failure):
                    return JSONResponse.error(.serviceUnavailable, failure.description)
                case .success(.paused(let pause)):
                    return Self.answer("paused \(symbol): no signal on it is traded until it is resumed", pause)
                case .success(.alreadyPaused(let pause)):
                    return Self.answer("unchanged: \(symbol) is paused since \(pause.since) by \(pause.requester)", pause)
                case .success(.resumed(let pause)):
                    return Self.answer("resumed \(symbol): its signals are traded again", pause)
                case .success(.notPaused):
                    return JSONResponse.make(.ok, .object(["outcome": .string("unchanged: \(symbol) was not paused")]))
                }
            }
        }
        control.post("/api/positions/{symbol}/close") { request, context -> Response in
            let symbol: String
            switch checkedSymbol(context, whileDisconnected: false) {
            case .success(let value): symbol = value
            case .failure(let failure): return failure.response
            }
            let body: ControlRequestBody
            switch await ControlRequestBody.read(request, limit: maxBodyBytes, actionId: true) {
            case .success(let value): body = value
            case .failure(let failure): return failure.response
            }
            let outcome = await executor.close(
                symbol: symbol, actionId: body.actionId ?? "", reason: body.reason, requester: body.source)
            switch outcome {
            case .placed(let order, let canceled):
                let text =
                    "closing \(symbol): sell \(order.tracked.quantity) at \(order.price) placed as \(order.clientOrderId)"
                    + (canceled.isEmpty ? "" : "; \(canceled.count) open buys canceled first")
                return JSONResponse.make(
                    .ok, .object(["outcome": .string(text), "order": order.json, "canceledBuys": .array(canceled.map(JSONValue.string))]))
            case .handledBefore(let order):
                let text =
                    "unchanged: action \(body.actionId ?? "") was handled before; its order \(order.clientOrderId) is \(order.state.rawValue)"
                return JSONResponse.make(.ok, .object(["outcome": .string(text), "order": order.json]))
            case .refused(let refusal):
                return JSONResponse.make(
                    refusal.rule == "symbol" ? .notFound : .conflict,
                    .object([
                        "error": .string("close refused (\(refusal.rule)): \(refusal.reason); nothing was sold"),
                        "rule": .string(refusal.rule),
                    ]))
            case .unavailable(let why):
                return JSONResponse.error(.serviceUnavailable, why)
            }
        }
    }

    /// The path's symbol, when it is one the exchange lists; `whileDisconnected`, any
    /// well-formed symbol while the exchange's list is not known (a pause must not wait for
    /// the exchange).
    private func checkedSymbol(_ context: BasicRequestContext, whileDisconnected: Bool) -> Result<String, ResponseError> {
        let symbol = context.parameters.get("symbol") ?? ""
        guard SymbolSyntax.isValid(symbol) else {
            return .failure(ResponseError(JSONResponse.error(.badRequest, "symbol: " + SymbolSyntax.problem(symbol))))
        }
        guard exchange.isConnected else {
            if whileDisconnected { return .success(symbol) }
            return .failure(
                ResponseError(
                    JSONResponse.error(.serviceUnavailable, "the exchange's symbols are not known yet; nothing was done, try again")))
        }
        guard exchange.client.rules(for: symbol) != nil else {
            return .failure(ResponseError(JSONResponse.error(.notFound, "symbol: the exchange does not list \(symbol); nothing was done")))
        }
        return .success(symbol)
    }

    static func json(_ pauses: [String: SymbolPause]) -> JSONValue {
        .array(pauses.values.sorted { $0.symbol < $1.symbol }.map(\.json))
    }

    private static func answer(_ outcome: String, _ pause: SymbolPause) -> Response {
        JSONResponse.make(.ok, .object(["outcome": .string(outcome), "pause": pause.json]))
    }
}
