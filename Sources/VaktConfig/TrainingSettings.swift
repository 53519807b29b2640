/// RL training's settings (`training`): how often it checks the live models, on how much
/// history it trains and evaluates, and when a candidate replaces the live model. Symbols and
/// the interval are the AI engine's. See docs/configuration.md.
public struct TrainingSettings: Sendable, Equatable {
    /// How often each symbol's live model is checked for drift and age.
    public var checkInterval: Duration
    /// The latest klines a training run uses (the newest `held_out` share is kept for the
    /// evaluation).
    public var historyBars: Int
    /// The share of the history held out to evaluate a candidate against the live model.
    public var heldOut: Double
    /// The recent klines whose features are compared with the live model's training window.
    public var driftWindow: Int
    /// A candidate is promoted only if its log loss on the held-out klines is lower than the
    /// live model's by at least this.
    public var promotionMargin: Double
    /// A live model older than this is retrained on schedule.
    public var retrainAfter: Duration
    /// A live model whose direction accuracy over the last `drift_window` klines falls below
    /// this is retrained (performance decay).
    public var minimumAccuracy: Double

    init(reading section: ConfigReader.Section) {
        checkInterval = section.duration("check_interval", default: .seconds(60), in: .milliseconds(100)...(.seconds(86_400)))
        historyBars = section.int("history_bars", default: 3_000, in: 200...100_000)
        heldOut = section.double("held_out", default: 0.2, in: 0.05...0.5)
        driftWindow = section.int("drift_window", default: 300, in: 50...100_000)
        promotionMargin = section.double("promotion_margin", default: 0.001, in: 0...1)
        minimumAccuracy = section.double("minimum_accuracy", default: 0.45, in: 0...1)
        retrainAfter = section.duration("retrain_after", default: .seconds(6 * 3_600), in: .seconds(60)...(.seconds(365 * 86_400)))
        if driftWindow >= historyBars { section.report("drift_window", "\(driftWindow) is not less than history_bars (\(historyBars))") }
        section.finish()
    }
}
