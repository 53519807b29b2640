import Foundation
import Synchronization

/// A value passed from a connection's thread to a task, which first waits for it on its own CPU
/// for a bounded time and only then suspends. A suspended task is resumed through the
/// concurrency pool, whose sleeping thread (and, in a virtual machine, whose idle CPU) takes
/// longer to wake than a Redis round trip on loopback takes.
final class Handoff<T: Sendable>: Sendable {
    private enum State {
        case pending
        case done(T)
        case waiting(UnsafeContinuation<T, Never>)
    }

    private let state = Mutex<State>(.pending)
    /// Read by the spinning task without taking the lock.
    private let isDone = Atomic<Bool>(false)

    /// Whether a task has suspended waiting for the value (so tests can order the race
    /// exactly instead of sleeping).
    var hasWaiter: Bool {
        state.withLock { if case .waiting = $0 { true } else { false } }
    }

    func complete(_ value: T) {
        let waiter = state.withLock { state -> UnsafeContinuation<T, Never>? in
            if case .waiting(let continuation) = state { return continuation }
            state = .done(value)
            return nil
        }
        isDone.store(true, ordering: .releasing)
        waiter?.resume(returning: value)
    }

    /// The value, and how the spin went: spins (yielding the CPU to anything else runnable) for
    /// up to `limit`, then suspends until the value comes.
    func value(spinningFor limit: Duration, preemptedAfter preemption: Duration = .microseconds(50)) async -> (T, SpinOutcome) {
        guard limit > .zero else { return (await value(), .notTried) }
        let clock = ContinuousClock()
        var last = clock.now
        let deadline = last + limit
        var spin = SpinOutcome.answered
        while !isDone.load(ordering: .acquiring) {
            sched_yield()
            let now = clock.now
            if now - last > preemption {
                spin = .preempted
                break
            }
            if now >= deadline {
                spin = .outlasted
                break
            }
            last = now
        }
        return (await value(), spin)
    }

    private func value() async -> T {
        await withUnsafeContinuation { continuation in
            let ready = state.withLock { state -> T? in
                if case .done(let value) = state { return value }
                state = .waiting(continuation)
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}

/// How a spin for the value ended.
enum SpinOutcome: Sendable, Equatable {
    case notTried
    /// The value came while the task spun: the spin saved a wake-up.
    case answered
    /// The spin ran out first.
    case outlasted
    /// A yield gave the CPU to another thread for longer than `preemptedAfter`: something
    /// else wanted this CPU, and spinning takes it from them.
    case preempted
}
