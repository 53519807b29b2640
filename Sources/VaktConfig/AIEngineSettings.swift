/// The AI engine's settings (`ai_engine`): the kline interval it predicts (of
/// `market_data.intervals`), how much history it trains on, and how long a signal lives. See
/// docs/configuration.md.
public struct AIEngineSettings: Sendable, Equatable {
    /// The interval of the closed klines it predicts the next of.
    public var interval: String
    /// How many of the latest klines per symbol it trains on (and keeps in memory).
    public var historyBars: Int
    /// Fewer klines than this and it does not train: no models, no signals.
    public var minimumTrainingBars: Int
    /// Trained again on the latest history after this many new klines of a symbol.
    public var retrainEvery: Int
    /// How long a signal may be traded after it is published.
    public var signalLifetime: Duration

    init(reading section: ConfigReader.Section, marketData: MarketDataSettings) {
        interval = section.string("interval", default: marketData.intervals.first ?? "1m")
        historyBars = section.int("history_bars", default: 3_000, in: 100...100_000)
        minimumTrainingBars = section.int("minimum_training_bars", default: 300, in: 50...100_000)
        retrainEvery = section.int("retrain_every", default: 1_000, in: 10...1_000_000)
        signalLifetime = section.duration("signal_lifetime", default: .seconds(120), in: .seconds(1)...(.seconds(86_400)))
        if !marketData.intervals.contains(interval) {
            section.report(
                "interval", "\"\(interval)\" is not one of market_data.intervals (\(marketData.intervals.joined(separator: ", ")))")
        }
        if minimumTrainingBars > historyBars {
            section.report("minimum_training_bars", "\(minimumTrainingBars) is more than history_bars (\(historyBars))")
        }
        section.finish()
    }
}
