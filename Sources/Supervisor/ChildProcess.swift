import CPosix
import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// A running child: its own process group, output forwarded line by line, reaped by a thread of
/// its own so its exit is known the moment it happens.
final class ChildProcess: Sendable {
    let pid: Int32
    let name: String
    let startedAt: ContinuousClock.Instant
    private let exitStatus: Task<ExitStatus, Never>

    /// Starts the child; it gets SIGKILL if the supervisor dies.
    static func start(
        name: String, request: (Int32, Int32) -> Spawner.Request, logFile: RotatingLogFile?, logger: Logger,
        registered: @escaping @Sendable (Int32) -> Void
    ) async throws -> ChildProcess {
        let stdoutPipe = try makePipe()
        let stderrPipe = try makePipe()
        let pid: Int32
        do {
            pid = try await Spawner.shared.spawn(request(stdoutPipe.write, stderrPipe.write), registered: registered)
        } catch {
            for fd in [stdoutPipe.read, stdoutPipe.write, stderrPipe.read, stderrPipe.write] { close(fd) }
            throw error
        }
        close(stdoutPipe.write)
        close(stderrPipe.write)
        return ChildProcess(name: name, pid: pid, stdout: stdoutPipe.read, stderr: stderrPipe.read, logFile: logFile, logger: logger)
    }

    private init(name: String, pid: Int32, stdout: Int32, stderr: Int32, logFile: RotatingLogFile?, logger: Logger) {
        self.pid = pid
        self.name = name
        self.startedAt = .now
        var childLogger = logger
        childLogger[metadataKey: "child"] = "\(name)"
        childLogger[metadataKey: "pid"] = "\(pid)"
        let forwarders = [
            OutputForwarder(fd: stdout, stream: "stdout", logFile: logFile, logger: childLogger),
            OutputForwarder(fd: stderr, stream: "stderr", logFile: logFile, logger: childLogger),
        ]
        exitStatus = Task.detached {
            let status = await Self.reap(pid)
            // Let the last lines arrive before the exit is reported, but not for long: a
            // grandchild can hold the pipes open, and the restart must not wait for it.
            await withTaskGroup(of: Void.self) { group in
                group.addTask { for forwarder in forwarders { await forwarder.drained() } }
                group.addTask { try? await Task.sleep(for: Self.outputGrace) }
                await group.next()
                group.cancelAll()
            }
            return status
        }
    }

    static let outputGrace: Duration = .milliseconds(50)

    /// Waits until the child has exited and its output is forwarded (or ``outputGrace`` passed).
    func waitForExit() async -> ExitStatus {
        await exitStatus.value
    }

    /// Signals the child's whole process group, so grandchildren get it too.
    func signalGroup(_ signal: Int32) {
        kill(-pid, signal)
    }

    private static func reap(_ pid: Int32) async -> ExitStatus {
        await withCheckedContinuation { continuation in
            let thread = Thread {
                var status: Int32 = 0
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                continuation.resume(returning: ExitStatus(waitStatus: status))
            }
            thread.name = "vakt.reap.\(pid)"
            thread.start()
        }
    }

    private static func makePipe() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        guard vakt_pipe_cloexec(&fds, 0) == 0 else { throw Spawner.SpawnError(executable: "pipe", errno: errno) }
        return (fds[0], fds[1])
    }
}
