import CoreMetrics
import Foundation
import Metrics

/// The bus's metrics, through swift-metrics (the service runtime exports them to Prometheus).
struct EventBusMetrics: Sendable {
    func published(_ entries: [(stream: String, envelope: Data)], duration: Duration) {
        for (stream, count) in Dictionary(grouping: entries, by: \.stream).mapValues(\.count) {
            Counter(label: "vakt_events_published_total", dimensions: [("stream", stream)]).increment(by: count)
        }
        Timer(label: "vakt_event_publish_duration_seconds", dimensions: [("path", "redis")]).record(duration: duration)
    }

    func buffered(_ count: Int, duration: Duration) {
        Counter(label: "vakt_events_buffered_total").increment(by: count)
        Timer(label: "vakt_event_publish_duration_seconds", dimensions: [("path", "disk")]).record(duration: duration)
    }

    func flushed(_ count: Int) {
        Counter(label: "vakt_events_flushed_total").increment(by: count)
    }

    func rejected(reason: String) {
        Counter(label: "vakt_events_rejected_total", dimensions: [("reason", reason)]).increment()
    }

    func bufferDepth(events: Int, bytes: Int) {
        Gauge(label: "vakt_event_buffer_events").record(events)
        Gauge(label: "vakt_event_buffer_bytes").record(bytes)
    }

    func handled(stream: String, group: String, duration: Duration) {
        Timer(label: "vakt_event_handler_duration_seconds", dimensions: [("stream", stream), ("group", group)]).record(duration: duration)
    }

    /// Redis 7 cannot always tell the lag (`XINFO GROUPS` answers nil); the lag gauge then keeps
    /// its last known value and `vakt_event_group_lag_unknown` says so.
    func group(stream: String, group: String, pending: Int, lag: Int?) {
        let dimensions = [("stream", stream), ("group", group)]
        Gauge(label: "vakt_event_group_pending", dimensions: dimensions).record(pending)
        if let lag { Gauge(label: "vakt_event_group_lag", dimensions: dimensions).record(lag) }
        Gauge(label: "vakt_event_group_lag_unknown", dimensions: dimensions).record(lag == nil ? 1 : 0)
    }

    func redelivered(stream: String, group: String) {
        Counter(label: "vakt_events_redelivered_total", dimensions: [("stream", stream), ("group", group)]).increment()
    }

    func claimed(stream: String, group: String, count: Int) {
        Counter(label: "vakt_events_claimed_total", dimensions: [("stream", stream), ("group", group)]).increment(by: count)
    }

    func consumed(stream: String, group: String, outcome: String) {
        Counter(label: "vakt_events_consumed_total", dimensions: [("stream", stream), ("group", group), ("outcome", outcome)]).increment()
    }
}
