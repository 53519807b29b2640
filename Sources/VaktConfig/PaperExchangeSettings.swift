import Money

/// The paper exchange's market (`paper_exchange`): what it lists, how its prices move, the
/// account it starts with, its fees and its request limits. See docs/configuration.md.
public struct PaperExchangeSettings: Sendable, Equatable {
    public struct Market: Sendable, Equatable {
        public var symbol: String
        public var baseAsset: String
        public var quoteAsset: String
        public var tickSize: FixedDecimal
        public var stepSize: FixedDecimal
        public var minNotional: FixedDecimal
        public var startPrice: FixedDecimal
        /// What each of the simulator's price levels offers a taker per step.
        public var depthPerLevel: FixedDecimal
        /// Typical move per step, in millionths of the price.
        public var volatilityPPM: Int
        /// A Binance kline CSV whose prices are replayed instead of the random walk.
        public var replayFile: String?

        public init(
            symbol: String, baseAsset: String, quoteAsset: String, tickSize: FixedDecimal, stepSize: FixedDecimal,
            minNotional: FixedDecimal, startPrice: FixedDecimal, depthPerLevel: FixedDecimal, volatilityPPM: Int,
            replayFile: String? = nil
        ) {
            self.symbol = symbol
            self.baseAsset = baseAsset
            self.quoteAsset = quoteAsset
            self.tickSize = tickSize
            self.stepSize = stepSize
            self.minNotional = minNotional
            self.startPrice = startPrice
            self.depthPerLevel = depthPerLevel
            self.volatilityPPM = volatilityPPM
            self.replayFile = replayFile
        }
    }

    public var seed: Int
    /// One step of the price process, on the exchange's clock.
    public var step: Duration
    /// How many times faster than the wall clock the exchange's clock runs (1: real time).
    /// A soak test runs ten simulated minutes in seconds with it; clients must use the same.
    public var clockRate: Int
    /// Where a fast clock starts (ms since 1970); clients given the same origin and rate read
    /// the same time. Default: when the exchange starts.
    public var clockOrigin: Int64?
    public var makerCommission: FixedDecimal
    public var takerCommission: FixedDecimal
    public var balances: [String: FixedDecimal]
    public var markets: [Market]
    /// Binance's published limits by default.
    public var requestWeightPerMinute: Int
    public var ordersPer10Seconds: Int
    public var ordersPerDay: Int
    /// Faults injected from the start (`/admin/faults` changes them at run time).
    public var latency: Duration
    public var failEveryNthOrder: Int
    public var dropEveryNthOrder: Int
    public var dropHold: Duration

    public static let defaultMarkets = [
        Market(
            symbol: "BTCUSDT", baseAsset: "BTC", quoteAsset: "USDT", tickSize: FixedDecimal(1, scale: 2),
            stepSize: FixedDecimal(1, scale: 5),
            minNotional: FixedDecimal(5), startPrice: FixedDecimal(64_000), depthPerLevel: FixedDecimal(5, scale: 1), volatilityPPM: 100),
        Market(
            symbol: "ETHUSDT", baseAsset: "ETH", quoteAsset: "USDT", tickSize: FixedDecimal(1, scale: 2),
            stepSize: FixedDecimal(1, scale: 4),
            minNotional: FixedDecimal(5), startPrice: FixedDecimal(3_200), depthPerLevel: FixedDecimal(5), volatilityPPM: 150),
    ]

    init(reading section: ConfigReader.Section) {
        seed = section.int("seed", default: 1, in: 0...Int.max)
        step = section.duration("step", default: .seconds(1), in: .milliseconds(10)...(.seconds(60)))
        clockRate = section.int("clock_rate", default: 1, in: 1...1_000)
        clockOrigin = section.optionalInt("clock_origin", in: 0...Int.max).map(Int64.init)
        makerCommission = section.optionalDecimal("maker_commission") ?? FixedDecimal(1, scale: 3)
        takerCommission = section.optionalDecimal("taker_commission") ?? FixedDecimal(1, scale: 3)
        requestWeightPerMinute = section.int("request_weight_per_minute", default: 6_000, in: 1...1_000_000)
        ordersPer10Seconds = section.int("orders_per_10s", default: 100, in: 1...1_000_000)
        ordersPerDay = section.int("orders_per_day", default: 200_000, in: 1...100_000_000)
        for (key, rate) in [("maker_commission", makerCommission), ("taker_commission", takerCommission)] where rate >= FixedDecimal(1) {
            section.report(key, "\(rate) would take the whole trade; write a fraction (0.001 is 0.1%)")
        }

        let faults = section.section("faults")
        latency = faults.duration("latency", default: .zero, in: .zero...(.seconds(60)))
        failEveryNthOrder = faults.int("fail_every_nth_order", default: 0, in: 0...1_000_000)
        dropEveryNthOrder = faults.int("drop_every_nth_order", default: 0, in: 0...1_000_000)
        dropHold = faults.duration("drop_hold", default: .zero, in: .zero...(.seconds(600)))
        faults.finish()

        let balanceSection = section.section("balances")
        var balances: [String: FixedDecimal] = [:]
        for asset in balanceSection.keys {
            if let amount = balanceSection.optionalDecimal(asset) { balances[asset] = amount }
        }
        self.balances = balanceSection.isPresent ? balances : ["USDT": FixedDecimal(10_000)]

        let marketSection = section.section("markets")
        var markets: [Market] = []
        for symbol in marketSection.keys {
            let entry = marketSection.section(symbol)
            // BTCUSDT and ETHUSDT need only what differs from their defaults.
            let known = Self.defaultMarkets.first { $0.symbol == symbol }
            let base = entry.optionalString("base_asset") ?? known?.baseAsset
            let quote = entry.optionalString("quote_asset") ?? known?.quoteAsset
            if base == nil { entry.report("base_asset", "missing: the asset bought and sold, such as BTC") }
            if quote == nil { entry.report("quote_asset", "missing: the asset prices are in, such as USDT") }
            let startPrice = entry.optionalDecimal("start_price", atLeast: FixedDecimal(units: 1)) ?? known?.startPrice
            if startPrice == nil { entry.report("start_price", "missing: the price the market opens at") }
            if let base, let quote, let startPrice {
                if base + quote != symbol { entry.report("base_asset", "\(base) and \(quote) do not spell \(symbol)") }
                markets.append(
                    Market(
                        symbol: symbol, baseAsset: base, quoteAsset: quote,
                        tickSize: entry.optionalDecimal("tick_size", atLeast: FixedDecimal(units: 1)) ?? known?.tickSize
                            ?? FixedDecimal(1, scale: 2),
                        stepSize: entry.optionalDecimal("step_size", atLeast: FixedDecimal(units: 1)) ?? known?.stepSize
                            ?? FixedDecimal(1, scale: 5),
                        minNotional: entry.optionalDecimal("min_notional") ?? FixedDecimal(5), startPrice: startPrice,
                        depthPerLevel: entry.optionalDecimal("depth_per_level", atLeast: FixedDecimal(units: 1))
                            ?? known?.depthPerLevel ?? FixedDecimal(1),
                        volatilityPPM: entry.int("volatility_ppm", default: known?.volatilityPPM ?? 100, in: 0...100_000),
                        replayFile: entry.optionalString("replay_file")))
            }
            entry.finish()
        }
        self.markets = marketSection.isPresent ? markets : Self.defaultMarkets
        if marketSection.isPresent && markets.isEmpty { section.report("markets", "lists no market") }
        section.finish()
    }
}
