// Training: RL training (8006): continuous learning. Checks each live model for drift and
// age, trains candidates, evaluates them in shadow against the live model, keeps the model
// registry in PostgreSQL, promotes (`model.promoted`) and rolls back.

import EventBus
import Foundation
import Hummingbird
import ServiceKit
import VaktConfig

/// The rl-training service: ``Trainer`` every `training.check_interval`, the registry's
/// migrations, and its API: `GET /api/models?symbol=` (the registry, newest first), and with
/// the control token `POST /api/models/retrain` and `POST /api/models/rollback`
/// (`{"symbol": "BTCUSDT"}`).
public struct TrainingService: VaktService {
    public let kind = ServiceKind.rlTraining

    public init() {}

    public var migrations: [Migration] { ModelRegistry.migrations }

    public func makeParts(context: ServiceContext) async throws -> ServiceParts {
        guard let events = context.events, let postgres = context.postgres else {
            throw MissingInfrastructure(what: "Redis and PostgreSQL")
        }
        let configuration = context.configuration
        let registry = ModelRegistry(client: postgres, logger: context.logger)
        let trainer = Trainer(
            settings: configuration.training, interval: configuration.aiEngine.interval, symbols: configuration.marketData.symbols,
            history: KlineHistory(client: postgres, logger: context.logger), registry: registry, events: events,
            logger: context.logger)
        let authenticator = ControlAuthenticator(
            token: context.secrets.secret(named: configuration.supervisor.controlTokenSecret),
            failuresPerMinute: configuration.http.authFailuresPerMinute, logger: context.logger)
        let symbols = configuration.marketData.symbols
        return ServiceParts(
            addRoutes: { router in
                router.get("/api/models") { request, _ -> Response in
                    guard let symbol = request.uri.queryParameters.get("symbol"), symbols.contains(symbol) else {
                        return JSONResponse.error(.badRequest, "symbol: expected one of \(symbols.joined(separator: ", "))")
                    }
                    do {
                        let entries = try await registry.history(symbol: symbol)
                        return JSONResponse.make(.ok, .object(["symbol": .string(symbol), "models": .array(entries.map(Self.json))]))
                    } catch {
                        return JSONResponse.error(.serviceUnavailable, "model registry: \(PostgresErrorText.describe(error))")
                    }
                }
                let control = router.controlRoutes(authenticator)
                control.post("/api/models/retrain") { request, _ -> Response in
                    let symbol: String
                    switch await Self.symbol(request, among: symbols) {
                    case .success(let value): symbol = value
                    case .failure(let failure): return failure.response
                    }
                    trainer.request(symbol, by: "api")
                    Task { await trainer.check() }
                    return JSONResponse.make(.accepted, .object(["symbol": .string(symbol), "retrain": .string("requested")]))
                }
                control.post("/api/models/rollback") { request, _ -> Response in
                    let symbol: String
                    switch await Self.symbol(request, among: symbols) {
                    case .success(let value): symbol = value
                    case .failure(let failure): return failure.response
                    }
                    do {
                        let result = try await trainer.rollback(symbol)
                        return JSONResponse.make(
                            .ok, .object(["restored": .string(result.restored), "rolledBack": .string(result.rolledBack)]))
                    } catch let error as RegistryError {
                        return JSONResponse.error(.conflict, "\(error)")
                    } catch {
                        return JSONResponse.error(.serviceUnavailable, "model registry: \(PostgresErrorText.describe(error))")
                    }
                }
            },
            backgroundServices: [PeriodicService(every: configuration.training.checkInterval) { await trainer.check() }])
    }

    static func json(_ entry: ModelRegistry.Entry) -> JSONValue {
        .fields([
            "version": .string(entry.version), "status": .string(entry.status.rawValue), "interval": .string(entry.interval),
            "trainedAt": .time(entry.trainedAt), "windowFrom": .number(Double(entry.window.lowerBound)),
            "windowTo": .number(Double(entry.window.upperBound)), "evaluation": .string(entry.evaluation),
            "trigger": .string(entry.trigger), "parent": entry.parent.map(JSONValue.string),
        ])
    }

    /// `{"symbol": …}`, one of the followed symbols.
    static func symbol(_ request: Request, among symbols: [String]) async -> Result<String, ResponseError> {
        let reader: PayloadReader
        switch await JSONResponse.readObject(request, limit: 4_096) {
        case .success(let value): reader = value
        case .failure(let failure): return .failure(failure)
        }
        let symbol = reader.string("symbol", maxLength: 32)
        do throws(PayloadError) {
            try reader.finish()
        } catch {
            return .failure(ResponseError(JSONResponse.error(.badRequest, "invalid request; nothing changed", problems: error.problems)))
        }
        guard let symbol, symbols.contains(symbol) else {
            return .failure(ResponseError(JSONResponse.error(.badRequest, "symbol: expected one of \(symbols.joined(separator: ", "))")))
        }
        return .success(symbol)
    }
}

struct MissingInfrastructure: Error, CustomStringConvertible {
    var what: String
    var description: String { "the rl-training service needs \(what)" }
}
