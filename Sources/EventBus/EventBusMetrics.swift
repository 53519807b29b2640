import CoreMetrics
import Foundation
import Metrics
import Synchronization

/// The bus's metrics, through swift-metrics (the service runtime exports them to Prometheus).
///
/// The counters and timers touched for every event are made once and kept: making a handle
/// goes through the metrics factory (name and label sanitizing, a registry lookup), which is
/// too much work to repeat per publish or per handled entry.
final class EventBusMetrics: Sendable {
    private let counters = HandleCache<Counter>()
    private let timers = HandleCache<Timer>()
    private let publishedToRedis = Timer(label: "vakt_event_publish_duration_seconds", dimensions: [("path", "redis")])
    /// By stream alone: the one counter touched for every published event is found without
    /// building a key from its label and dimensions.
    private let publishedByStream = Mutex<[String: Counter]>([:])

    private func counter(_ label: String, _ dimensions: [(String, String)] = []) -> Counter {
        counters.handle(label, dimensions) { Counter(label: $0, dimensions: $1) }
    }

    private func timer(_ label: String, _ dimensions: [(String, String)]) -> Timer {
        timers.handle(label, dimensions) { Timer(label: $0, dimensions: $1) }
    }

    func published<Envelope>(_ entries: [(stream: String, envelope: Envelope)], duration: Duration) {
        // Counted per run of the same stream: a batch is usually one stream, a single event always.
        var index = entries.startIndex
        while index < entries.endIndex {
            let stream = entries[index].stream
            let end = entries[index...].firstIndex { $0.stream != stream } ?? entries.endIndex
            let published = publishedByStream.withLock { counters in
                if let counter = counters[stream] { return counter }
                let counter = Counter(label: "vakt_events_published_total", dimensions: [("stream", stream)])
                counters[stream] = counter
                return counter
            }
            published.increment(by: end - index)
            index = end
        }
        publishedToRedis.record(duration: duration)
    }

    func buffered(_ count: Int, duration: Duration) {
        counter("vakt_events_buffered_total").increment(by: count)
        timer("vakt_event_publish_duration_seconds", [("path", "disk")]).record(duration: duration)
    }

    func flushed(_ count: Int) {
        counter("vakt_events_flushed_total").increment(by: count)
    }

    /// A send the replicas did not confirm in time (`WAIT`): buffered and sent again.
    func unconfirmed() {
        counter("vakt_events_unconfirmed_total").increment()
    }

    func rejected(reason: String) {
        counter("vakt_events_rejected_total", [("reason", reason)]).increment()
    }

    func bufferDepth(events: Int, bytes: Int) {
        Gauge(label: "vakt_event_buffer_events").record(events)
        Gauge(label: "vakt_event_buffer_bytes").record(bytes)
    }

    /// The timer of a group's handler runs on a stream; a consumer keeps it for a batch.
    func handlerTimer(stream: String, group: String) -> Timer {
        timer("vakt_event_handler_duration_seconds", [("stream", stream), ("group", group)])
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
        counter("vakt_events_redelivered_total", [("stream", stream), ("group", group)]).increment()
    }

    func claimed(stream: String, group: String, count: Int) {
        counter("vakt_events_claimed_total", [("stream", stream), ("group", group)]).increment(by: count)
    }

    /// One failed read of a consumer group's streams (Redis away, or answering with an error).
    func readFailed(group: String) {
        counter("vakt_event_consumer_read_failures_total", [("group", group)]).increment()
    }

    func consumed(stream: String, group: String, outcome: String, count: Int = 1) {
        counter("vakt_events_consumed_total", [("stream", stream), ("group", group), ("outcome", outcome)]).increment(by: count)
    }
}

/// Metric handles by label and dimensions, made on first use.
final class HandleCache<Handle: Sendable>: Sendable {
    private let handles = Mutex<[String: Handle]>([:])

    func handle(_ label: String, _ dimensions: [(String, String)], make: (String, [(String, String)]) -> Handle) -> Handle {
        let key = dimensions.reduce(label) { $0 + "|" + $1.0 + "=" + $1.1 }
        return handles.withLock { cache in
            if let handle = cache[key] { return handle }
            let handle = make(label, dimensions)
            cache[key] = handle
            return handle
        }
    }
}
