import Synchronization

/// A value that becomes available once, and those who wait for it: the runtime's responder and
/// readiness wait for a service's parts (its start-up phase,
/// ``VaktService/makeParts(context:)``); a service's own part may wait for a state it opens
/// at start (the portfolio's ledger).
public final class StartupGate<Value: Sendable>: Sendable {
    private struct State {
        var value: Value?
        var waiters: [CheckedContinuation<Value, Never>] = []
        /// Waiters that give up when their task is cancelled, by ticket.
        var cancellable: [Int: CheckedContinuation<Value?, Never>] = [:]
        var nextTicket = 0
        /// Tickets cancelled before their waiter was registered.
        var cancelled: Set<Int> = []
    }

    private let state = Mutex(State())

    public init() {}

    public var value: Value? { state.withLock { $0.value } }

    public func open(_ value: Value) {
        let (waiters, cancellable) = state.withLock { state in
            state.value = value
            defer { (state.waiters, state.cancellable) = ([], [:]) }
            return (state.waiters, Array(state.cancellable.values))
        }
        for waiter in waiters { waiter.resume(returning: value) }
        for waiter in cancellable { waiter.resume(returning: value) }
    }

    /// The value once it is available, or nil as soon as the waiting task is cancelled (a
    /// service told to shut down before what it waits for ever came).
    public func waitUnlessCancelled() async -> Value? {
        let ticket = state.withLock { state in
            defer { state.nextTicket += 1 }
            return state.nextTicket
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Value?, Never>) in
                let outcome: Value?? = state.withLock { state in
                    if let value = state.value { return .some(value) }
                    if state.cancelled.remove(ticket) != nil { return .some(nil) }
                    state.cancellable[ticket] = continuation
                    return .none
                }
                if case .some(let value) = outcome { continuation.resume(returning: value) }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                let waiter = state.cancellable.removeValue(forKey: ticket)
                if waiter == nil && state.value == nil { state.cancelled.insert(ticket) }
                return waiter
            }
            waiter?.resume(returning: nil)
        }
    }

    public func wait() async -> Value {
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
