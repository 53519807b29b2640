import EmergencyStop
import EventBus
import Foundation
import Hummingbird
import Logging
import PolicyStore
import ServiceKit

/// The risk service's HTTP API: the ESS (`GET /api/ess`, `POST /api/ess/trip|reduce|reset`) and
/// the policy (`GET /api/policy`, `GET /api/policy/history`, `PUT /api/policy`). Every change
/// needs the control token and a reason, and is logged with who asked.
struct RiskAPI: Sendable {
    let engine: ESSEngine
    let authority: PolicyAuthority
    let authenticator: ControlAuthenticator
    let recentTransitions: Int
    let maxBodyBytes: Int
    let logger: Logger

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("/api/ess") { _, _ -> Response in
            let status = await engine.status
            var fields: [String: JSONValue] = ["status": status.json, "inputs": await engine.inputs]
            if let ends = status.cooldownEndsAt {
                fields["cooldownRemainingSeconds"] = .number(max(0, ends.timeIntervalSinceNow.rounded(.up)))
            }
            do {
                fields["recent"] = .array(try await engine.recent(recentTransitions).map(\.json))
            } catch {
                fields["recentError"] = .string("transition log unavailable: \(error)")
            }
            return JSONResponse.make(.ok, .object(fields))
        }
        let control = router.controlRoutes(authenticator)
        for action in ["trip", "reduce", "reset"] {
            control.post("/api/ess/\(action)") { request, _ -> Response in
                let body: ControlRequestBody
                switch await ControlRequestBody.read(request, limit: maxBodyBytes) {
                case .success(let value): body = value
                case .failure(let failure): return failure.response
                }
                let input: ESSInput =
                    switch action {
                    case "trip":
                        .trip(body.source.hasPrefix("supervisor") ? .supervisor : .manual, reason: body.reason, source: body.source)
                    case "reduce": .reduce(reason: body.reason, source: body.source)
                    default: .reset(reason: body.reason, source: body.source)
                    }
                logger.notice("ESS \(action) requested", metadata: ["reason": "\(body.reason)", "source": "\(body.source)"])
                let outcome: ESSOutcome
                do {
                    outcome = try await engine.handle(input)
                } catch {
                    return JSONResponse.error(.serviceUnavailable, "the ESS state could not be persisted; nothing changed: \(error)")
                }
                let status = await engine.status.json
                switch outcome {
                case .transitioned(let transition):
                    return JSONResponse.make(
                        .ok, .object(["outcome": .string("transitioned"), "transition": transition.json, "status": status]))
                case .unchanged:
                    return JSONResponse.make(.ok, .object(["outcome": .string("unchanged"), "status": status]))
                case .refused(let reason):
                    return JSONResponse.error(.conflict, reason)
                }
            }
        }
        router.get("/api/policy") { _, _ -> Response in
            return JSONResponse.make(.ok, await authority.current.json)
        }
        router.get("/api/policy/history") { request, _ -> Response in
            let limitText = request.uri.queryParameters.get("limit") ?? "50"
            guard let limit = Int(limitText), (1...PolicyAuthority.historyLength).contains(limit) else {
                return JSONResponse.error(
                    .badRequest, "limit: expected an integer from 1 to \(PolicyAuthority.historyLength), got \"\(limitText)\"")
            }
            do {
                let history = try await authority.history(limit: limit)
                return JSONResponse.make(.ok, .object(["history": .array(history.map(\.json))]))
            } catch {
                return JSONResponse.error(.serviceUnavailable, "policy history unavailable: \(error)")
            }
        }
        control.put("/api/policy") { request, _ -> Response in
            let reader: PayloadReader
            switch await JSONResponse.readObject(request, limit: maxBodyBytes) {
            case .success(let value): reader = value
            case .failure(let failure): return failure.response
            }
            let policyReader = reader.object("policy")
            let policy = policyReader.flatMap { RiskPolicy.read($0) }
            policyReader?.close()
            let author = reader.string("updatedBy", maxLength: 200)
            let expectedVersion = reader.contains("expectedVersion") ? reader.int("expectedVersion") : nil
            do throws(PayloadError) {
                try reader.finish()
            } catch {
                return JSONResponse.error(.unprocessableContent, "invalid policy; the current one stays in force", problems: error.problems)
            }
            guard let policy, let author else { return JSONResponse.error(.unprocessableContent, "invalid policy") }
            do throws(PolicyAuthority.UpdateError) {
                let document = try await authority.update(policy, by: author, expectedVersion: expectedVersion)
                // Stored and announced already; if the ESS cannot persist the change now, its next
                // tick takes the policy from the service's copy.
                try? await engine.adopt(document)
                return JSONResponse.make(.ok, document.json)
            } catch {
                switch error {
                case .versionMismatch: return JSONResponse.error(.conflict, error.description)
                case .storeUnavailable: return JSONResponse.error(.serviceUnavailable, error.description)
                }
            }
        }
    }
}
