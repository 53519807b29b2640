import Synchronization

/// Which children are ready, and who is waiting for which. Updates are synchronous so that a
/// child's ready and not-ready reports cannot overtake each other.
final class ReadinessBoard: Sendable {
    private struct State {
        var ready: Set<String> = []
        var waiters: [(names: Set<String>, continuation: CheckedContinuation<Void, Never>)] = []
    }

    private let state = Mutex(State())

    func set(_ name: String, ready isReady: Bool) {
        let satisfied = state.withLock { state in
            if isReady { state.ready.insert(name) } else { state.ready.remove(name) }
            let ready = state.ready
            let satisfied = state.waiters.filter { $0.names.isSubset(of: ready) }
            state.waiters.removeAll { $0.names.isSubset(of: ready) }
            return satisfied
        }
        for waiter in satisfied { waiter.continuation.resume() }
    }

    func readyNames() -> Set<String> {
        state.withLock { $0.ready }
    }

    /// Returns once every one of `names` is ready (at once when it already is).
    func waitUntilReady(_ names: Set<String>) async {
        await withCheckedContinuation { continuation in
            let alreadyReady = state.withLock { state in
                if names.isSubset(of: state.ready) { return true }
                state.waiters.append((names, continuation))
                return false
            }
            if alreadyReady { continuation.resume() }
        }
    }
}
