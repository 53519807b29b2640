import Binance
import BinanceAdapter
import EventBus
import Foundation
import Logging
import Metrics
import Money
import OKXAdapter
import ServiceKit
import Synchronization
import VaktConfig

/// The portfolio's effectful shell around the pure ``Ledger`` and ``PeriodPnL``: opened from
/// the journal (or, the first time, from the exchange's balances), fills booked once each
/// (journal first, then the ledger), market prices marked, snapshots written and published,
/// positions compared with the exchange's balances.
final class PortfolioBook: Sendable {
    struct State {
        var ledger: Ledger?
        var periods = PeriodPnL()
        var journaled = 0
        /// The last journal row the ledger has booked.
        var bookedThrough: Int64 = 0
        /// Realized PnL per symbol when the UTC day began (`position.updated`'s `realizedPnl`
        /// is since then).
        var realizedAtDayStart: [String: FixedDecimal] = [:]
        var day: Date?
        /// Assets whose balance at the exchange differed from the ledger's, at two checks in a
        /// row (one may catch a fill on its way): asset, ledger, exchange.
        var differences: [(asset: String, ledger: FixedDecimal, exchange: FixedDecimal)] = []
        var suspected: [String] = []
        var lastReconciled: Date?
    }

    let settings: PortfolioSettings
    let exchange: ExchangeAccess
    /// The second venue's account, when execution may fail over to it: its balances count
    /// beside Binance's.
    let secondVenue: OKXClient?
    let journal: TradeJournal
    let events: EventPublisher
    let logger: Logger
    let source: String
    let clock: @Sendable () -> Date
    let state = Mutex(State())
    /// Opens once the ledger is loaded; fills wait for it.
    let opened = StartupGate<Void>()
    let statusUpdates: AsyncStream<String>
    private let statusContinuation: AsyncStream<String>.Continuation

    init(
        settings: PortfolioSettings, exchange: ExchangeAccess, secondVenue: OKXClient? = nil, journal: TradeJournal,
        events: EventPublisher, logger: Logger, source: String, clock: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.settings = settings
        self.exchange = exchange
        self.secondVenue = secondVenue
        self.journal = journal
        self.events = events
        self.logger = logger
        self.source = source
        self.clock = clock
        (statusUpdates, statusContinuation) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingNewest(1))
        // No difference known until the first comparison.
        Gauge(label: "vakt_portfolio_balance_difference", dimensions: [("asset", settings.account)]).record(0)
    }

    var client: BinanceClient { exchange.client }

    /// The venues whose accounts the ledger is the sum of.
    var venues: [TradingVenue] { secondVenue == nil ? [.binance] : [.binance, .okx] }

    /// One venue's balances, as Binance words them.
    func balances(of venue: TradingVenue) async throws -> [BalanceReport] {
        switch venue {
        case .binance: return try await client.balances()
        case .okx:
            guard let secondVenue else { return [] }
            return try await secondVenue.balances().map { BalanceReport(asset: $0.ccy, free: $0.available, locked: $0.frozen) }
        }
    }

    // MARK: - Opening

    /// Opens the ledger: from the journal when there is one (replayed exactly), otherwise
    /// from the exchange's balances now. Retries until it can; fills wait meanwhile.
    func open() async {
        await exchange.waitUntilConnected()
        var delay = Duration.milliseconds(500)
        while !Task.isCancelled {
            do {
                let ledger = try await load()
                state.withLock { state in
                    state.ledger = ledger
                    state.periods.observe((try? ledger.equity) ?? .zero, at: clock())
                }
                opened.open(())
                logger.notice(
                    "portfolio opened",
                    metadata: ["equity": "\((try? ledger.equity)?.description ?? "?")", "fills": "\(ledger.fills)"])
                await reconcile()
                return
            } catch {
                logger.warning("could not open the portfolio; retrying", metadata: ["error": "\(PostgresErrorText.describe(error))"])
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(10))
            }
        }
    }

    private func load() async throws -> Ledger {
        var openings = try await journal.openings()
        // A venue without an opening (the first start, or failover newly configured) opens
        // from its balances now.
        for venue in venues where openings[venue] == nil {
            let opening = try await openFromExchange(venue)
            try await journal.open(opening, venue: venue)
            openings[venue] = opening
        }
        var cash = FixedDecimal.zero
        for opening in openings.values { cash = try cash + opening.cash }
        // The account asset the journal opened in (Binance's opening was the first).
        var ledger = Ledger(account: openings[.binance]?.account ?? settings.account, cash: cash)
        for (_, opening) in openings.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            for holding in opening.holdings { try ledger.open(symbol: holding.symbol, quantity: holding.quantity, at: holding.price) }
        }
        var after: Int64 = 0
        var count = 0
        while true {
            let page = try await journal.trades(after: after, limit: 10_000)
            for (id, fill) in page {
                guard let assets = client.assets(of: fill.symbol) else { throw LedgerError.arithmetic("\(fill.symbol) is not listed") }
                try ledger.apply(fill, assets: assets)
                after = id
            }
            count += page.count
            if page.count < 10_000 { break }
        }
        state.withLock {
            $0.journaled = count
            $0.bookedThrough = after
        }
        return ledger
    }

    private func openFromExchange(_ venue: TradingVenue) async throws -> TradeJournal.Opening {
        let balances = try await balances(of: venue)
        let account = settings.account
        var cash = FixedDecimal.zero
        var holdings: [TradeJournal.Opening.Holding] = []
        for balance in balances {
            let amount = try balance.free + balance.locked
            if balance.asset == account {
                cash = amount
            } else if amount > .zero, client.rules(for: balance.asset + account) != nil {
                let symbol = balance.asset + account
                holdings.append(
                    .init(asset: balance.asset, symbol: symbol, quantity: amount, price: try await client.lastPrice(symbol: symbol)))
            }
        }
        logger.notice(
            "portfolio opened from the exchange's balances",
            metadata: ["venue": "\(venue.rawValue)", "cash": "\(cash) \(account)", "holdings": "\(holdings.count)"])
        return TradeJournal.Opening(account: account, cash: cash, holdings: holdings, openedAt: clock())
    }

    // MARK: - Fills and prices

    /// `order.partially_filled` and `order.filled`: journaled once (by venue, symbol and trade id),
    /// then booked. A fill the ledger cannot book throws, naming why, before anything changes.
    func book(_ event: EventEnvelope) async throws {
        let fill: Fill =
            event.type == .orderFilled ? try event.decode(OrderFilled.self).fill : try event.decode(OrderPartiallyFilled.self).fill
        let entry = LedgerFill(fill, time: event.occurredAt)
        await opened.wait()
        guard let assets = client.assets(of: fill.symbol) else {
            throw LedgerError.otherQuote(symbol: fill.symbol, quote: "an unlisted asset", account: settings.account)
        }
        // Checked on a copy first: a fill that cannot be booked is not journaled either.
        try state.withLock { state in
            var copy = state.ledger!
            try copy.apply(entry, assets: assets)
        }
        // PostgreSQL down: the consumer holds this fill and retries it until the journal takes it.
        let journal = self.journal
        guard let id = try await PostgresOutage.surfaced({ try await journal.record(entry) }) else {
            // Journaled already: by a delivery booked before, or by a write PostgreSQL committed
            // and then crashed before answering; the ledger has not booked that one yet.
            try await PostgresOutage.surfaced { [self] in try await catchUp() }
            return
        }
        try await booked(entry, journalId: id, assets: assets)
    }

    /// Books the journal's rows the ledger has not (see ``book(_:)``), in journal order.
    private func catchUp() async throws {
        while true {
            let after = state.withLock(\.bookedThrough)
            let page = try await journal.trades(after: after, limit: 1_000)
            for (id, fill) in page {
                guard let assets = client.assets(of: fill.symbol) else { throw LedgerError.arithmetic("\(fill.symbol) is not listed") }
                logger.notice(
                    "booking a fill journaled without an answer (PostgreSQL went away after the write)",
                    metadata: ["symbol": "\(fill.symbol)", "trade_id": "\(fill.tradeId)"])
                try await booked(fill, journalId: id, assets: assets)
            }
            if page.count < 1_000 { return }
        }
    }

    /// A journaled fill into the ledger, then announced (`position.updated`) and counted.
    private func booked(_ fill: LedgerFill, journalId: Int64, assets: SymbolAssets) async throws {
        let position = try state.withLock { state -> Position in
            try state.ledger!.apply(fill, assets: assets)
            state.journaled += 1
            state.bookedThrough = max(state.bookedThrough, journalId)
            rollDay(&state)
            return state.ledger!.positions[fill.symbol]!
        }
        let realizedToday = state.withLock { (try? position.realized - ($0.realizedAtDayStart[fill.symbol] ?? .zero)) ?? .zero }
        let average = position.averagePrice ?? .zero
        do {
            try await events.publish(
                EventEnvelope(
                    PositionUpdated(
                        symbol: fill.symbol, quantity: Quantity(position.quantity.magnitude), averagePrice: Price(average.value.magnitude),
                        realizedPnl: Money(realizedToday)),
                    source: source))
        } catch {
            logger.error("could not publish position.updated", metadata: ["error": "\(error)"])
        }
        Gauge(label: "vakt_portfolio_position_quantity", dimensions: [("symbol", fill.symbol)]).record(Self.number(position.quantity))
        Counter(label: "vakt_portfolio_fills_total").increment()
    }

    /// `market.tick`: the symbol's price, for unrealized PnL and equity.
    func mark(_ event: EventEnvelope) throws {
        let tick = try event.decode(MarketTick.self)
        state.withLock { $0.ledger?.mark(tick.symbol, at: tick.price) }
    }

    /// At a new UTC day, each symbol's realized PnL so far becomes the day's baseline.
    private func rollDay(_ state: inout State) {
        let day = PeriodPnL.start(of: .day, containing: clock())
        guard state.day != day, let ledger = state.ledger else { return }
        state.day = day
        state.realizedAtDayStart = ledger.positions.mapValues(\.realized)
    }

    // MARK: - Snapshots

    /// Equity, PnL by period, peak and drawdown: written to PostgreSQL and published as
    /// `portfolio.snapshot` (which the ESS reads).
    func snapshot() async {
        let now = clock()
        let taken = state.withLock { state -> TradeJournal.Snapshot? in
            guard let ledger = state.ledger, let equity = try? ledger.equity, let realized = try? ledger.realized,
                let unrealized = try? ledger.unrealized, let fees = try? ledger.fees, let exposure = try? ledger.exposure
            else { return nil }
            rollDay(&state)
            state.periods.observe(equity, at: now)
            return TradeJournal.Snapshot(
                time: now, equity: equity, cash: ledger.cash, realized: realized, unrealized: unrealized, fees: fees, exposure: exposure,
                peak: state.periods.peak ?? equity, drawdown: state.periods.drawdown, day: state.periods.pnl(.day),
                week: state.periods.pnl(.week), month: state.periods.pnl(.month))
        }
        guard let taken else { return }
        record(taken)
        do {
            try await journal.write(taken)
        } catch {
            logger.warning("could not write a portfolio snapshot", metadata: ["error": "\(PostgresErrorText.describe(error))"])
        }
        if taken.equity >= .zero {
            do {
                try await events.publish(
                    EventEnvelope(PortfolioSnapshot(equity: Money(taken.equity), dailyPnl: Money(taken.day)), source: source))
            } catch {
                logger.error("could not publish portfolio.snapshot", metadata: ["error": "\(error)"])
            }
        }
        let (positions, trades, differences) = state.withLock { state in
            (state.ledger?.positions.values.filter { !$0.quantity.isZero }.count ?? 0, state.journaled, state.differences.count)
        }
        statusContinuation.yield(
            "equity \(taken.equity) \(settings.account) (day \(taken.day), drawdown \(taken.drawdown)); \(positions) positions; "
                + "\(trades) fills; " + (differences == 0 ? "balances match" : "\(differences) balances differ from the exchange's"))
    }

    private func record(_ snapshot: TradeJournal.Snapshot) {
        for (name, value) in [
            ("equity", snapshot.equity), ("cash", snapshot.cash), ("realized_pnl", snapshot.realized),
            ("unrealized_pnl", snapshot.unrealized), ("fees", snapshot.fees), ("exposure", snapshot.exposure),
            ("peak_equity", snapshot.peak), ("drawdown_ratio", snapshot.drawdown),
        ] {
            Gauge(label: "vakt_portfolio_\(name)").record(Self.number(value))
        }
        for (period, value) in [("day", snapshot.day), ("week", snapshot.week), ("month", snapshot.month)] {
            Gauge(label: "vakt_portfolio_pnl", dimensions: [("period", period)]).record(Self.number(value))
        }
    }

    static func number(_ value: FixedDecimal) -> Double { Double(value.description) ?? 0 }

    // MARK: - Reconciliation

    /// Compares the ledger's cash and positions with the exchange's balances; a difference
    /// seen at two checks in a row is reported (`portfolio:balances` in `/health`, the gauge
    /// `vakt_portfolio_balance_difference`, an error in the log).
    func reconcile() async {
        guard state.withLock({ $0.ledger != nil }) else { return }
        // The ledger is every venue's account together.
        var exchangeAmounts: [String: FixedDecimal] = [:]
        for venue in venues {
            do {
                for balance in try await balances(of: venue) {
                    let amount = (try? balance.free + balance.locked) ?? balance.free
                    exchangeAmounts[balance.asset] = (try? (exchangeAmounts[balance.asset] ?? .zero) + amount) ?? amount
                }
            } catch {
                logger.warning("could not read the exchange's balances", metadata: ["venue": "\(venue.rawValue)", "error": "\(error)"])
                return
            }
        }
        let found = state.withLock { state -> [(asset: String, ledger: FixedDecimal, exchange: FixedDecimal)] in
            guard let ledger = state.ledger else { return [] }
            var expected: [String: FixedDecimal] = [ledger.account: ledger.cash]
            for position in ledger.positions.values {
                guard let base = client.assets(of: position.symbol)?.base else { continue }
                expected[base] = (try? (expected[base] ?? .zero) + position.quantity) ?? position.quantity
            }
            var differences: [(asset: String, ledger: FixedDecimal, exchange: FixedDecimal)] = []
            for asset in expected.keys.sorted() {
                let ours = expected[asset] ?? .zero
                let theirs = exchangeAmounts[asset] ?? .zero
                if ours != theirs { differences.append((asset, ours, theirs)) }
            }
            let assets = differences.map(\.asset)
            let confirmed = differences.filter { state.suspected.contains($0.asset) }
            state.suspected = assets
            state.differences = confirmed
            state.lastReconciled = clock()
            return confirmed
        }
        for (asset, ours, theirs) in found {
            logger.error(
                "position differs from the exchange's balance",
                metadata: ["asset": "\(asset)", "ledger": "\(ours)", "exchange": "\(theirs)"])
        }
        let assets = Set(exchangeAmounts.keys).union(found.map { $0.asset })
        for asset in assets {
            var difference = FixedDecimal.zero
            if let entry = found.first(where: { $0.asset == asset }) { difference = (try? entry.exchange - entry.ledger) ?? .zero }
            Gauge(label: "vakt_portfolio_balance_difference", dimensions: [("asset", asset)]).record(Self.number(difference))
        }
    }
}
