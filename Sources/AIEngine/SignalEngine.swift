import Binance
import EventBus
import Forecasting
import Foundation
import Logging
import Metrics
import Money
import ServiceKit
import ServiceLifecycle
import Synchronization
import VaktConfig

/// The ``Strategist``'s effectful shell: it warms each symbol from the kline history in
/// PostgreSQL, trains the models off the event path (a background task, so a training run
/// never holds up a kline), feeds every closed kline of its interval to the strategist, asks
/// the trading guards before publishing a signal (`signal.generated`), and keeps the live
/// state the metrics endpoints show.
final class SignalEngine: Sendable {
    let settings: AIEngineSettings
    let symbols: [String]
    let events: EventPublisher
    let guards: TradingGuards?
    let history: KlineHistory
    let registry: ModelRegistry
    let logger: Logger
    let strategist: Mutex<Strategist>
    /// Symbols whose models come from the registry (RL training promotes them): the engine
    /// no longer trains those itself.
    private let managed = Mutex<Set<String>>([])
    /// `STATUS=` lines for `vakt status`: signals and models per symbol, as they change.
    let statusUpdates: AsyncStream<String>
    private let statusContinuation: AsyncStream<String>.Continuation
    private let publishedSignals = Mutex<[String: Int]>([:])

    /// A training run's models, and what it took.
    struct Trained: Sendable {
        var models: ModelSet
        var version: String
        var bars: Int
        var samples: Int
        var elapsed: Duration
    }

    private struct Series {
        /// The latest closed bars (at most `historyBars`), oldest first, for training.
        var bars: [Bar] = []
        var lastOpenTime: Int64 = .min
        /// Bars seen in all.
        var seen = 0
        var sinceTraining = 0
        var trained = false
        /// A training run under way, and the bar (by ``seen``) at which its models take over.
        var training: (run: Task<Trained, Never>, takesOverAt: Int)?
    }

    /// A model trained at a symbol's bar k takes over at bar k + this: the engine waits for
    /// the run there if it is still going. Training never holds up the bars before; where the
    /// models change is fixed by the bars alone, so a replay gives the same signals every time.
    static let takeOverLag = 50

    private let series = Mutex<[String: Series]>([:])
    /// Until the history is loaded, klines wait here (the consumer starts with the service).
    private let warmed = Mutex<(done: Bool, waiting: [CheckedContinuation<Void, Never>])>((false, []))

    init(
        settings: AIEngineSettings, symbols: [String], events: EventPublisher, guards: TradingGuards?, history: KlineHistory,
        registry: ModelRegistry, logger: Logger
    ) {
        self.settings = settings
        self.symbols = symbols
        self.events = events
        self.guards = guards
        self.history = history
        self.registry = registry
        self.logger = logger
        strategist = Mutex(Strategist(settings: .init(signalLifetime: settings.signalLifetime.milliseconds)))
        (statusUpdates, statusContinuation) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingNewest(1))
        for reason in ["ess", "policy", "no-policy"] {
            Counter(label: "vakt_ai_signals_suppressed_total", dimensions: [("reason", reason)]).increment(by: 0)
        }
        for symbol in symbols {
            for side in ["BUY", "SELL"] {
                Counter(label: "vakt_ai_signals_total", dimensions: [("symbol", symbol), ("side", side)]).increment(by: 0)
            }
        }
    }

    // MARK: - Start-up

    /// Loads each symbol's history, runs it through the strategist (features and regimes warm;
    /// no signal), trains where there is enough, then lets the consumer in.
    func warmUp() async {
        defer {
            let waiting = warmed.withLock { state in
                state.done = true
                defer { state.waiting = [] }
                return state.waiting
            }
            for continuation in waiting { continuation.resume() }
        }
        for symbol in symbols {
            await loadLive(symbol)
            let klines: [Bar]
            do {
                klines = try await history.last(settings.historyBars, symbol: symbol, interval: settings.interval).map(Bar.init)
            } catch {
                logger.warning(
                    "kline history not read; the models train once enough klines arrive",
                    metadata: ["symbol": "\(symbol)", "error": "\(PostgresErrorText.describe(error))"])
                continue
            }
            for bar in klines { _ = await ingest(symbol, bar: bar, now: bar.openTime, live: false) }
            // Live klines start with the models of the history, if there was enough of it.
            if let run = series.withLock({ $0[symbol]?.training?.run }) { installUnlessManaged(await run.value, for: symbol) }
            logger.info("ai engine warmed from history", metadata: ["symbol": "\(symbol)", "klines": "\(klines.count)"])
        }
    }

    private func waitUntilWarmed() async {
        await withCheckedContinuation { continuation in
            let done = warmed.withLock { state in
                if !state.done { state.waiting.append(continuation) }
                return state.done
            }
            if done { continuation.resume() }
        }
    }

    // MARK: - Klines

    /// A `market.kline` event: a closed kline of the engine's interval and symbols is a bar.
    func handle(_ envelope: EventEnvelope) async throws {
        let kline = try MarketKline(json: envelope.payload)
        guard kline.closed, kline.interval == settings.interval, symbols.contains(kline.symbol) else { return }
        await waitUntilWarmed()
        if kline.afterGap { strategist.withLock { $0.restart(kline.symbol) } }
        // Decisions take their time from the kline, not the clock: a signal lives from the
        // moment its kline closed (one backfilled late is stale at once), and a replay decides
        // the same however fast it is played.
        let now = Int64((kline.closeTime.timeIntervalSince1970 * 1_000).rounded()) + 1
        guard let signal = await ingest(kline.symbol, bar: Self.bar(kline), now: now, live: true) else { return }
        await publish(signal, price: kline.close)
    }

    /// One bar through the strategist (once: a bar at or before the symbol's last is ignored),
    /// into the training window; installs a finished training run's models where they take
    /// over, and starts a run when one is due.
    private func ingest(_ symbol: String, bar: Bar, now: Int64, live: Bool) async -> Strategist.Signal? {
        let step: (fresh: Bool, takeOver: Task<Trained, Never>?) = series.withLock { all in
            var state = all[symbol] ?? Series()
            defer { all[symbol] = state }
            guard bar.openTime > state.lastOpenTime else { return (false, nil) }
            state.lastOpenTime = bar.openTime
            state.seen += 1
            state.sinceTraining += 1
            state.bars.append(bar)
            if state.bars.count > settings.historyBars + settings.historyBars / 4 {
                state.bars.removeFirst(state.bars.count - settings.historyBars)
            }
            guard let training = state.training, state.seen >= training.takesOverAt else { return (true, nil) }
            state.training = nil
            return (true, training.run)
        }
        guard step.fresh else { return nil }
        if let run = step.takeOver { installUnlessManaged(await run.value, for: symbol) }
        let registryManaged = managed.withLock { $0.contains(symbol) }
        series.withLock { all in
            guard !registryManaged, var state = all[symbol], state.training == nil, state.bars.count >= settings.minimumTrainingBars,
                !state.trained || state.sinceTraining >= settings.retrainEvery
            else { return }
            state.sinceTraining = 0
            state.trained = true
            state.training = (train(symbol, on: Array(state.bars.suffix(settings.historyBars))), state.seen + Self.takeOverLag)
            all[symbol] = state
        }
        let signal = strategist.withLock { $0.observe(symbol, bar: bar, now: now) }
        return live ? signal : nil
    }

    /// Trains the four models on `bars` in a background task of low priority.
    private func train(_ symbol: String, on bars: [Bar]) -> Task<Trained, Never> {
        let interval = settings.interval
        return Task.detached(priority: .background) {
            let start = ContinuousClock.now
            let samples = Forecasting.samples(from: bars)
            let models = ModelSet.train(on: samples)
            return Trained(
                models: models, version: "\(symbol.lowercased())-\(interval)-\(bars.last?.openTime ?? 0)", bars: bars.count,
                samples: samples.count, elapsed: ContinuousClock.now - start)
        }
    }

    /// Installs the engine's own training run, unless the registry's models took over the
    /// symbol while it ran (they are not to be replaced by the engine's).
    private func installUnlessManaged(_ trained: Trained, for symbol: String) {
        guard !managed.withLock({ $0.contains(symbol) }) else { return }
        strategist.withLock { $0.install(trained.models, version: trained.version, for: symbol) }
        reportStatus()
        Counter(label: "vakt_ai_trainings_total", dimensions: [("symbol", symbol)]).increment()
        Gauge(label: "vakt_ai_training_seconds", dimensions: [("symbol", symbol)]).record(Double(trained.elapsed.milliseconds) / 1_000)
        logger.info(
            "models trained and installed",
            metadata: [
                "symbol": "\(symbol)", "version": "\(trained.version)", "bars": "\(trained.bars)", "samples": "\(trained.samples)",
                "training_ms": "\(trained.elapsed.milliseconds)",
            ])
    }

    // MARK: - Models from the registry

    /// The registry's live model for `symbol`, if RL training has promoted one.
    private func loadLive(_ symbol: String) async {
        do {
            guard let live = try await registry.live(symbol: symbol, interval: settings.interval) else { return }
            adopt(live.models, version: live.entry.version, for: symbol)
        } catch {
            logger.info(
                "no model registry to read; the engine trains its own models",
                metadata: ["symbol": "\(symbol)", "error": "\(PostgresErrorText.describe(error))"])
        }
    }

    /// `model.promoted`: the promoted (or rolled back to) model replaces the symbol's models
    /// at once, without a restart.
    func promoted(_ envelope: EventEnvelope) async throws {
        let event = try ModelPromoted(json: envelope.payload)
        guard let version = ModelRegistry.version(at: event.location) else {
            logger.warning("model.promoted names a location this engine cannot load", metadata: ["location": "\(event.location)"])
            return
        }
        guard let found = try await registry.model(version) else {
            logger.error("promoted model not in the registry", metadata: ["version": "\(version)"])
            return
        }
        guard found.entry.interval == settings.interval, symbols.contains(found.entry.symbol) else { return }
        adopt(found.models, version: version, for: found.entry.symbol)
    }

    private func adopt(_ models: ModelSet, version: String, for symbol: String) {
        managed.withLock { _ = $0.insert(symbol) }
        strategist.withLock { $0.install(models, version: version, for: symbol) }
        reportStatus()
        Counter(label: "vakt_ai_model_swaps_total", dimensions: [("symbol", symbol)]).increment()
        logger.info("model installed from the registry", metadata: ["symbol": "\(symbol)", "version": "\(version)"])
    }

    // MARK: - Signals

    private func publish(_ signal: Strategist.Signal, price: Price) async {
        let side = signal.buy ? OrderSide.buy : .sell
        let size = Self.fourPlaces(signal.size)
        if let guards {
            guard let policy = guards.policy.current?.document.policy,
                let largest = try? Money(parsing: ExactDecimal.text(policy.maxOrderNotional))
            else { return suppressed("no-policy", signal, "no risk policy loaded") }
            let notional = (try? Money(largest.value.multiplied(by: size))) ?? largest
            if case .refused(let rule, let reason) = guards.check(ExposureQuestion(symbol: signal.symbol, notional: notional)) {
                return suppressed(rule == "ess" ? "ess" : "policy", signal, reason)
            }
        }
        let event = SignalGenerated(
            symbol: signal.symbol, side: side, confidence: Self.fourPlaces(signal.confidence),
            model: signal.modelVersion, referencePrice: price, reason: signal.reason, size: size,
            expiresAt: Date(timeIntervalSince1970: Double(signal.expiresAt) / 1_000))
        do {
            try await events.publish(EventEnvelope(event, source: "ai-engine"))
            Counter(label: "vakt_ai_signals_total", dimensions: [("symbol", signal.symbol), ("side", side.rawValue)]).increment()
            publishedSignals.withLock { $0[signal.symbol, default: 0] += 1 }
            reportStatus()
            logger.info(
                "signal",
                metadata: [
                    "symbol": "\(signal.symbol)", "side": "\(side.rawValue)", "confidence": "\(event.confidence)",
                    "reason": "\(signal.reason)",
                ])
        } catch {
            logger.error("signal not published", metadata: ["symbol": "\(signal.symbol)", "error": "\(error)"])
        }
    }

    /// Signals published and the models in use, per symbol: `BTCUSDT 12 signals (btcusdt-1s-…)`.
    private func reportStatus() {
        let state = strategist.withLock { $0 }
        let published = publishedSignals.withLock { $0 }
        statusContinuation.yield(
            symbols.map { symbol in
                "\(symbol) \(published[symbol] ?? 0) signals (\(state.symbols[symbol]?.modelVersion ?? "no model"))"
            }.joined(separator: "; "))
    }

    private func suppressed(_ reason: String, _ signal: Strategist.Signal, _ detail: String) {
        Counter(label: "vakt_ai_signals_suppressed_total", dimensions: [("reason", reason)]).increment()
        logger.debug("signal withheld", metadata: ["symbol": "\(signal.symbol)", "reason": "\(detail)"])
    }

    /// A model's number in 0...1 as an exact decimal of four places, where it leaves the models.
    static func fourPlaces(_ value: Double) -> FixedDecimal {
        FixedDecimal(Int((min(max(value, 0), 1) * 10_000).rounded()), scale: 4)
    }

    static func bar(_ kline: MarketKline) -> Bar {
        Bar(
            openTime: Int64((kline.openTime.timeIntervalSince1970 * 1_000).rounded()), high: Double(kline.high.description) ?? 0,
            low: Double(kline.low.description) ?? 0, close: Double(kline.close.description) ?? 0,
            volume: Double(kline.volume.description) ?? 0)
    }

}
