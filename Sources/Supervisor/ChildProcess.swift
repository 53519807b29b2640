import CPosix
import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// A running child: its own process group, output forwarded line by line to the supervisor's
/// log, reaped by a thread of its own so its exit is known the moment it happens.
final class ChildProcess: Sendable {
    let pid: Int32
    let name: String
    private let exitStatus: Task<ExitStatus, Never>

    struct SpawnError: Error, CustomStringConvertible {
        var executable: String
        var errno: Int32
        var description: String { "cannot start \(executable): \(String(cString: strerror(errno)))" }
    }

    /// Starts `executable` with `arguments`; the child gets SIGKILL if the supervisor dies.
    init(name: String, executable: String, arguments: [String], environment: [String: String], logger: Logger) throws {
        let stdoutPipe = try Self.makePipe()
        let stderrPipe = try Self.makePipe()
        let argv = [executable] + arguments
        let envp = environment.map { "\($0.key)=\($0.value)" }.sorted()
        var spawnErrno: Int32 = 0
        let pid = Self.withCStrings(argv) { argvPointers in
            Self.withCStrings(envp) { envPointers in
                vakt_spawn(executable, argvPointers, envPointers, nil, stdoutPipe.write, stderrPipe.write, SIGKILL, &spawnErrno)
            }
        }
        close(stdoutPipe.write)
        close(stderrPipe.write)
        guard pid > 0 else {
            close(stdoutPipe.read)
            close(stderrPipe.read)
            throw SpawnError(executable: executable, errno: spawnErrno)
        }
        self.pid = pid
        self.name = name
        var childLogger = logger
        childLogger[metadataKey: "child"] = "\(name)"
        childLogger[metadataKey: "pid"] = "\(pid)"
        let forwarders = [
            OutputForwarder(fd: stdoutPipe.read, stream: "stdout", logger: childLogger),
            OutputForwarder(fd: stderrPipe.read, stream: "stderr", logger: childLogger),
        ]
        exitStatus = Task.detached {
            let status = await Self.reap(pid)
            for forwarder in forwarders { await forwarder.drained() }
            return status
        }
    }

    /// Waits until the child has exited and its output is fully forwarded.
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
        guard vakt_pipe_cloexec(&fds, 0) == 0 else { throw SpawnError(executable: "pipe", errno: errno) }
        return (fds[0], fds[1])
    }

    private static func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
        var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
        pointers.append(nil)
        defer { for pointer in pointers { free(pointer) } }
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}
