import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A process as `/proc/<pid>/stat` shows it: the one reader of that file in the harness.
public struct ProcStat: Sendable, Equatable {
    public var pid: Int32
    /// `R`, `S`, `D`, `T`, `Z` (exited, not yet reaped), `X` (dead), ...
    public var state: Character
    public var parent: Int32

    /// Exited: a zombie or dead. It holds no ports or files any more.
    public var hasExited: Bool { state == "Z" || state == "X" }

    /// The process now; nil when there is none with this pid.
    public static func read(_ pid: Int32) -> ProcStat? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return nil }
        return parse(text, pid: pid)
    }

    /// The process's resident memory in bytes (`/proc/<pid>/statm`); nil when there is none.
    public static func residentBytes(_ pid: Int32) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/statm", encoding: .utf8) else { return nil }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// Every process now.
    public static func all() -> [ProcStat] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap { Int32($0).flatMap(read) }
    }

    /// "pid (name) S ppid ...": the state and parent follow the name, which may itself hold
    /// spaces and parentheses, so the fields are read after its last ")".
    static func parse(_ text: String, pid: Int32) -> ProcStat? {
        guard let endOfName = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: endOfName)...].split(separator: " ")
        guard fields.count > 1, let state = fields[0].first, let parent = Int32(fields[1]) else { return nil }
        return ProcStat(pid: pid, state: state, parent: parent)
    }
}
