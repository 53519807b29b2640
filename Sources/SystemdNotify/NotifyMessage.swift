/// One datagram of the sd_notify protocol: newline-separated `KEY=VALUE` assignments.
///
/// The keys a supervisor acts on are typed; anything else is kept as ``Assignment/other(key:value:)``
/// so that newer systemd keys (for example `MONOTONIC_USEC=`) do not make a datagram invalid.
public struct NotifyMessage: Sendable, Equatable {
    public enum Assignment: Sendable, Equatable {
        case ready
        case reloading
        case stopping
        case status(String)
        case watchdogPing
        case watchdogTrigger
        case watchdogInterval(microseconds: UInt64)
        case mainPID(Int32)
        case extendTimeout(microseconds: UInt64)
        case errno(Int32)
        case barrier
        case other(key: String, value: String)

        /// The metric label for this kind of assignment.
        public var kind: String {
            switch self {
            case .ready: "READY"
            case .reloading: "RELOADING"
            case .stopping: "STOPPING"
            case .status: "STATUS"
            case .watchdogPing, .watchdogTrigger: "WATCHDOG"
            case .watchdogInterval: "WATCHDOG_USEC"
            case .mainPID: "MAINPID"
            case .extendTimeout: "EXTEND_TIMEOUT_USEC"
            case .errno: "ERRNO"
            case .barrier: "BARRIER"
            case .other: "other"
            }
        }
    }

    public var assignments: [Assignment]

    /// The largest datagram accepted; systemd's own limit for notify messages.
    public static let maximumLength = 4096

    public enum ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        case empty
        case tooLong(Int)
        case notUTF8
        case missingEquals(line: Int)
        case emptyKey(line: Int)
        case invalidKey(line: Int, key: String)
        case invalidValue(key: String, value: String)

        public var description: String {
            switch self {
            case .empty: "empty notify message"
            case .tooLong(let length): "notify message of \(length) bytes exceeds \(NotifyMessage.maximumLength)"
            case .notUTF8: "notify message is not valid UTF-8"
            case .missingEquals(let line): "line \(line) has no '=' (expected KEY=VALUE)"
            case .emptyKey(let line): "line \(line) has an empty key"
            case .invalidKey(let line, let key): "line \(line): key \"\(key)\" is not upper-case letters, digits and '_'"
            case .invalidValue(let key, let value): "\(key)=\(value) is not a valid value for \(key)"
            }
        }
    }

    public init(assignments: [Assignment]) {
        self.assignments = assignments
    }

    public init(parsing bytes: some Collection<UInt8>) throws(ParseError) {
        guard !bytes.isEmpty else { throw .empty }
        guard bytes.count <= Self.maximumLength else { throw .tooLong(bytes.count) }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw .notUTF8 }
        var assignments: [Assignment] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            let number = index + 1
            guard let equals = line.firstIndex(of: "=") else { throw .missingEquals(line: number) }
            let key = String(line[..<equals])
            let value = String(line[line.index(after: equals)...])
            guard !key.isEmpty else { throw .emptyKey(line: number) }
            guard key.utf8.allSatisfy({ ($0 >= 65 && $0 <= 90) || ($0 >= 48 && $0 <= 57) || $0 == 95 }) else {
                throw .invalidKey(line: number, key: key)
            }
            assignments.append(try Self.assignment(key: key, value: value))
        }
        guard !assignments.isEmpty else { throw .empty }
        self.assignments = assignments
    }

    private static func assignment(key: String, value: String) throws(ParseError) -> Assignment {
        func flag() throws(ParseError) {
            guard value == "1" else { throw .invalidValue(key: key, value: value) }
        }
        func number<T: FixedWidthInteger>(_: T.Type) throws(ParseError) -> T {
            guard let parsed = T(value), parsed >= 0 else { throw .invalidValue(key: key, value: value) }
            return parsed
        }
        switch key {
        case "READY":
            try flag()
            return .ready
        case "RELOADING":
            try flag()
            return .reloading
        case "STOPPING":
            try flag()
            return .stopping
        case "BARRIER":
            try flag()
            return .barrier
        case "STATUS":
            return .status(value)
        case "WATCHDOG":
            switch value {
            case "1": return .watchdogPing
            case "trigger": return .watchdogTrigger
            default: throw .invalidValue(key: key, value: value)
            }
        case "WATCHDOG_USEC":
            let microseconds = try number(UInt64.self)
            guard microseconds > 0 else { throw .invalidValue(key: key, value: value) }
            return .watchdogInterval(microseconds: microseconds)
        case "MAINPID":
            let pid = try number(Int32.self)
            guard pid > 0 else { throw .invalidValue(key: key, value: value) }
            return .mainPID(pid)
        case "EXTEND_TIMEOUT_USEC":
            return .extendTimeout(microseconds: try number(UInt64.self))
        case "ERRNO":
            return .errno(try number(Int32.self))
        default:
            return .other(key: key, value: value)
        }
    }

    /// The wire form: one `KEY=VALUE` line per assignment.
    public var text: String {
        assignments.map { assignment in
            switch assignment {
            case .ready: "READY=1"
            case .reloading: "RELOADING=1"
            case .stopping: "STOPPING=1"
            case .barrier: "BARRIER=1"
            case .status(let text): "STATUS=\(text)"
            case .watchdogPing: "WATCHDOG=1"
            case .watchdogTrigger: "WATCHDOG=trigger"
            case .watchdogInterval(let microseconds): "WATCHDOG_USEC=\(microseconds)"
            case .mainPID(let pid): "MAINPID=\(pid)"
            case .extendTimeout(let microseconds): "EXTEND_TIMEOUT_USEC=\(microseconds)"
            case .errno(let code): "ERRNO=\(code)"
            case .other(let key, let value): "\(key)=\(value)"
            }
        }.joined(separator: "\n")
    }
}
