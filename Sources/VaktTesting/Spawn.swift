import Foundation

/// Starts the test process's children one at a time, each with the pipes made for it.
///
/// On Linux, Foundation's `Process.run()` lists the descriptors open at that moment, has the
/// child close them, then spawns. A descriptor another thread makes in between is not on the
/// list and, not being close-on-exec, is inherited: another `run()`'s exit-watch socket
/// (Foundation learns of an exit when every holder of that socket has closed it) or a pipe a
/// test reads to its end. A long-lived child that inherits one (Redis, PostgreSQL, a service)
/// keeps the other process running in Foundation's eyes (`isRunning` stays true, and reading
/// `terminationReason` traps) or its pipe open (the read never ends). A fresh clone's suite
/// crashed so: an exchange simulator had stopped, Foundation still called it running 30 s
/// later, and the test's read of its termination reason brought the whole test process down.
///
/// So every `Process` a test starts is run inside `serially`, and the pipes it is given are
/// made inside the same call: no spawn can then fall between another one's descriptors being
/// made and their being closed in the parent. (Children spawned by the supervisor's own code
/// close every inherited descriptor themselves; see `vakt_spawn`.)
public enum Spawn {
    private static let lock = NSLock()

    /// Runs `body`, which makes a process's pipes and runs it, while no other child is started.
    public static func serially<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}
