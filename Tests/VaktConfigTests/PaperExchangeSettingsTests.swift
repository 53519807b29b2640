import Money
import Testing

@testable import VaktConfig

/// The paper exchange's market settings: exact amounts, known markets needing only what
/// differs, and every mistake named by its path.
@Suite struct PaperExchangeSettingsTests {
    func parse(_ yaml: String, environment: [String: String] = [:]) throws(ConfigErrors) -> VaktConfiguration {
        try ConfigurationLoader.parse(yaml: yaml, file: "test.yaml", environment: environment)
    }

    @Test func defaultsAreBinancesMajorsAndAnOverrideChangesOneValue() throws {
        let defaults = try parse("").paperExchange
        #expect(defaults.markets.map(\.symbol) == ["BTCUSDT", "ETHUSDT"])
        #expect(defaults.balances == ["USDT": FixedDecimal(10_000)])
        #expect(defaults.takerCommission == FixedDecimal(1, scale: 3))
        let configured = try parse(
            """
            paper_exchange:
              balances: { USDT: "2500.50", BTC: 0.1 }
              markets:
                BTCUSDT: { start_price: "50000.25" }
                SOLUSDT: { base_asset: SOL, quote_asset: USDT, start_price: 150, tick_size: "0.01", step_size: "0.001", depth_per_level: 40 }
            """, environment: ["VAKT_PAPER_EXCHANGE__TAKER_COMMISSION": "0.00075"]
        ).paperExchange
        #expect(configured.balances == ["USDT": try FixedDecimal(parsing: "2500.50"), "BTC": FixedDecimal(1, scale: 1)])
        #expect(configured.markets.map(\.symbol) == ["BTCUSDT", "SOLUSDT"])
        #expect(configured.markets[0].startPrice == (try FixedDecimal(parsing: "50000.25")))
        #expect(configured.markets[0].stepSize == FixedDecimal(1, scale: 5))
        #expect(configured.markets[1].depthPerLevel == FixedDecimal(40))
        #expect(configured.takerCommission == FixedDecimal(75, scale: 5))
    }

    @Test func eachMistakeIsNamed() {
        let yaml = """
            paper_exchange:
              taker_commission: 1.5
              maker_commission: 0.1%
              balances: { USDT: -5 }
              markets:
                DOGEUSDT: { base_asset: DOGE, quote_asset: USDT }
                XRPUSDT: { base_asset: XRP, quote_asset: EUR, start_price: 1 }
                ETHUSDT: { start_price: 0, speed: 3 }
            """
        var messages: [String] = []
        do {
            _ = try parse(yaml)
        } catch {
            messages = error.errors.map(\.description)
        }
        let expected = [
            "paper_exchange.taker_commission: 1.5 would take the whole trade",
            "paper_exchange.maker_commission: expected a decimal number such as 0.001, got \"0.1%\"",
            "paper_exchange.balances.USDT: -5 is below the least allowed, 0",
            "paper_exchange.markets.DOGEUSDT.start_price: missing",
            "paper_exchange.markets.XRPUSDT.base_asset: XRP and EUR do not spell XRPUSDT",
            "paper_exchange.markets.ETHUSDT.start_price: 0 is below the least allowed",
            "paper_exchange.markets.ETHUSDT.speed: unknown key",
        ]
        for part in expected {
            #expect(messages.contains { $0.contains(part) }, "\(part) not in \(messages)")
        }
        #expect(messages.count == expected.count, "\(messages)")
    }
}

/// The market-data feed's settings: symbols and intervals checked against Binance's forms.
@Suite struct MarketDataSettingsTests {
    @Test func defaultsAndMistakes() throws {
        let defaults = try ConfigurationLoader.parse(yaml: "", file: "test.yaml", environment: [:]).marketData
        #expect(defaults.symbols == ["BTCUSDT", "ETHUSDT"] && defaults.intervals == ["1m"] && defaults.staleAfter == .seconds(15))
        var messages: [String] = []
        do {
            _ = try ConfigurationLoader.parse(
                yaml: "market_data:\n  symbols: [btcusdt]\n  intervals: [7m]\n  stale_after: 0s\n", file: "test.yaml", environment: [:])
        } catch {
            messages = error.errors.map(\.description)
        }
        #expect(messages.count == 3, "\(messages)")
        #expect(messages.contains { $0.contains("market_data.symbols: \"btcusdt\" is not a symbol such as \"BTCUSDT\"") }, "\(messages)")
        #expect(messages.contains { $0.contains("market_data.intervals: \"7m\" is not one of Binance's intervals") }, "\(messages)")
        #expect(messages.contains { $0.contains("market_data.stale_after") }, "\(messages)")
    }

    /// One rule for a symbol everywhere: ASCII only, so an upper-case letter from another
    /// alphabet, which Swift calls upper case, is refused too.
    @Test(arguments: ["BTCUSDT", "1INCHUSDT", String(repeating: "A", count: 20)])
    func symbolsInBinancesFormAreValid(_ symbol: String) {
        #expect(SymbolSyntax.isValid(symbol))
    }

    @Test(arguments: ["", "btcusdt", "BTC-USDT", "BTCÜSDT", "ВТСUSDT", String(repeating: "A", count: 21)])
    func anythingElseIsNotASymbolAndTheErrorNamesIt(_ text: String) {
        #expect(!SymbolSyntax.isValid(text))
        #expect(SymbolSyntax.problem(text).hasPrefix("\"\(text.prefix(40))\" is not a symbol"))
    }

    /// History, backfill and replay: defaults, and a replay that names no file for a symbol,
    /// a file for a symbol not followed, or an unknown key, refused naming each.
    @Test func historyAndReplay() throws {
        let defaults = try ConfigurationLoader.parse(yaml: "", file: "test.yaml", environment: [:]).marketData
        #expect(defaults.retention == .seconds(30 * 86_400) && defaults.historyOnStart == 500 && defaults.backfillLimit == 5_000)
        #expect(defaults.source == .exchange && defaults.replay.speed == 60 && defaults.replay.interval == "1m")
        let replay = try ConfigurationLoader.parse(
            yaml: """
                market_data:
                  symbols: [BTCUSDT]
                  source: replay
                  retention: 7d
                  replay: { files: { BTCUSDT: /data/BTCUSDT-1m.csv }, speed: 0 }
                """, file: "test.yaml", environment: [:]
        ).marketData
        #expect(replay.source == .replay && replay.replay.files == ["BTCUSDT": "/data/BTCUSDT-1m.csv"] && replay.replay.speed == 0)
        #expect(replay.retention == .seconds(7 * 86_400))
        var messages: [String] = []
        do {
            _ = try ConfigurationLoader.parse(
                yaml: """
                    market_data:
                      symbols: [BTCUSDT, ETHUSDT]
                      source: replay
                      replay: { files: { BTCUSDT: a.csv, XRPUSDT: b.csv }, interval: 2m, sped: 5 }
                    """, file: "test.yaml", environment: [:])
        } catch {
            messages = error.errors.map(\.description)
        }
        #expect(messages.count == 4, "\(messages)")
        #expect(messages.contains { $0.contains("market_data.replay.files: names no file for ETHUSDT") }, "\(messages)")
        #expect(messages.contains { $0.contains("market_data.replay.files: XRPUSDT is not one of market_data.symbols") }, "\(messages)")
        #expect(messages.contains { $0.contains("market_data.replay.interval: \"2m\" is not one of Binance's intervals") }, "\(messages)")
        #expect(messages.contains { $0.contains("market_data.replay.sped") }, "\(messages)")
    }

    /// The second venue for ticks: none unless configured; OKX's defaults; a failover slower
    /// than the staleness limit, an unknown venue, a bad URL and an unknown key, each named.
    @Test func fallbackVenue() throws {
        #expect(try ConfigurationLoader.parse(yaml: "", file: "test.yaml", environment: [:]).marketData.fallback == nil)
        let okx = try ConfigurationLoader.parse(yaml: "market_data:\n  fallback: { venue: okx }\n", file: "test.yaml", environment: [:])
            .marketData.fallback
        #expect(
            okx
                == MarketDataSettings.Fallback(
                    venue: .okx, baseURL: "https://www.okx.com", failoverAfter: .seconds(5), failbackAfter: .seconds(30),
                    pollInterval: .seconds(1)))
        var messages: [String] = []
        do {
            _ = try ConfigurationLoader.parse(
                yaml: """
                    market_data:
                      stale_after: 10s
                      fallback: { venue: kraken, base_url: "ftp://okx", failover_after: 10s, poll_every: 1s }
                    """, file: "test.yaml", environment: [:])
        } catch {
            messages = error.errors.map(\.description)
        }
        #expect(messages.count == 4, "\(messages)")
        #expect(messages.contains { $0.contains("market_data.fallback.venue") && $0.contains("kraken") }, "\(messages)")
        #expect(messages.contains { $0.contains("market_data.fallback.base_url: expected an http:// or https:// URL") }, "\(messages)")
        #expect(
            messages.contains { $0.contains("market_data.fallback.failover_after: must be shorter than market_data.stale_after") },
            "\(messages)")
        #expect(messages.contains { $0.contains("market_data.fallback.poll_every: unknown key") }, "\(messages)")
    }

    /// `execution.on_binance_down`: halt by default; failover with a second venue; failover
    /// without one, or an unknown policy, named.
    @Test func executionOnBinanceDown() throws {
        let defaults = try ConfigurationLoader.parse(yaml: "", file: "test.yaml", environment: [:]).execution
        #expect(defaults.onBinanceDown == .halt && defaults.failoverAfter == .seconds(10) && defaults.failbackAfter == .seconds(60))
        let failover = try ConfigurationLoader.parse(
            yaml: "market_data:\n  fallback: { venue: okx }\nexecution:\n  on_binance_down: failover\n  failback_after: 2m\n",
            file: "test.yaml", environment: [:]
        ).execution
        #expect(failover.onBinanceDown == .failover && failover.failbackAfter == .seconds(120))
        for (yaml, named) in [
            ("execution:\n  on_binance_down: failover\n", "execution.on_binance_down: failover needs market_data.fallback"),
            ("execution:\n  on_binance_down: retry\n", "execution.on_binance_down"),
            ("market_data:\n  fallback: { venue: okx }\nexecution:\n  failover_after: 0s\n", "execution.failover_after"),
        ] {
            var messages: [String] = []
            do {
                _ = try ConfigurationLoader.parse(yaml: yaml, file: "test.yaml", environment: [:])
            } catch {
                messages = error.errors.map(\.description)
            }
            #expect(messages.count == 1 && messages[0].contains(named), "\(yaml): \(messages)")
        }
    }
}

/// The AI engine's settings: its interval must be one market data follows; it cannot need more
/// klines to train than it keeps.
@Suite struct AIEngineSettingsTests {
    @Test func defaultsAndMistakes() throws {
        let defaults = try ConfigurationLoader.parse(yaml: "", file: "test.yaml", environment: [:]).aiEngine
        #expect(defaults.interval == "1m" && defaults.historyBars == 3_000 && defaults.minimumTrainingBars == 300)
        #expect(defaults.retrainEvery == 1_000 && defaults.signalLifetime == .seconds(120))
        var messages: [String] = []
        do {
            _ = try ConfigurationLoader.parse(
                yaml: "ai_engine:\n  interval: 5m\n  history_bars: 200\n  minimum_training_bars: 400\n", file: "test.yaml",
                environment: [:])
        } catch {
            messages = error.errors.map(\.description)
        }
        #expect(messages.count == 2, "\(messages)")
        #expect(messages.contains { $0.contains("ai_engine.interval: \"5m\" is not one of market_data.intervals (1m)") }, "\(messages)")
        #expect(messages.contains { $0.contains("ai_engine.minimum_training_bars: 400 is more than history_bars (200)") }, "\(messages)")
    }
}

/// RL training's settings: defaults, and a drift window no shorter than the history refused.
@Suite struct TrainingSettingsTests {
    @Test func defaultsAndMistakes() throws {
        let defaults = try ConfigurationLoader.parse(yaml: "", file: "test.yaml", environment: [:]).training
        #expect(defaults.checkInterval == .seconds(60) && defaults.historyBars == 3_000 && defaults.heldOut == 0.2)
        #expect(defaults.driftWindow == 300 && defaults.promotionMargin == 0.001 && defaults.minimumAccuracy == 0.45)
        var messages: [String] = []
        do {
            _ = try ConfigurationLoader.parse(
                yaml: "training:\n  history_bars: 300\n  drift_window: 300\n  held_out: 0.9\n", file: "test.yaml", environment: [:])
        } catch {
            messages = error.errors.map(\.description)
        }
        #expect(messages.count == 2, "\(messages)")
        #expect(messages.contains { $0.contains("training.drift_window: 300 is not less than history_bars (300)") }, "\(messages)")
        #expect(messages.contains { $0.contains("training.held_out") }, "\(messages)")
    }
}
