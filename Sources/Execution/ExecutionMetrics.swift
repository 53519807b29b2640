import EventBus
import Metrics
import Synchronization

/// Execution's metrics: the signal accounting (each term of
/// `received = executed + rejected + dropped + queued`), orders by purpose and final state,
/// open orders and those awaiting reconciliation, and slippage.
final class ExecutionMetrics: Sendable {
    private let exported = Mutex(SignalQueue.Counts())
    private let depth = Gauge(label: "vakt_execution_signal_queue_depth")
    private let open = Gauge(label: "vakt_execution_open_orders")
    private let awaiting = Gauge(label: "vakt_execution_orders_awaiting_reconciliation")
    private let trading = Gauge(label: "vakt_execution_trading")
    /// Order changes and reports waiting for PostgreSQL.
    private let unwritten = Gauge(label: "vakt_execution_unwritten_changes")

    init(capacity: Int) {
        Gauge(label: "vakt_execution_signal_queue_capacity").record(capacity)
        for name in ["received", "executed", "rejected"] {
            Counter(label: "vakt_execution_signals_\(name)_total").increment(by: 0)
        }
        for reason in SignalQueue.DropReason.allCases {
            Counter(label: "vakt_execution_signals_dropped_total", dimensions: [("reason", reason.rawValue)]).increment(by: 0)
        }
        depth.record(0)
        trading.record(0)
        unwritten.record(0)
    }

    /// Brings the counters up to `counts` (by the difference since the last call).
    func record(_ counts: SignalQueue.Counts) {
        let before = exported.withLock { previous in
            defer { previous = counts }
            return previous
        }
        for (name, now, then) in [
            ("received", counts.received, before.received), ("executed", counts.executed, before.executed),
            ("rejected", counts.rejected, before.rejected),
        ] where now > then {
            Counter(label: "vakt_execution_signals_\(name)_total").increment(by: now - then)
        }
        for reason in SignalQueue.DropReason.allCases {
            let difference = counts.dropped[reason, default: 0] - before.dropped[reason, default: 0]
            if difference > 0 {
                Counter(label: "vakt_execution_signals_dropped_total", dimensions: [("reason", reason.rawValue)]).increment(by: difference)
            }
        }
        depth.record(counts.queued)
    }

    func rejected(rule: String) {
        Counter(label: "vakt_execution_rejections_total", dimensions: [("rule", rule)]).increment()
    }

    func finished(_ order: StoredOrder) {
        Counter(label: "vakt_execution_orders_total", dimensions: [("purpose", order.purpose.rawValue), ("state", order.state.rawValue)])
            .increment()
    }

    func book(open count: Int, awaiting reconciliation: Int, unwritten changes: Int, trading isTrading: Bool) {
        open.record(count)
        awaiting.record(reconciliation)
        unwritten.record(changes)
        trading.record(isTrading ? 1 : 0)
    }

    /// `vakt_execution_venue{venue}`: 1 for where new orders go, 0 for the other;
    /// `vakt_execution_holding`: 1 while new orders wait for a venue.
    func venue(serving: TradingVenue, holding: Bool) {
        for venue in TradingVenue.allCases {
            Gauge(label: "vakt_execution_venue", dimensions: [("venue", venue.rawValue)]).record(venue == serving ? 1 : 0)
        }
        Gauge(label: "vakt_execution_holding").record(holding ? 1 : 0)
    }

    /// A fill's slippage against the signal's price, as a share (positive: worse), recorded in
    /// basis points.
    func slippage(_ share: Double, symbol: String) {
        Recorder(label: "vakt_execution_slippage_bps", dimensions: [("symbol", symbol)]).record(share * 10_000)
    }
}
