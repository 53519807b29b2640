import Synchronization

/// The paper exchange's WebSocket subscribers and what each listens to: market streams by
/// Binance's names (`btcusdt@trade`, `btcusdt@kline_1m`, `btcusdt@bookTicker`) and the user
/// data stream (``userChannel``). A slow subscriber loses its oldest messages beyond
/// `bufferLimit`, never the exchange's memory.
final class StreamHub: Sendable {
    static let userChannel = "@user"

    struct Subscriber {
        var channels: Set<String>
        /// Wraps a channel's message as this connection receives it (raw, or combined as
        /// `{"stream": ..., "data": ...}`).
        let wrap: @Sendable (_ channel: String, _ data: String) -> String
        let continuation: AsyncStream<String>.Continuation
    }

    struct State {
        var next = 0
        var subscribers: [Int: Subscriber] = [:]
        /// Faults: messages are not sent until then (a stalled stream).
        var stalledUntil: ContinuousClock.Instant?
    }

    private let state = Mutex(State())
    let bufferLimit: Int

    init(bufferLimit: Int = 10_000) {
        self.bufferLimit = bufferLimit
    }

    func subscribe(
        _ channels: Set<String>, wrap: @escaping @Sendable (_ channel: String, _ data: String) -> String
    ) -> (id: Int, messages: AsyncStream<String>) {
        let (stream, continuation) = AsyncStream<String>.makeStream(bufferingPolicy: .bufferingNewest(bufferLimit))
        let id = state.withLock { state in
            state.next += 1
            state.subscribers[state.next] = Subscriber(channels: channels, wrap: wrap, continuation: continuation)
            return state.next
        }
        return (id, stream)
    }

    func change(_ id: Int, adding: Set<String> = [], removing: Set<String> = []) {
        state.withLock { state in
            state.subscribers[id]?.channels.formUnion(adding)
            state.subscribers[id]?.channels.subtract(removing)
        }
    }

    func unsubscribe(_ id: Int) {
        let removed = state.withLock { $0.subscribers.removeValue(forKey: id) }
        removed?.continuation.finish()
    }

    /// Whether anyone listens to `channel`.
    func isWanted(_ channel: String) -> Bool {
        state.withLock { state in state.subscribers.values.contains { $0.channels.contains(channel) } }
    }

    func publish(_ channel: String, _ data: String) {
        let targets: [(Subscriber)] = state.withLock { state in
            if let until = state.stalledUntil {
                guard ContinuousClock.now >= until else { return [] }
                state.stalledUntil = nil
            }
            return state.subscribers.values.filter { $0.channels.contains(channel) }
        }
        for subscriber in targets { subscriber.continuation.yield(subscriber.wrap(channel, data)) }
    }

    /// Faults: every connection is closed (clients must reconnect).
    func disconnectAll() {
        let all = state.withLock { state in
            defer { state.subscribers = [:] }
            return Array(state.subscribers.values)
        }
        for subscriber in all { subscriber.continuation.finish() }
    }

    /// Faults: nothing is sent for `duration` (connections stay open).
    func stall(for duration: Duration) {
        state.withLock { $0.stalledUntil = ContinuousClock.now + duration }
    }

    var connections: Int { state.withLock { $0.subscribers.count } }
}
