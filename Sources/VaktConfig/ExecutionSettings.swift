import Money

/// Execution's settings (`execution`): the signal queue's bound, how an order is sized and
/// priced, how long a resting remainder waits before it is re-priced, and the exits placed
/// after an entry fills. The risk limits themselves are the risk policy's. See
/// docs/configuration.md.
public struct ExecutionSettings: Sendable, Equatable {
    /// Signals waiting at most; past it the lowest-confidence signal is dropped.
    public var queueCapacity: Int
    /// The share of the policy's largest order a signal without a size gets.
    public var defaultSize: FixedDecimal
    /// The furthest a fill may be from the signal's reference price, as a share of it (0.002
    /// is 0.2%): an entry is a limit order at that distance, so it never fills beyond it.
    public var maxSlippage: FixedDecimal
    /// An entry's unfilled remainder is canceled after this, and re-priced.
    public var orderTimeout: Duration
    /// How many times a remainder is re-priced (at the market then, within `max_slippage` of
    /// it and within the policy's price collar of the signal's price) before it is dropped.
    public var maxReprices: Int
    /// The exits placed once an entry (a buy) fills, as shares of its average price; 0 places
    /// none.
    public var takeProfit: FixedDecimal
    public var stopLoss: FixedDecimal
    /// What new orders do while Binance cannot take them (banned, or silent for
    /// `failoverAfter`): wait, or go to the second venue (`market_data.fallback`'s).
    public var onBinanceDown: OnBinanceDown
    public var failoverAfter: Duration
    /// Binance answering again, without a ban, this long: new orders go back to it.
    public var failbackAfter: Duration

    /// `execution.on_binance_down`.
    public enum OnBinanceDown: String, Sendable, Equatable, CaseIterable {
        /// New orders wait until Binance takes orders again.
        case halt
        /// New orders go to the second venue, once no order on Binance awaits reconciliation.
        case failover
    }

    public init(
        queueCapacity: Int = 100, defaultSize: FixedDecimal = FixedDecimal(5, scale: 1),
        maxSlippage: FixedDecimal = FixedDecimal(2, scale: 3),
        orderTimeout: Duration = .seconds(10), maxReprices: Int = 2, takeProfit: FixedDecimal = FixedDecimal(1, scale: 2),
        stopLoss: FixedDecimal = FixedDecimal(1, scale: 2), onBinanceDown: OnBinanceDown = .halt,
        failoverAfter: Duration = .seconds(10), failbackAfter: Duration = .seconds(60)
    ) {
        self.onBinanceDown = onBinanceDown
        self.failoverAfter = failoverAfter
        self.failbackAfter = failbackAfter
        self.queueCapacity = queueCapacity
        self.defaultSize = defaultSize
        self.maxSlippage = maxSlippage
        self.orderTimeout = orderTimeout
        self.maxReprices = maxReprices
        self.takeProfit = takeProfit
        self.stopLoss = stopLoss
    }

    /// - Parameter marketData: failing over needs its `fallback`: the second venue's address.
    init(reading section: ConfigReader.Section, marketData: MarketDataSettings) {
        let defaults = ExecutionSettings()
        queueCapacity = section.int("queue_capacity", default: defaults.queueCapacity, in: 1...100_000)
        defaultSize = Self.share(section, "default_size", default: defaults.defaultSize)
        maxSlippage = Self.share(section, "max_slippage", default: defaults.maxSlippage)
        orderTimeout = section.duration("order_timeout", default: defaults.orderTimeout, in: .milliseconds(100)...(.seconds(86_400)))
        maxReprices = section.int("max_reprices", default: defaults.maxReprices, in: 0...20)
        takeProfit = Self.share(section, "take_profit", default: defaults.takeProfit)
        stopLoss = Self.share(section, "stop_loss", default: defaults.stopLoss)
        onBinanceDown = section.choice("on_binance_down", default: defaults.onBinanceDown)
        failoverAfter = section.duration("failover_after", default: defaults.failoverAfter, in: .seconds(1)...(.seconds(3_600)))
        failbackAfter = section.duration("failback_after", default: defaults.failbackAfter, in: .zero...(.seconds(86_400)))
        if onBinanceDown == .failover, marketData.fallback == nil {
            section.report(
                "on_binance_down", "failover needs market_data.fallback: the second venue's address (and its okx_* secrets)")
        }
        section.finish()
    }

    /// A share from 0 to 1.
    static func share(_ section: ConfigReader.Section, _ key: String, default value: FixedDecimal) -> FixedDecimal {
        guard let read = section.optionalDecimal(key) else { return value }
        guard read <= FixedDecimal(1) else {
            section.report(key, "\(read) is more than 1 (a share: 0.01 is 1%)")
            return value
        }
        return read
    }
}

/// The portfolio's settings (`portfolio`): the account's currency, and how often it snapshots
/// and checks its positions against the exchange's balances. See docs/configuration.md.
public struct PortfolioSettings: Sendable, Equatable {
    /// The quote asset the account is kept in (every traded symbol is priced in it).
    public var account: String
    /// How often equity, PnL and drawdown are written to PostgreSQL and published.
    public var snapshotInterval: Duration
    /// How often positions are compared with the exchange's balances (a difference alerts).
    public var reconcileInterval: Duration

    init(reading section: ConfigReader.Section) {
        account = section.string("account", default: "USDT")
        snapshotInterval = section.duration("snapshot_interval", default: .seconds(10), in: .milliseconds(100)...(.seconds(3_600)))
        reconcileInterval = section.duration("reconcile_interval", default: .seconds(60), in: .seconds(1)...(.seconds(86_400)))
        section.finish()
    }
}
