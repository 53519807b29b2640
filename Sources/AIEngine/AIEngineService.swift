// AIEngine: the AI engine (8001): features from closed klines, four models weighed by their
// recent accuracy, a regime-driven meta-strategy, bandit position sizing; `signal.generated`.

import HealthFormat
import ServiceKit
import ServiceLifecycle
import VaktConfig

/// The ai-engine service: closed `market.kline`s of `ai_engine.interval` in, `signal.generated`
/// out (through the trading guards), the live state at `/api/ai/metrics/*`. Warmed and trained
/// from the kline history in PostgreSQL at start, trained again every `retrain_every` klines.
public struct AIEngineService: VaktService {
    public let kind = ServiceKind.aiEngine

    /// It will add exposure (or act for those who do): it carries the trading guards.
    public var usesTradingGuards: Bool { true }

    public init() {}

    public func makeParts(context: ServiceContext) async throws -> ServiceParts {
        guard let events = context.events, let postgres = context.postgres else {
            throw MissingInfrastructure(what: "Redis and PostgreSQL")
        }
        let engine = SignalEngine(
            settings: context.configuration.aiEngine, symbols: context.configuration.marketData.symbols, events: events,
            guards: context.guards, history: KlineHistory(client: postgres, logger: context.logger),
            registry: ModelRegistry(client: postgres, logger: context.logger), logger: context.logger)
        return ServiceParts(
            addRoutes: { router in AIMetrics.addRoutes(to: router, engine: engine) },
            healthChecks: [ModelsCheck(engine: engine)],
            backgroundServices: [
                OnceService { await engine.warmUp() },
                context.subscribe(to: [.marketKline]) { try await engine.handle($0) },
                context.subscribe(to: [.modelPromoted], role: "models") { try await engine.promoted($0) },
            ],
            statusUpdates: engine.statusUpdates)
    }
}

/// `ai:models`: warns until every symbol has trained models (how many klines it still needs).
struct ModelsCheck: HealthCheck {
    let engine: SignalEngine
    let key = "ai:models"
    let componentType = "component"

    func measure() async throws -> HealthMeasurement {
        let strategist = engine.strategist.withLock { $0 }
        AIMetrics.record(strategist)
        let waiting = engine.symbols.filter { strategist.symbols[$0]?.models == nil }
        guard waiting.isEmpty else {
            let bars = waiting.map { "\($0) \(strategist.symbols[$0]?.bars ?? 0)" }.joined(separator: ", ")
            return HealthMeasurement(
                status: .warn,
                output: "no models yet for \(waiting.joined(separator: ", ")): training needs "
                    + "\(engine.settings.minimumTrainingBars) klines of \(engine.settings.interval) (have \(bars))")
        }
        let versions = engine.symbols.map { "\($0) \(strategist.symbols[$0]?.modelVersion ?? "-")" }.joined(separator: ", ")
        return HealthMeasurement(output: "models: \(versions)")
    }
}

struct MissingInfrastructure: Error, CustomStringConvertible {
    var what: String
    var description: String { "the ai-engine service needs \(what)" }
}
