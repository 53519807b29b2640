import Synchronization

/// Whether a caller waits for the answer to one command on its own CPU before it sleeps.
///
/// Spinning pays only on a machine with a CPU to spare: there it saves the wake-up of a sleeping
/// thread, which on a virtual machine costs more than the loopback round trip. Where the CPU is
/// wanted, a spinning caller takes it from whoever else needs it, including the concurrency
/// pool's other tasks. So a caller spins only when
/// - spinning is configured (``RedisEndpoint/spinWait`` above zero),
/// - no other caller in the process is waiting for the answer to a single command (several
///   waiting means the pool has other work that a spinning thread would keep from running), and
/// - the connection's last spin paid: after a spin the answer outlasted or during which another
///   thread took the CPU, spinning pauses for a number of calls that doubles with each failure in
///   a row (``firstPause`` up to ``longestPause``) and resets when a spin pays again.
final class SpinPolicy: Sendable {
    static let firstPause = 100
    static let longestPause = 6_400

    /// Callers now waiting for one command's answer; every connection of a process shares one.
    final class WaitingCallers: Sendable {
        static let process = WaitingCallers()
        fileprivate let count = Atomic<Int>(0)
    }

    private struct Backoff {
        var callsToSkip = 0
        var nextPause = SpinPolicy.firstPause
    }

    private let limit: Duration
    private let waiting: WaitingCallers
    private let backoff = Mutex(Backoff())

    init(limit: Duration, waiting: WaitingCallers = .process) {
        self.limit = limit
        self.waiting = waiting
    }

    /// Registers a caller about to wait for one command's answer and says how long it may spin;
    /// every call is matched by ``finish(_:)``.
    func begin() -> Duration {
        let alone = waiting.count.add(1, ordering: .relaxed).newValue == 1
        guard limit > .zero else { return .zero }
        return backoff.withLock { backoff in
            if backoff.callsToSkip > 0 {
                backoff.callsToSkip -= 1
                return .zero
            }
            return alone ? limit : .zero
        }
    }

    func finish(_ spin: SpinOutcome) {
        waiting.count.subtract(1, ordering: .relaxed)
        switch spin {
        case .notTried: return
        case .answered: backoff.withLock { $0 = Backoff() }
        case .outlasted, .preempted:
            backoff.withLock { backoff in
                backoff.callsToSkip = backoff.nextPause
                backoff.nextPause = min(backoff.nextPause * 2, Self.longestPause)
            }
        }
    }
}
