import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// Records each running child (pid and kernel start time) under the supervisor's state
/// directory, so that a supervisor started after one that was killed finds the children it
/// left and stops them before starting new ones. The start time guards against a recycled pid.
struct StateDirectory: Sendable {
    let path: String
    let logger: Logger

    private var childrenPath: String { path + "/children" }

    init(path: String, logger: Logger) throws {
        self.path = path
        self.logger = logger
        try FileManager.default.createDirectory(atPath: path + "/children", withIntermediateDirectories: true)
    }

    func record(name: String, pid: Int32) {
        guard let started = Self.startTime(of: pid) else { return }
        let file = "\(childrenPath)/\(name)"
        try? "\(pid) \(started)\n".write(toFile: file, atomically: true, encoding: .utf8)
    }

    func forget(name: String) {
        try? FileManager.default.removeItem(atPath: "\(childrenPath)/\(name)")
    }

    /// Stops every recorded child that still runs: SIGTERM to its process group, SIGKILL after
    /// `timeout`. Returns the names of those it stopped.
    func stopLeftovers(timeout: Duration) async -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: childrenPath)) ?? []
        var stopped: [String] = []
        for name in names.sorted() {
            let file = "\(childrenPath)/\(name)"
            defer { try? FileManager.default.removeItem(atPath: file) }
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { continue }
            let fields = text.split(whereSeparator: \.isWhitespace)
            guard fields.count == 2, let pid = Int32(fields[0]), let started = UInt64(fields[1]),
                Self.startTime(of: pid) == started
            else { continue }
            logger.warning("stopping a child left by a previous supervisor", metadata: ["child": "\(name)", "pid": "\(pid)"])
            kill(-pid, SIGTERM)
            let deadline = ContinuousClock.now + timeout
            while Self.startTime(of: pid) == started && ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(20))
            }
            kill(-pid, SIGKILL)
            stopped.append(name)
        }
        return stopped
    }

    /// Field 22 of `/proc/PID/stat`: the process's start time in clock ticks since boot.
    static func startTime(of pid: Int32) -> UInt64? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else {
            return nil
        }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 19, fields[0] != "Z" else { return nil }
        return UInt64(fields[19])
    }
}
