import Synchronization

/// Work that must not run twice at once (a write loop, a training check): a caller that finds
/// it under way leaves it to the one running.
public final class SingleFlight: Sendable {
    private let busy = Mutex(false)

    public init() {}

    /// Runs `body` unless a run is under way; whether it ran.
    @discardableResult
    public func run(_ body: () async -> Void) async -> Bool {
        let mine = busy.withLock { busy in
            if busy { return false }
            busy = true
            return true
        }
        guard mine else { return false }
        await body()
        busy.withLock { $0 = false }
        return true
    }
}
