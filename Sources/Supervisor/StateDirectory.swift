import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// Records each running child (pid and kernel start time) under the supervisor's state
/// directory, so that a supervisor started after one that was killed finds the children it
/// left and stops them before starting new ones. The start time guards against a recycled pid.
/// It also holds the safety driver's record of a hold, so a new supervisor keeps holding.
struct StateDirectory: Sendable {
    let path: String
    let logger: Logger

    private var childrenPath: String { path + "/children" }
    /// The safety driver's record of a hold (see ``SafetyDriver``).
    var safetyHoldPath: String { path + "/safety-hold.json" }

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

    /// Stops whatever is left of each recorded child: SIGTERM to every member of its process
    /// group, SIGKILL after `timeout`. The child itself usually died with its supervisor (parent
    /// death signal), but its own children live on in its group; a member counts only if it
    /// started no earlier than the child did, so a recycled pid or group id is never hit.
    /// Returns the names of the children whose leftovers it stopped.
    func stopLeftovers(timeout: Duration) async -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: childrenPath)) ?? []
        var stopped: [String] = []
        for name in names.sorted() {
            let file = "\(childrenPath)/\(name)"
            defer { try? FileManager.default.removeItem(atPath: file) }
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { continue }
            let fields = text.split(whereSeparator: \.isWhitespace)
            guard fields.count == 2, let group = Int32(fields[0]), let started = UInt64(fields[1]) else { continue }
            let members = Self.members(ofGroup: group, startedNoEarlierThan: started)
            guard !members.isEmpty else { continue }
            logger.warning(
                "stopping processes left by a previous supervisor",
                metadata: ["child": "\(name)", "process_group": "\(group)", "pids": "\(members.map(\.pid))"])
            for member in members { kill(member.pid, SIGTERM) }
            let deadline = ContinuousClock.now + timeout
            while !Self.members(ofGroup: group, startedNoEarlierThan: started).isEmpty && ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(20))
            }
            for member in Self.members(ofGroup: group, startedNoEarlierThan: started) { kill(member.pid, SIGKILL) }
            stopped.append(name)
        }
        return stopped
    }

    struct ProcessStat {
        var pid: Int32
        var processGroup: Int32
        var startTime: UInt64
    }

    static func members(ofGroup group: Int32, startedNoEarlierThan started: UInt64) -> [ProcessStat] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { Int32($0).flatMap(stat) }.filter { $0.processGroup == group && $0.startTime >= started }
    }

    static func startTime(of pid: Int32) -> UInt64? {
        stat(pid)?.startTime
    }

    /// `/proc/PID/stat` of a living (not zombie) process: field 5 is the process group, field
    /// 22 the start time in clock ticks since boot.
    static func stat(_ pid: Int32) -> ProcessStat? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = text.lastIndex(of: ")") else {
            return nil
        }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 19, fields[0] != "Z", let group = Int32(fields[2]), let started = UInt64(fields[19]) else { return nil }
        return ProcessStat(pid: pid, processGroup: group, startTime: started)
    }
}
