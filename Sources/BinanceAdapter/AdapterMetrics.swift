import Binance
import Metrics

/// The adapter's metrics: requests by endpoint and outcome, the time spent waiting for the
/// budget, 429s, bans, reconciliations, and the limits announced (the used counts are
/// reported from the budget by the service's health and metrics refresh).
struct AdapterMetrics: Sendable {
    /// Every counter an alert rule reads exists from the start, at zero, so that `increase()`
    /// sees its first step.
    init() {
        Counter(label: "vakt_exchange_bans_total").increment(by: 0)
        for code in ["-1003", "-1015"] {
            Counter(label: "vakt_exchange_rate_limited_total", dimensions: [("code", code)]).increment(by: 0)
        }
        for outcome in ["found", "not_placed", "unknown"] {
            Counter(label: "vakt_exchange_reconciliations_total", dimensions: [("outcome", outcome)]).increment(by: 0)
        }
        FloatingPointCounter(label: "vakt_exchange_budget_wait_seconds_total").increment(by: 0)
    }

    func requests(endpoint: String, outcome: String) {
        Counter(label: "vakt_exchange_requests_total", dimensions: [("endpoint", endpoint), ("outcome", outcome)]).increment()
    }

    /// Time spent waiting for room in the budget, in seconds of the exchange's clock.
    func waited(milliseconds: Int64) {
        FloatingPointCounter(label: "vakt_exchange_budget_wait_seconds_total").increment(by: Double(max(milliseconds, 0)) / 1_000)
    }

    func rateLimited(code: Int) {
        Counter(label: "vakt_exchange_rate_limited_total", dimensions: [("code", String(code))]).increment()
    }

    func banned() {
        Counter(label: "vakt_exchange_bans_total").increment()
    }

    func reconciled(outcome: String) {
        Counter(label: "vakt_exchange_reconciliations_total", dimensions: [("outcome", outcome)]).increment()
    }

    func announce(_ limits: [RateLimit]) {
        for limit in limits {
            Gauge(label: "vakt_exchange_limit", dimensions: [("limit", Self.name(limit))]).record(limit.limit)
        }
    }

    func used(_ used: [(limit: RateLimit, count: Int)]) {
        for (limit, count) in used {
            Gauge(label: "vakt_exchange_used", dimensions: [("limit", Self.name(limit))]).record(count)
        }
    }

    /// How far the exchange's clock may be from this client's reckoning of it: the budget
    /// counts requests within this of a window's edge in both windows.
    func clockUncertainty(milliseconds: Int64) {
        Gauge(label: "vakt_exchange_clock_uncertainty_seconds").record(Double(milliseconds) / 1_000)
    }

    /// `REQUEST_WEIGHT_1M`, `ORDERS_10S`.
    static func name(_ limit: RateLimit) -> String {
        "\(limit.kind.rawValue)_\(limit.intervalNum)\(limit.interval.rawValue.prefix(1))"
    }
}
