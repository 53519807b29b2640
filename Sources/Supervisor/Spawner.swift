import CPosix
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Forks every child from one thread that lives as long as the supervisor.
///
/// The parent-death signal (PR_SET_PDEATHSIG) is tied to the thread that forked, not the
/// process: a child forked from a Swift concurrency or dispatch worker thread would be killed
/// the moment that pool retires the thread. Forking here also keeps the blocking fork/exec
/// handshake off the concurrency pool.
final class Spawner: Sendable {
    static let shared = Spawner()

    private final class Jobs: Sendable {
        let queue = Mutex<[@Sendable () -> Void]>([])
        let pending = DispatchSemaphore(value: 0)
    }

    private let jobs = Jobs()

    private init() {
        let thread = Thread { [jobs] in
            while true {
                jobs.pending.wait()
                let job = jobs.queue.withLock { $0.removeFirst() }
                job()
            }
        }
        thread.name = "vakt.spawner"
        thread.start()
    }

    /// What to start.
    struct Request: Sendable {
        var executable: String
        var arguments: [String]
        var environment: [String: String]
        var workingDirectory: String?
        /// Adds `WATCHDOG_PID` naming the child itself.
        var setWatchdogPID: Bool
        var stdoutFD: Int32
        var stderrFD: Int32
    }

    struct SpawnError: Error, CustomStringConvertible {
        var executable: String
        var errno: Int32
        var description: String { "cannot start \(executable): \(String(cString: strerror(errno)))" }
    }

    /// Starts the child; `registered` runs on the spawner thread the moment the pid is known,
    /// before the child can have said anything the supervisor must attribute.
    func spawn(_ request: Request, registered: @escaping @Sendable (Int32) -> Void) async throws(SpawnError) -> Int32 {
        let result: Result<Int32, SpawnError> = await withCheckedContinuation { continuation in
            jobs.queue.withLock {
                $0.append({
                    let result = Self.fork(request)
                    if case .success(let pid) = result { registered(pid) }
                    continuation.resume(returning: result)
                })
            }
            jobs.pending.signal()
        }
        return try result.get()
    }

    private static func fork(_ request: Request) -> Result<Int32, SpawnError> {
        var environment = request.environment
        environment.removeValue(forKey: "WATCHDOG_PID")
        var envp = environment.map { "\($0.key)=\($0.value)" }.sorted()
        var pidIndex: Int32 = -1
        if request.setWatchdogPID {
            pidIndex = Int32(envp.count)
            envp.append("WATCHDOG_PID=" + String(repeating: "0", count: 15))
        }
        let argv = [request.executable] + request.arguments
        var spawnErrno: Int32 = 0
        let pid = withCStrings(argv) { argvPointers in
            withCStrings(envp) { envPointers in
                vakt_spawn(
                    request.executable, argvPointers, envPointers, pidIndex, request.workingDirectory, request.stdoutFD,
                    request.stderrFD, SIGKILL, &spawnErrno)
            }
        }
        return pid > 0 ? .success(pid) : .failure(SpawnError(executable: request.executable, errno: spawnErrno))
    }

    private static func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
        var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
        pointers.append(nil)
        defer { for pointer in pointers { free(pointer) } }
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}
