import Binance
import BinanceAdapter
import EventBus
import Foundation
import Logging
import Money
import OKXAdapter
import ServiceKit
import Synchronization
import VaktConfig

/// What the service shows of the executor: `/health`, `/api/execution`, `vakt status`.
struct ExecutionView: Sendable {
    var counts = SignalQueue.Counts()
    var capacity: Int
    var open = 0
    /// Orders whose outcome at the exchange is not known (sent, no answer; or written and
    /// perhaps sent by a process that died).
    var awaitingReconciliation = 0
    /// True from start until every order left open by an earlier run is resolved: no signal
    /// is traded meanwhile.
    var reconciling = true
    /// Order changes PostgreSQL has not taken yet: no signal is traded until it has.
    var unwritten = 0
    var armedExits = 0
    /// Why new orders wait (``OrderVenuePolicy``), while they do.
    var holding: String?
    /// Where new orders go.
    var serving = TradingVenue.binance
}

/// Execution's effectful shell around its pure parts (``SignalQueue``, ``EntryPlanner``,
/// ``OrderMachine``): signals in, orders out through the outbox (``OrderStore``) to the
/// exchange, reports back from the user data stream, `order.*` events out.
///
/// Every change to an order happens on one loop, one command at a time (a signal's turn, an
/// order update, a market price for the exits, a maintenance tick), so reports for one order
/// never race each other; only the intake (the queue) and the market prices are shared.
final class OrderExecutor: Sendable {
    enum Command: Sendable {
        case signals
        case update(OrderUpdate)
        case marks
        case maintain
        case close(CloseRequest)

        /// Signals, prices and maintenance are coalesced: one waiting is enough. Updates are not.
        var coalescingKey: String? {
            switch self {
            case .signals: "signals"
            case .marks: "marks"
            case .maintain: "maintain"
            case .update, .close: nil
            }
        }
    }

    /// The loop's own state.
    struct Book {
        /// Orders not final, and filled buys with armed exits.
        var open: [String: StoredOrder] = [:]
        /// When each recent order was sent (for orders per minute).
        var sent: [Date] = []
        /// Each venue's balances as last read, less what orders sent since locked.
        var accounts: [TradingVenue: VenueAccount] = [:]
        var reconciling = true
        /// Where new orders go, and why they wait while they do.
        var venuePolicy: OrderVenuePolicy
        var holding: String?
        /// When each open order on a venue without a user data stream (OKX) was last read.
        var polledAt: [String: Date] = [:]
        /// When the second venue's instruments were last asked for.
        var secondVenueTriedAt: Date?
        /// Orders whose latest change PostgreSQL could not take, with the fills still to write
        /// (see ``OrderExecutor/write(_:fills:_:)``).
        var unwritten: [String: [RecordedFill]] = [:]
        /// Reports for orders no longer in the book that could not be looked up in PostgreSQL:
        /// applied once it answers. At most ``OrderExecutor/deferredUpdateLimit``.
        var deferredUpdates: [OrderUpdate] = []
        /// After a refused write, when the next may be tried (backing off 0.5 s to 5 s).
        var writesRetryAt: Date?
        var writeBackoff: TimeInterval = 0
        /// Orders to stop now (a fill beyond the slippage limit), and exits refused lately.
        var stopNow: Set<String> = []
        var exitRetryAfter: [String: Date] = [:]
        var lastDropReport = Date.distantPast
    }

    /// One venue's account as the executor knows it.
    struct VenueAccount {
        /// Free to trade, and held in all (free and locked in orders).
        var free: [String: FixedDecimal] = [:]
        var held: [String: FixedDecimal] = [:]
        /// When they were read; nil: to be read again (an order changed them).
        var readAt: Date?
        /// The venue's last answer to a balances read (not cleared when they are to be read
        /// again): the second venue is ready while it answered lately.
        var answeredAt: Date?
        /// Since when reading them has failed (logged once when it starts and once when it ends),
        /// and when it was last tried.
        var failingSince: Date?
        var triedAt: Date?
    }

    struct Drops {
        var counts: [SignalQueue.DropReason: Int] = [:]
        var lastSymbol = ""
        var since: Date
    }

    let settings: ExecutionSettings
    let exchange: ExchangeAccess
    let store: OrderStore
    let events: EventPublisher
    let guards: TradingGuards
    let pauses: SymbolPauses
    let logger: Logger
    let source: String
    let metrics: ExecutionMetrics
    let clock: @Sendable () -> Date
    let queue: Mutex<SignalQueue>
    let marks = Mutex<[String: Price]>([:])
    let view: Mutex<ExecutionView>
    let drops: Mutex<Drops>
    let closeReplies = Mutex(CloseReplies())
    private let pending = Mutex<Set<String>>([])
    private let commands: AsyncStream<Command>
    private let continuation: AsyncStream<Command>.Continuation
    let statusUpdates: AsyncStream<String>
    private let statusContinuation: AsyncStream<String>.Continuation

    var client: BinanceClient { exchange.client }

    /// The second venue, once its instruments are read (with `execution.on_binance_down:
    /// failover`).
    let secondVenue = Mutex<OKXOrderVenue?>(nil)
    let okx: OKXClient?

    /// The venues orders can be placed on: Binance always, OKX once ready.
    var venues: [TradingVenue: any OrderVenue] {
        var venues: [TradingVenue: any OrderVenue] = [.binance: exchange.client]
        if let second = secondVenue.withLock({ $0 }) { venues[.okx] = second }
        return venues
    }

    /// Where an order of `venue` is placed, looked up and canceled.
    func orderVenue(_ venue: TradingVenue) throws(ExchangeError) -> any OrderVenue {
        guard let found = venues[venue] else { throw .unreachable("\(venue.rawValue) is not configured for orders") }
        return found
    }

    init(
        settings: ExecutionSettings, exchange: ExchangeAccess, store: OrderStore, events: EventPublisher, guards: TradingGuards,
        pauses: SymbolPauses, logger: Logger, source: String, okx: OKXClient? = nil,
        clock: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.settings = settings
        self.okx = okx
        self.exchange = exchange
        self.store = store
        self.events = events
        self.guards = guards
        self.pauses = pauses
        self.logger = logger
        self.source = source
        self.clock = clock
        metrics = ExecutionMetrics(capacity: settings.queueCapacity)
        queue = Mutex(SignalQueue(capacity: settings.queueCapacity))
        view = Mutex(ExecutionView(capacity: settings.queueCapacity))
        drops = Mutex(Drops(since: clock()))
        (commands, continuation) = AsyncStream.makeStream(of: Command.self)
        (statusUpdates, statusContinuation) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingNewest(1))
    }

    // MARK: - Intake

    /// `signal.generated`: into the queue (a malformed payload throws, naming the field, and
    /// the consumer dead-letters it).
    func receive(_ event: EventEnvelope) throws {
        let signal = try event.decode(SignalGenerated.self)
        let now = clock()
        // The counts reach the metrics when the loop takes the wake-up (publishView), not per signal.
        let dropped = queue.withLock { $0.offer(SignalQueue.Entry(id: event.id, signal: signal, receivedAt: now), now: now) }
        note(dropped.map { ($0.0.signal.symbol, $0.1) })
        wake(.signals)
    }

    /// `market.tick`: the latest price, for the checks, re-prices and exits.
    func mark(_ event: EventEnvelope) throws {
        let tick = try event.decode(MarketTick.self)
        marks.withLock { $0[tick.symbol] = tick.price }
        wake(.marks)
    }

    func note(_ dropped: [(symbol: String, reason: SignalQueue.DropReason)]) {
        guard !dropped.isEmpty else { return }
        drops.withLock { drops in
            for (symbol, reason) in dropped {
                drops.counts[reason, default: 0] += 1
                drops.lastSymbol = symbol
            }
        }
    }

    /// Queues a command; signals, prices and maintenance are coalesced (one waiting is enough).
    func wake(_ command: Command) {
        if let key = command.coalescingKey, !pending.withLock({ $0.insert(key).inserted }) { return }
        continuation.yield(command)
    }

    private func taken(_ command: Command) {
        if let key = command.coalescingKey { _ = pending.withLock { $0.remove(key) } }
    }

    // MARK: - The loop

    /// Connects, reads the paused symbols, reconciles what an earlier run left open, then
    /// serves commands until shutdown.
    func run() async {
        defer { answerWaitingCloses() }
        await exchange.waitUntilConnected()
        await pauses.waitUntilLoaded()
        guard !Task.isCancelled else { return }
        var book = Book(venuePolicy: OrderVenuePolicy(settings: .init(settings)))
        await refreshBalances(.binance, &book)
        await reconcileAtStart(&book)
        publishView(book)
        wake(.signals)
        for await command in commands {
            taken(command)
            switch command {
            case .signals:
                await takeSignal(&book)
                if book.isTrading, queue.withLock({ !$0.waiting.isEmpty }) { wake(.signals) }
            case .update(let update):
                await apply(update, &book)
            case .marks:
                await checkExits(&book)
            case .maintain:
                await maintain(&book)
            case .close(let request):
                answer(request, await closePosition(request, &book))
            }
            publishView(book)
            if Task.isCancelled { break }
        }
    }

    func stop() { continuation.finish() }

    func publishView(_ book: Book) {
        let counts = queue.withLock(\.counts)
        metrics.record(counts)
        let awaiting = book.open.values.filter { $0.state == .pendingSubmit || $0.state == .submitted }.count
        let live = book.open.values.filter { !$0.state.isFinal || $0.missesFills }.count
        let armed = book.open.values.filter { $0.exitState == .armed }.count
        let unwritten = book.unwritten.count + book.deferredUpdates.count
        let changed = view.withLock { view -> Bool in
            let next = ExecutionView(
                counts: counts, capacity: settings.queueCapacity, open: live, awaitingReconciliation: awaiting,
                reconciling: book.reconciling, unwritten: unwritten, armedExits: armed, holding: book.holding,
                serving: book.venuePolicy.serving)
            defer { view = next }
            return view.open != next.open || view.reconciling != next.reconciling || view.counts.executed != next.counts.executed
                || view.awaitingReconciliation != next.awaitingReconciliation || view.unwritten != next.unwritten
                || view.holding != next.holding || view.serving != next.serving
        }
        metrics.venue(serving: book.venuePolicy.serving, holding: book.holding != nil)
        metrics.book(open: live, awaiting: awaiting, unwritten: unwritten, trading: book.isTrading)
        if changed {
            let dropped = counts.droppedTotal
            let standing =
                book.reconciling
                ? "reconciling \(awaiting) orders, not trading"
                : unwritten > 0
                    ? "\(unwritten) order changes not yet written to PostgreSQL, not trading"
                    : book.holding.map { "new orders wait: \($0)" }
                        ?? (book.venuePolicy.serving == .binance ? "trading" : "trading on \(book.venuePolicy.serving.rawValue)")
            statusContinuation.yield(
                standing
                    + "; \(live) open orders, \(armed) exits armed; signals \(counts.received) = \(counts.executed) executed + "
                    + "\(counts.rejected) rejected + \(dropped) dropped + \(counts.queued) queued")
        }
    }

    // MARK: - Signals

    func takeSignal(_ book: inout Book) async {
        guard book.isTrading else { return }
        guard let venue = await chooseVenue(&book) else { return }
        let now = clock()
        let (entry, expired) = queue.withLock { $0.next(now: now) }
        note(expired.map { ($0.signal.symbol, .expired) })
        guard let entry else { return }
        let signal = entry.signal
        let clientOrderId = ClientOrderIDs.entry(signalId: entry.id)
        if book.accounts[venue]?.readAt.map({ now.timeIntervalSince($0) > 2 }) ?? true { await refreshBalances(venue, &book) }
        let account = book.accounts[venue] ?? VenueAccount()
        if marks.withLock({ $0[signal.symbol] }) == nil, client.rules(for: signal.symbol) != nil,
            let last = try? await client.lastPrice(symbol: signal.symbol)
        {
            // No tick since start: the exchange's last trade stands in until one comes.
            marks.withLock { $0[signal.symbol] = $0[signal.symbol] ?? last }
        }
        book.sent.removeAll { now.timeIntervalSince($0) >= 60 }
        let context = PlanningContext(
            ess: guards.ess.current, policy: guards.policy.current?.document.policy, settings: settings,
            filters: client.rules(for: signal.symbol), assets: client.assets(of: signal.symbol), marks: marks.withLock { $0 },
            free: account.free, held: account.held, ordersInLastMinute: book.sent.count,
            openOrders: book.open.values.filter { $0.symbol == signal.symbol && !$0.state.isFinal }.count, paused: pauses.current)
        switch EntryPlanner.plan(signal, context) {
        case .failure(let refusal):
            queue.withLock { $0.finish(executed: false) }
            metrics.rejected(rule: refusal.rule)
            logger.info(
                "signal refused", metadata: ["symbol": "\(signal.symbol)", "rule": "\(refusal.rule)", "reason": "\(refusal.reason)"])
            await publish(OrderRejected(clientOrderId: clientOrderId, symbol: signal.symbol, reason: refusal.reason, rule: refusal.rule))
        case .success(let plan):
            let order = StoredOrder(
                clientOrderId: clientOrderId, signalId: entry.id, purpose: .entry, parent: nil, symbol: plan.symbol, side: plan.side,
                quantity: plan.quantity, price: plan.price, referencePrice: plan.referencePrice, createdAt: now, venue: venue)
            let placed = await submit(order, &book)
            queue.withLock { $0.finish(executed: placed) }
        }
    }

    /// Writes `order` to the outbox, then sends it, then books what the exchange answered.
    /// False when it was refused (by the exchange, or because it could not be written or sent).
    func submit(_ order: StoredOrder, _ book: inout Book) async -> Bool {
        var order = order
        do {
            let row = order
            guard try await stored({ try await $0.insert(row) }) else {
                // This signal (or re-price, or exit) was handled before: its order exists.
                logger.notice("order already in the outbox; not sent again", metadata: ["client_order_id": "\(order.clientOrderId)"])
                return true
            }
        } catch {
            let reason = "not sent: the outbox could not be written: \(PostgresErrorText.describe(error))"
            logger.error("order not sent", metadata: ["client_order_id": "\(order.clientOrderId)", "reason": "\(reason)"])
            // Rejected in the record too: a write that went through unanswered leaves no order
            // waiting to be sent.
            book.open[order.clientOrderId] = order
            await reject(order.clientOrderId, reason: reason, code: nil, rule: "placement", &book)
            return false
        }
        book.open[order.clientOrderId] = order
        book.sent.append(clock())
        reserve(order, &book)
        let intent = OrderIntent(
            symbol: order.symbol, side: order.side, type: .limit, timeInForce: .gtc, quantity: order.tracked.quantity,
            price: order.price, clientOrderId: order.clientOrderId, referencePrice: marks.withLock { $0[order.symbol] },
            openOrders: book.open.values.filter { $0.symbol == order.symbol && !$0.state.isFinal }.count - 1)
        do {
            let report = try await orderVenue(order.venue).place(intent)
            await absorb(report, into: order.clientOrderId, &book)
        } catch {
            order = book.open[order.clientOrderId] ?? order
            switch error {
            case .outcomeUnknown(_, let reason):
                // It may be at the exchange: reconciled by client order id, never sent again.
                logger.warning(
                    "order outcome unknown; reconciling", metadata: ["client_order_id": "\(order.clientOrderId)", "reason": "\(reason)"])
                await change(order.clientOrderId, [.sent], &book)
                return true
            case .rejected(let refusal):
                await reject(order.clientOrderId, reason: refusal.msg, code: refusal.code, rule: "exchange", &book)
            default:
                await reject(order.clientOrderId, reason: "\(error)", code: nil, rule: "placement", &book)
            }
            return false
        }
        book.accounts[order.venue]?.readAt = nil
        return true
    }

    /// Takes what an order locks off the cached free balances, so the next order's checks see
    /// it before the balances are read again.
    func reserve(_ order: StoredOrder, _ book: inout Book) {
        guard let assets = client.assets(of: order.symbol) else { return }
        let (asset, amount) =
            order.side == .buy
            ? (assets.quote, (try? Money.notional(of: order.tracked.quantity, at: order.price).value) ?? .zero)
            : (assets.base, order.tracked.quantity.value)
        let free = book.accounts[order.venue]?.free[asset] ?? .zero
        book.accounts[order.venue, default: VenueAccount()].free[asset] = (try? free - amount) ?? .zero
    }

    /// Reads `venue`'s balances again; when it cannot, they stand as they were.
    func refreshBalances(_ venue: TradingVenue, _ book: inout Book) async {
        let now = clock()
        book.accounts[venue, default: VenueAccount()].triedAt = now
        do {
            let balances = try await orderVenue(venue).balances()
            if let since = book.accounts[venue]?.failingSince {
                logger.notice(
                    "the account's balances are read again",
                    metadata: ["venue": "\(venue.rawValue)", "failed_for_s": "\(Int(now.timeIntervalSince(since)))"])
            }
            book.accounts[venue] = VenueAccount(
                free: Dictionary(balances.map { ($0.asset, $0.free) }, uniquingKeysWith: { $1 }),
                held: Dictionary(balances.map { ($0.asset, (try? $0.free + $0.locked) ?? $0.free) }, uniquingKeysWith: { $1 }),
                readAt: now, answeredAt: now, triedAt: now)
        } catch {
            if book.accounts[venue]?.failingSince == nil {
                book.accounts[venue]?.failingSince = now
                logger.warning("could not read the account's balances", metadata: ["venue": "\(venue.rawValue)", "error": "\(error)"])
            }
        }
    }

    /// Where the next new order goes, by ``OrderVenuePolicy``; nil while new orders wait (the
    /// reason in ``Book/holding``, logged when it starts and ends).
    func chooseVenue(_ book: inout Book) async -> TradingVenue? {
        // Asked for each new order: a ban learned a moment ago must move the very next one.
        let now = clock()
        let status = await client.status()
        let unreconciled = book.open.values.filter { $0.venue == .binance && ($0.state == .pendingSubmit || $0.state == .submitted) }
        let secondAnsweredAt = book.accounts[.okx]?.answeredAt
        let observation = OrderVenuePolicy.Observation(
            now: status.now, bannedUntil: status.bannedUntil, lastAnswer: status.lastAnswer, failing: status.lastFailure != nil,
            unreconciledOnBinance: unreconciled.count,
            secondVenueReady: secondVenue.withLock { $0 != nil } && secondAnsweredAt.map { now.timeIntervalSince($0) < 15 } == true)
        let before = (book.holding, book.venuePolicy.serving)
        let decision = book.venuePolicy.decide(observation)
        switch decision {
        case .place(let venue):
            book.holding = nil
            if before.0 != nil || before.1 != venue {
                logger.notice(
                    "new orders go to \(venue.rawValue)",
                    metadata: ["venue": "\(venue.rawValue)", "was": "\(before.0.map { "waiting: \($0)" } ?? before.1.rawValue)"])
            }
            return venue
        case .hold(let why):
            if before.0 != why { logger.warning("new orders wait", metadata: ["reason": "\(why)"]) }
            book.holding = why
            return nil
        }
    }

    func publish(_ payload: some EventPayload) async {
        do {
            try await events.publish(EventEnvelope(payload, source: source))
        } catch {
            logger.error("could not publish", metadata: ["type": "\(type(of: payload).eventType.rawValue)", "error": "\(error)"])
        }
    }
}
