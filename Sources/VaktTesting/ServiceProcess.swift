import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A real `vakt` process started by a test, with its output kept in a file for diagnosis.
public final class ServiceProcess: @unchecked Sendable {
    public let process: Process
    public let outputFile: URL

    /// Starts `vakt` with `arguments`, or another program (`executable`, with `extraArguments`),
    /// on `host` (this machine's network when nil).
    public init(
        arguments: [String], environment: [String: String] = [:], notifySocket: String? = nil, executable: String? = nil,
        extraArguments: [String] = [], host: NetworkHost? = nil
    ) throws {
        process = Process()
        let program = executable ?? TestEnvironment.vaktExecutable
        let launch = host?.launch(program, arguments + extraArguments) ?? (executable: program, arguments: arguments + extraArguments)
        process.executableURL = URL(fileURLWithPath: launch.executable)
        process.arguments = launch.arguments
        // Overrides in the test runner's environment must not leak into the process under test.
        var fullEnvironment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("VAKT_") }
        fullEnvironment.removeValue(forKey: "NOTIFY_SOCKET")
        if let notifySocket { fullEnvironment["NOTIFY_SOCKET"] = notifySocket }
        fullEnvironment.merge(environment) { _, new in new }
        process.environment = fullEnvironment
        outputFile = TestEnvironment.temporaryRoot.appendingPathComponent("vakt-process-\(UUID().uuidString.prefix(8)).log")
        _ = FileManager.default.createFile(atPath: outputFile.path, contents: nil)
        let handle = try FileHandle(forWritingTo: outputFile)
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try Spawn.serially { try process.run() }
    }

    public var pid: Int32 { process.processIdentifier }
    /// Not yet exited, as the kernel has it (see `ending()`).
    public var isRunning: Bool { ending() == nil }

    public func signal(_ signal: Int32) {
        kill(pid, signal)
    }

    /// Waits for the exit; returns the exit status, or nil when it did not exit in time.
    public func waitForExit(timeout: Duration = .seconds(30)) async -> Int32? {
        _ = await TestEnvironment.eventually(timeout: timeout) { ending() != nil }
        return ending()?.status
    }

    /// How it ended; nil while it runs.
    public var terminationReason: Process.TerminationReason? { ending()?.reason }

    /// The exit once the kernel has it. Foundation learns of an exit only when every holder of
    /// its exit-watch socket has closed it (see `Spawn`), so until it has, the kernel is asked
    /// (`waitid` with `WNOWAIT`: the reaping stays Foundation's, and the zombie keeps the pid).
    private func ending() -> (status: Int32, reason: Process.TerminationReason)? {
        if !process.isRunning { return (process.terminationStatus, process.terminationReason) }
        var info = siginfo_t()
        guard waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0, info._sifields._sigchld.si_pid == pid else {
            return nil
        }
        return (info._sifields._sigchld.si_status, info.si_code == CLD_EXITED ? .exit : .uncaughtSignal)
    }

    public func output() -> String {
        (try? String(contentsOf: outputFile, encoding: .utf8)) ?? ""
    }

    deinit {
        if process.isRunning {
            kill(pid, SIGKILL)
            KilledProcess.waitUntilExited(pid)
        }
        try? FileManager.default.removeItem(at: outputFile)
    }
}
