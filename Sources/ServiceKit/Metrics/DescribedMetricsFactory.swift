import CoreMetrics
import Prometheus

/// The swift-metrics backend: every metric a library reports through swift-metrics (Hummingbird's
/// request metrics, PostgresNIO's pool) lands in the process's Prometheus registry under a
/// valid, conventional name and with a `# HELP` line.
///
/// swift-prometheus's own factory registers these with empty help text, which
/// `promtool check metrics` rejects, and its registry fixes a family's help at creation, so the
/// help has to be supplied here, when the family is made.
struct DescribedMetricsFactory: CoreMetrics.MetricsFactory {
    let registry: PrometheusCollectorRegistry

    /// Conventional names and help for the metrics libraries report with dotted labels.
    static let known: [String: (name: String, help: String)] = [
        "hb.requests": ("http_requests_total", "HTTP requests served, by route, method and status."),
        "hb.request.errors": ("http_request_errors_total", "HTTP requests that ended in an error, by route and method."),
        "http.server.request.duration": ("http_request_duration_seconds", "HTTP request latency, by route, method and status."),
        "http.server.active_requests": ("http_server_active_requests", "HTTP requests in progress, by method."),
        "vakt_events_published_total": ("vakt_events_published_total", "Events written to Redis by this process, by stream."),
        "vakt_events_buffered_total": ("vakt_events_buffered_total", "Events written to the disk buffer while Redis was unreachable."),
        "vakt_events_flushed_total": ("vakt_events_flushed_total", "Buffered events sent on to Redis."),
        "vakt_events_rejected_total": (
            "vakt_events_rejected_total", "Publishes refused, by reason (buffer_full, too_large, buffer_write)."
        ),
        "vakt_event_buffer_events": ("vakt_event_buffer_events", "Events waiting in the disk buffer."),
        "vakt_event_buffer_bytes": ("vakt_event_buffer_bytes", "Bytes waiting in the disk buffer."),
        "vakt_event_publish_duration_seconds": (
            "vakt_event_publish_duration_seconds", "Time until a publish was durable, by path (redis, disk)."
        ),
        "vakt_event_handler_duration_seconds": ("vakt_event_handler_duration_seconds", "Event handler run time, by stream and group."),
        "vakt_events_redelivered_total": (
            "vakt_events_redelivered_total", "Entries delivered again: pending after a crash or a lost connection, or claimed."
        ),
        "vakt_events_claimed_total": (
            "vakt_events_claimed_total", "Entries claimed from idle consumers (XAUTOCLAIM), by stream and group."
        ),
        "vakt_event_group_pending": ("vakt_event_group_pending", "Entries delivered to the group and not yet acknowledged, by stream."),
        "vakt_event_group_lag": ("vakt_event_group_lag", "Entries not yet delivered to the group, by stream (last known value)."),
        "vakt_event_group_lag_unknown": ("vakt_event_group_lag_unknown", "1 while Redis cannot tell the group's lag."),
        "vakt_consumer_group_status": (
            "vakt_consumer_group_status", "1 for a consumer group's lag verdict (OK, WARN, STALL, STOP, ERR), by stream and group."
        ),
        "vakt_consumer_group_backlog": (
            "vakt_consumer_group_backlog", "Entries a consumer group has still to handle (undelivered plus pending), by stream and group."
        ),
        "vakt_ess_state": (
            "vakt_ess_state", "1 for the Emergency Stop System's current state (armed, reducing, tripped, cooldown), else 0."
        ),
        "vakt_ess_transitions_total": ("vakt_ess_transitions_total", "ESS transitions, by the state entered and the trigger."),
        "vakt_ess_tripped_seconds_total": (
            "vakt_ess_tripped_seconds_total", "Seconds the ESS has spent tripped since this process started."
        ),
        "vakt_ess_drawdown_ratio": ("vakt_ess_drawdown_ratio", "Drawdown from peak equity as a fraction, as the ESS evaluates it."),
        "vakt_ess_daily_pnl": (
            "vakt_ess_daily_pnl", "Profit or loss since the UTC day began, in the quote currency, as the ESS evaluates it."
        ),
        "vakt_ess_execution_errors": ("vakt_ess_execution_errors", "Rejected orders and stop-loss hits within the ESS error window."),
        "vakt_ess_feed_age_seconds": ("vakt_ess_feed_age_seconds", "Age of the stalest allowed symbol's last market tick."),
        "vakt_policy_version": ("vakt_policy_version", "Version of the risk policy this process holds."),
        "vakt_policy_conflicts_total": (
            "vakt_policy_conflicts_total", "Policies refused for carrying a held version with different content."
        ),
        "vakt_control_auth_failures_total": (
            "vakt_control_auth_failures_total",
            "Control requests refused for a bad or missing token, by outcome (unauthorized, rate_limited)."
        ),
        "vakt_events_consumed_total": (
            "vakt_events_consumed_total", "Entries a consumer finished, by outcome (handled, duplicate, failed, dead_lettered)."
        ),
        "vakt_execution_signals_received_total": ("vakt_execution_signals_received_total", "Signals execution took in."),
        "vakt_execution_signals_executed_total": ("vakt_execution_signals_executed_total", "Signals that became an order at the exchange."),
        "vakt_execution_signals_rejected_total": (
            "vakt_execution_signals_rejected_total", "Signals refused by a pre-trade check or by the exchange."
        ),
        "vakt_execution_signals_dropped_total": (
            "vakt_execution_signals_dropped_total", "Signals the queue dropped, by reason (replaced, expired, overflow)."
        ),
        "vakt_execution_signal_queue_depth": (
            "vakt_execution_signal_queue_depth", "Signals waiting, and the one being checked: received - executed - rejected - dropped."
        ),
        "vakt_execution_signal_queue_capacity": (
            "vakt_execution_signal_queue_capacity", "The signal queue's bound (execution.queue_capacity)."
        ),
        "vakt_execution_rejections_total": ("vakt_execution_rejections_total", "Orders refused, by the check that refused them."),
        "vakt_execution_orders_total": ("vakt_execution_orders_total", "Orders that reached a final state, by purpose and state."),
        "vakt_execution_open_orders": ("vakt_execution_open_orders", "Orders not yet final."),
        "vakt_execution_orders_awaiting_reconciliation": (
            "vakt_execution_orders_awaiting_reconciliation", "Orders whose outcome at the exchange is not known yet."
        ),
        "vakt_execution_trading": ("vakt_execution_trading", "1 when execution trades; 0 while it reconciles orders at start-up."),
        "vakt_execution_slippage_bps": (
            "vakt_execution_slippage_bps", "Each fill's distance from its signal's price, in basis points (positive: worse)."
        ),
        "vakt_portfolio_equity": ("vakt_portfolio_equity", "Cash plus positions at market, in the account's currency."),
        "vakt_portfolio_cash": ("vakt_portfolio_cash", "The account's currency held."),
        "vakt_portfolio_realized_pnl": ("vakt_portfolio_realized_pnl", "PnL realized by closing positions, before fees."),
        "vakt_portfolio_unrealized_pnl": ("vakt_portfolio_unrealized_pnl", "Open positions' PnL at market."),
        "vakt_portfolio_fees": ("vakt_portfolio_fees", "Fees paid, in the account's currency."),
        "vakt_portfolio_exposure": ("vakt_portfolio_exposure", "Open positions' value at market."),
        "vakt_portfolio_peak_equity": ("vakt_portfolio_peak_equity", "The highest equity seen."),
        "vakt_portfolio_drawdown_ratio": ("vakt_portfolio_drawdown_ratio", "Equity below its peak, as a share of the peak."),
        "vakt_portfolio_pnl": ("vakt_portfolio_pnl", "Equity change since the period began (UTC), by period (day, week, month)."),
        "vakt_portfolio_position_quantity": ("vakt_portfolio_position_quantity", "Base asset held, by symbol."),
        "vakt_portfolio_fills_total": ("vakt_portfolio_fills_total", "Fills booked (each once)."),
        "vakt_gateway_events_total": ("vakt_gateway_events_total", "Events the gateway took from the bus for its clients."),
        "vakt_gateway_ws_clients": ("vakt_gateway_ws_clients", "WebSocket clients connected."),
        "vakt_gateway_ws_batches_total": ("vakt_gateway_ws_batches_total", "Batches sent to WebSocket clients (one message each)."),
        "vakt_gateway_ws_updates_coalesced_total": (
            "vakt_gateway_ws_updates_coalesced_total", "Updates replaced by a newer one of the same key before a client got them."
        ),
        "vakt_gateway_ws_clients_cut_total": (
            "vakt_gateway_ws_clients_cut_total", "WebSocket clients cut off as too slow, by reason (stalled, overflow)."
        ),
        "vakt_portfolio_balance_difference": (
            "vakt_portfolio_balance_difference", "Exchange balance less the ledger's, by asset, when they differed at two checks in a row."
        ),
    ]

    static let durationBuckets: [Duration] = [
        .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(5),
    ]
    static let valueBuckets: [Double] = [1, 5, 10, 50, 100, 500, 1000, 5000, 10000]

    /// Maps a label to a valid Prometheus name, `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    static func prometheusName(_ label: String) -> String {
        var result = String(label.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == ":") ? $0 : "_" })
        if let first = result.first, first.isNumber { result = "_" + result }
        return result.isEmpty ? "_" : result
    }

    private func describe(_ label: String, _ dimensions: [(String, String)]) -> (MetricNameDescriptor, [(String, String)]) {
        let (name, help) = Self.known[label] ?? (Self.prometheusName(label), "Reported through swift-metrics as \(label).")
        let labels = dimensions.map { (Self.prometheusName($0.0), $0.1) }
        return (MetricNameDescriptor(metricName: name, unitName: "", helpText: help), labels)
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        let (descriptor, labels) = describe(label, dimensions)
        return registry.makeCounter(descriptor: descriptor, labels: labels)
    }

    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        let (descriptor, labels) = describe(label, dimensions)
        return registry.makeCounter(descriptor: descriptor, labels: labels)
    }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        let (descriptor, labels) = describe(label, dimensions)
        if aggregate {
            return registry.makeValueHistogram(descriptor: descriptor, labels: labels, buckets: Self.valueBuckets)
        }
        return registry.makeGauge(descriptor: descriptor, labels: labels)
    }

    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        let (descriptor, labels) = describe(label, dimensions)
        return registry.makeGauge(descriptor: descriptor, labels: labels)
    }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        let (descriptor, labels) = describe(label, dimensions)
        return registry.makeDurationHistogram(descriptor: descriptor, labels: labels, buckets: Self.durationBuckets)
    }

    func destroyCounter(_ handler: any CounterHandler) {
        if let counter = handler as? Prometheus.Counter { registry.unregisterCounter(counter) }
    }

    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {
        if let counter = handler as? Prometheus.Counter { registry.unregisterCounter(counter) }
    }

    func destroyRecorder(_ handler: any RecorderHandler) {
        if let gauge = handler as? Prometheus.Gauge { registry.unregisterGauge(gauge) }
        if let histogram = handler as? ValueHistogram { registry.unregisterValueHistogram(histogram) }
    }

    func destroyMeter(_ handler: any MeterHandler) {
        if let gauge = handler as? Prometheus.Gauge { registry.unregisterGauge(gauge) }
    }

    func destroyTimer(_ handler: any TimerHandler) {
        if let histogram = handler as? DurationHistogram { registry.unregisterDurationHistogram(histogram) }
    }
}
