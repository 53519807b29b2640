import EventBus
import Forecasting
import Foundation
import Logging
import Metrics
import ServiceKit
import Synchronization
import VaktConfig

/// Continuous learning for each symbol of the AI engine: checks the live model every
/// `check_interval` (its age, and the drift of recent features from its training window), and
/// on a trigger trains a candidate on the history before the held-out klines, evaluates it
/// against the live model on them, registers it, and promotes it only if it is better by the
/// margin (`model.promoted`, which the engine hot-swaps). One training run at a time, at
/// background priority.
final class Trainer: Sendable {
    let settings: TrainingSettings
    let interval: String
    let symbols: [String]
    let history: KlineHistory
    let registry: ModelRegistry
    let events: EventPublisher
    let logger: Logger
    /// Symbols an operator asked to retrain, with who asked.
    private let requests = Mutex<[String: String]>([:])
    private let running = SingleFlight()
    /// Per symbol, the newest kline (open time) of the last training run.
    private let lastRun = Mutex<[String: Int64]>([:])

    init(
        settings: TrainingSettings, interval: String, symbols: [String], history: KlineHistory, registry: ModelRegistry,
        events: EventPublisher, logger: Logger
    ) {
        self.settings = settings
        self.interval = interval
        self.symbols = symbols
        self.history = history
        self.registry = registry
        self.events = events
        self.logger = logger
        for outcome in ["promoted", "rejected", "failed"] {
            Counter(label: "vakt_training_runs_total", dimensions: [("outcome", outcome)]).increment(by: 0)
        }
    }

    func request(_ symbol: String, by source: String) { requests.withLock { $0[symbol] = source } }

    /// One check of every symbol; trains where a trigger says so.
    func check() async {
        await running.run {
            for symbol in symbols {
                do {
                    try await check(symbol)
                } catch {
                    Counter(label: "vakt_training_runs_total", dimensions: [("outcome", "failed")]).increment()
                    logger.error(
                        "training check failed", metadata: ["symbol": "\(symbol)", "error": "\(PostgresErrorText.describe(error))"])
                }
            }
        }
    }

    private func check(_ symbol: String) async throws {
        let bars = try await history.last(settings.historyBars, symbol: symbol, interval: interval).map(Bar.init)
        let all = samples(from: bars)
        let heldOutCount = Int(Double(all.count) * settings.heldOut)
        guard all.count >= 200, heldOutCount >= 20 else { return }
        let live = try await registry.live(symbol: symbol, interval: interval)
        var psi: [Double]?
        if let live {
            let window = try await history.range(
                symbol: symbol, interval: interval, from: live.entry.window.lowerBound, until: live.entry.window.upperBound + 1,
                limit: settings.historyBars
            ).map(Bar.init)
            let reference = DriftReference(training: samples(from: window).map(\.features))
            let recentFeatures = Array(all.suffix(settings.driftWindow)).map(\.features)
            if !reference.edges.isEmpty, !recentFeatures.isEmpty {
                let values = reference.psi(recentFeatures)
                psi = values
                for (name, value) in zip(FeatureExtractor.names, values) {
                    Gauge(label: "vakt_training_feature_psi", dimensions: [("symbol", symbol), ("feature", name)]).record(value)
                }
            }
        }
        // The live model on the recent klines, run as the engine runs it.
        let recent = Array(all.suffix(settings.driftWindow))
        let recentAccuracy = live.map { PromotionRule.evaluate(candidate: $0.models, live: $0.models, on: recent).liveAccuracy }
        if let recentAccuracy { Gauge(label: "vakt_training_live_accuracy", dimensions: [("symbol", symbol)]).record(recentAccuracy) }
        let requested = requests.withLock { $0.removeValue(forKey: symbol) }
        let newestOfLastRun = lastRun.withLock { $0[symbol] } ?? .min
        let freshWindow = bars.filter { $0.openTime > newestOfLastRun }.count >= settings.driftWindow
        guard
            let trigger = requested.map(RetrainTrigger.requested)
                ?? RetrainTrigger.decide(
                    liveTrainedAt: live?.entry.trainedAt, psi: psi, recentAccuracy: recentAccuracy,
                    minimumAccuracy: settings.minimumAccuracy, now: Date(),
                    retrainAfter: Double(settings.retrainAfter.milliseconds) / 1_000, freshWindow: freshWindow)
        else { return }
        lastRun.withLock { $0[symbol] = bars.last?.openTime ?? .min }
        logger.info(
            "retraining",
            metadata: [
                "symbol": "\(symbol)", "trigger": "\(trigger.name)", "reason": "\(trigger.reason)",
                "live": "\(live?.entry.version ?? "none")",
                "psi":
                    "\(psi.map { zip(FeatureExtractor.names, $0).map { "\($0)=\(String(format: "%.3f", $1))" }.joined(separator: ",") } ?? "-")",
            ])
        try await events.publish(
            EventEnvelope(ModelRetrainRequested(model: live?.entry.version ?? "none", reason: trigger.reason), source: "rl-training"))

        // Train on what comes before the held-out klines, off the concurrency pool's busy threads.
        let training = Array(all.dropLast(heldOutCount))
        let heldOut = Array(all.suffix(heldOutCount))
        let start = ContinuousClock.now
        let candidate = await Task.detached(priority: .background) { ModelSet.train(on: training) }.value
        let elapsed = ContinuousClock.now - start
        Gauge(label: "vakt_training_seconds", dimensions: [("symbol", symbol)]).record(Double(elapsed.milliseconds) / 1_000)
        let windowEnd = bars[max(bars.count - heldOutCount - 1, 0)].openTime
        let version = "\(symbol.lowercased())-\(interval)-\(windowEnd)-\(trigger.name)-\(Int(Date().timeIntervalSince1970))"
        let evaluation = live.map { PromotionRule.evaluate(candidate: candidate, live: $0.models, on: heldOut) }
        let promote = evaluation.map { PromotionRule(margin: settings.promotionMargin).promotes($0) } ?? true
        let evaluationText =
            evaluation.map {
                String(
                    format: "held-out %d klines: log loss candidate %.5f, live %.5f; accuracy candidate %.4f, live %.4f; margin %.5f",
                    $0.samples, $0.candidateLogLoss, $0.liveLogLoss, $0.candidateAccuracy, $0.liveAccuracy, settings.promotionMargin)
            } ?? "first model: no live model to compare with"
        try await registry.register(
            version: version, symbol: symbol, interval: interval, trainedAt: Date(),
            window: (bars.first?.openTime ?? 0)...windowEnd, evaluation: evaluationText, trigger: trigger.reason,
            parent: live?.entry.version, models: candidate)
        guard promote else {
            try await registry.reject(version)
            Counter(label: "vakt_training_runs_total", dimensions: [("outcome", "rejected")]).increment()
            logger.info(
                "candidate not promoted", metadata: ["symbol": "\(symbol)", "version": "\(version)", "evaluation": "\(evaluationText)"])
            return
        }
        let previous = try await registry.promote(version)
        Counter(label: "vakt_training_runs_total", dimensions: [("outcome", "promoted")]).increment()
        try await events.publish(
            EventEnvelope(
                ModelPromoted(model: version, previous: previous, location: ModelRegistry.location(of: version), trainedAt: Date()),
                source: "rl-training"))
        logger.info(
            "model promoted",
            metadata: [
                "symbol": "\(symbol)", "version": "\(version)", "previous": "\(previous ?? "none")", "evaluation": "\(evaluationText)",
                "training_ms": "\(elapsed.milliseconds)",
            ])
    }

    /// Puts the previous model back for `symbol` and tells the engine.
    func rollback(_ symbol: String) async throws -> (restored: String, rolledBack: String) {
        let result = try await registry.rollback(symbol: symbol, interval: interval)
        try await events.publish(
            EventEnvelope(
                ModelPromoted(
                    model: result.restored, previous: result.rolledBack, location: ModelRegistry.location(of: result.restored),
                    trainedAt: Date()), source: "rl-training"))
        logger.warning(
            "model rolled back", metadata: ["symbol": "\(symbol)", "restored": "\(result.restored)", "rolled_back": "\(result.rolledBack)"])
        return result
    }
}
