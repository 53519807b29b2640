import Synchronization

/// A value that becomes available once a service's start-up phase is done: the runtime's
/// responder and readiness wait for it or check ``value``. Services never see it: their
/// start-up phase is ``VaktService/makeParts(context:)``, whose parts exist only when done.
final class StartupGate<Value: Sendable>: Sendable {
    private struct State {
        var value: Value?
        var waiters: [CheckedContinuation<Value, Never>] = []
    }

    private let state = Mutex(State())

    init() {}

    var value: Value? { state.withLock { $0.value } }

    func open(_ value: Value) {
        let waiters = state.withLock { state in
            state.value = value
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(returning: value) }
    }

    func wait() async -> Value {
        await withCheckedContinuation { continuation in
            let ready: Value? = state.withLock { state in
                if let value = state.value { return value }
                state.waiters.append(continuation)
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}
