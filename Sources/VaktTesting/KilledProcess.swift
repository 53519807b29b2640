import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Waiting for a process sent SIGKILL to be gone.
///
/// `Process.waitUntilExit` is not used for this: on Linux it spins a run loop at full speed until
/// Foundation's own reaper has seen the exit, and that reaper needs a free dispatch thread. On a
/// busy two-core machine the spinning thread can be the one the reaper waits for, and the test
/// run hangs (seen: 15 minutes at 100 % of a core inside a `ServiceProcess` deinit).
enum KilledProcess {
    /// Returns once the process has exited, up to `timeout`: when it is a zombie (exited, not yet
    /// reaped by Foundation) or gone. A zombie holds no ports or files any more.
    static func waitUntilExited(_ pid: pid_t, timeout: Duration = .seconds(5)) {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            guard let process = ProcStat.read(pid), !process.hasExited else { return }
            usleep(1_000)
        }
    }
}
