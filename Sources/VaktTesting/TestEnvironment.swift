// VaktTesting: the one honest harness every test suite uses. It starts real redis-server
// instances, uses the PostgreSQL cluster scripts/infra started, runs the real `vakt` binary as
// child processes, and listens on real sd_notify sockets. Nothing here is a fake.

import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

public enum TestEnvironment {
    /// The directory holding the test bundle, where SwiftPM also puts the `vakt` executable.
    public static var buildDirectory: URL {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: executable).deletingLastPathComponent()
    }

    public static var vaktExecutable: String {
        buildDirectory.appendingPathComponent("vakt").path
    }

    /// The package root, found from this file's location.
    public static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// Every temporary directory and file of this test process is under this root, removed when
    /// the process exits (unless `VAKT_KEEP_TEST_FILES` is set); a root left by a process that
    /// died without exiting is removed by the next one. A suite makes thousands of them, some
    /// holding a PostgreSQL cluster of 70 MB: left behind, they filled the disk of a machine
    /// that runs the suite all day.
    public static let temporaryRoot: URL = {
        let base = FileManager.default.temporaryDirectory
        removeRootsOfEndedProcesses(in: base)
        let root = base.appendingPathComponent("vakt-tests-\(getpid())")
        try? FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        if ProcessInfo.processInfo.environment["VAKT_KEEP_TEST_FILES"] == nil {
            atexit { try? FileManager.default.removeItem(at: TestEnvironment.temporaryRoot) }
        }
        return root
    }()

    private static func removeRootsOfEndedProcesses(in base: URL) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: base.path)) ?? []
        for name in names where name.hasPrefix("vakt-tests-") {
            guard let pid = pid_t(name.dropFirst("vakt-tests-".count)), pid != getpid(), kill(pid, 0) != 0, errno == ESRCH else {
                continue
            }
            try? FileManager.default.removeItem(at: base.appendingPathComponent(name))
        }
    }

    /// A fresh directory under ``temporaryRoot``.
    public static func temporaryDirectory(_ name: String = "vakt-test") throws -> URL {
        let url = temporaryRoot.appendingPathComponent("\(name)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A TCP port on 127.0.0.1 that nothing listens on now and that no other test in this run
    /// was given. Ports come from below the kernel's ephemeral range (32768 and up by default),
    /// where outgoing connections take their local ports, so a client socket cannot take it
    /// between this call and the server's bind.
    public static func freePort() -> Int {
        while true {
            let candidate = Int.random(in: 20_000..<32_000)
            let claimed = handedOutPorts.withLock { ports in ports.insert(candidate).inserted }
            if claimed && canBind(candidate) { return candidate }
        }
    }

    private static let handedOutPorts = Mutex<Set<Int>>([])

    static func canBind(_ port: Int) -> Bool {
        withLoopbackSocket(port: port) { fd, address, length in bind(fd, address, length) } == 0
    }

    /// Whether something accepts TCP connections on 127.0.0.1:`port`.
    public static func canConnect(port: Int) -> Bool {
        withLoopbackSocket(port: port) { fd, address, length in connect(fd, address, length) } == 0
    }

    /// Runs `operation` with a new TCP socket and the address 127.0.0.1:`port`, then closes it.
    static func withLoopbackSocket(port: Int, _ operation: (Int32, UnsafePointer<sockaddr>, socklen_t) -> Int32) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { operation(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }

    /// Polls `condition` every `poll` until it holds or `timeout` passes; returns whether it held.
    /// The timeout is a bound for a loaded 2-core machine running the suite in parallel, not a
    /// measure of speed: a passing wait ends at its event, so the default is generous (30 s was
    /// not: beside two busy loops, with the suite's CPU-heavy tests on the test process's two
    /// pool threads, the event bus tests' 400 and 500 events took longer).
    public static func eventually(
        timeout: Duration = .seconds(120), poll: Duration = .milliseconds(20), _ condition: () async throws -> Bool
    ) async rethrows -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try? await Task.sleep(for: poll)
        }
        return try await condition()
    }

    /// Runs a program to completion and returns its exit status and combined output. The
    /// waiting happens on a thread of its own: a test blocking one of the few concurrency-pool
    /// threads would stall every other test's timers.
    public static func run(_ executable: String, _ arguments: [String], input: String? = nil, environment: [String: String]? = nil)
        async throws -> (status: Int32, output: String)
    {
        try await withCheckedThrowingContinuation { continuation in
            Thread {
                continuation.resume(with: Result { try runBlocking(executable, arguments, input: input, environment: environment) })
            }.start()
        }
    }

    /// `run`, on the calling thread (for a caller that is no task, and waits).
    static func runBlocking(_ executable: String, _ arguments: [String], input: String? = nil, environment: [String: String]? = nil)
        throws -> (status: Int32, output: String)
    {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let (output, inputPipe) = try Spawn.serially {
            let output = Pipe()
            process.standardOutput = output
            process.standardError = output
            let inputPipe = Pipe()
            process.standardInput = inputPipe
            try process.run()
            return (output, inputPipe)
        }
        if let input { inputPipe.fileHandleForWriting.write(Data(input.utf8)) }
        try inputPipe.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// The Python that has the test tools from PyPI (ccxt), which `scripts/test` installs into
    /// `var/test/venv` (pinned in `scripts/test-requirements.txt`); `VAKT_TEST_PYTHON` names another.
    public static func testPython() throws -> String {
        let path =
            ProcessInfo.processInfo.environment["VAKT_TEST_PYTHON"] ?? packageRoot.appendingPathComponent("var/test/venv/bin/python").path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw MissingFixture("no Python with the test tools at \(path); scripts/test installs them")
        }
        return path
    }

    /// Finds a program on PATH.
    public static func which(_ name: String) -> String? {
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let path = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }
}

/// A fixture the environment lacks; the message says how to provide it.
public struct MissingFixture: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension TestEnvironment {
    /// The pids whose parent is `parent` and that are alive (not zombies), read from /proc.
    public static func childPIDs(of parent: Int32) -> [Int32] {
        ProcStat.all().filter { $0.parent == parent && !$0.hasExited }.map(\.pid)
    }

    /// Whether a process with this pid exists and has not exited.
    public static func isAlive(_ pid: Int32) -> Bool {
        ProcStat.read(pid).map { !$0.hasExited } ?? false
    }
}

extension TestEnvironment {
    /// Whether something accepts TCP connections on 127.0.0.1:`port` right now.
    public static func isListening(_ port: Int) -> Bool {
        withLoopbackSocket(port: port) { fd, address, length in connect(fd, address, length) } == 0
    }
}

extension TestEnvironment {
    /// Children of `parent` that have exited but were not reaped.
    public static func zombieChildren(of parent: Int32) -> [Int32] {
        ProcStat.all().filter { $0.parent == parent && $0.state == "Z" }.map(\.pid)
    }
}
