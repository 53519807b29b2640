import Foundation
import Logging
import VaktConfig

/// Writes one logfmt line per event to stderr, flushed at once: `level=info service=gateway
/// msg="serving" port=8000`. Under systemd (`JOURNAL_STREAM` set) each line starts with the
/// syslog priority (`<6>`), so journald records the level, and the timestamp is left to journald.
///
/// Metadata whose key names a secret (token, password, secret, authorization) is replaced by
/// `<redacted>` whatever its value, as a last line of defence behind the ``VaktConfig/Secret`` type.
public struct LogfmtLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    private let label: String
    private let journald: Bool

    public init(label: String, level: Logger.Level, journald: Bool = ProcessInfo.processInfo.environment["JOURNAL_STREAM"] != nil) {
        self.label = label
        self.logLevel = level
        self.journald = journald
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        FileHandle.standardError.write(Data((format(event) + "\n").utf8))
    }

    func format(_ event: LogEvent) -> String {
        var line = ""
        if journald {
            line += "<\(Self.syslogPriority(event.level))>"
        } else {
            line += "ts=\(Self.timestamp()) "
        }
        line += "level=\(event.level.rawValue) logger=\(Self.quote(label)) msg=\(Self.quote(event.message.description))"
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        for key in merged.keys.sorted() {
            let value = Self.isSecretKey(key) ? "<redacted>" : Self.render(merged[key]!)
            line += " \(Self.sanitizeKey(key))=\(Self.quote(value))"
        }
        if event.level >= .error, merged["source"] == nil {
            line += " source=\(Self.quote("\(event.file):\(event.line)"))"
        }
        return line
    }

    static func isSecretKey(_ key: String) -> Bool {
        let lowered = key.lowercased()
        return ["token", "password", "secret", "authorization", "credential"].contains { lowered.contains($0) }
    }

    static func syslogPriority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    private static func render(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let text): text
        case .stringConvertible(let convertible): convertible.description
        case .array(let items): "[" + items.map(render).joined(separator: ",") + "]"
        case .dictionary(let entries):
            "{" + entries.sorted { $0.key < $1.key }.map { "\($0.key):\(render($0.value))" }.joined(separator: ",") + "}"
        }
    }

    private static func sanitizeKey(_ key: String) -> String {
        String(key.map { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." || $0 == "-" ? $0 : "_" })
    }

    /// Quotes a value when it holds spaces, quotes, `=` or control characters.
    static func quote(_ value: String) -> String {
        let needsQuotes = value.isEmpty || value.unicodeScalars.contains { $0 == " " || $0 == "\"" || $0 == "=" || $0.value < 0x20 }
        guard needsQuotes else { return value }
        var escaped = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": escaped += "\\\""
            case "\\": escaped += "\\\\"
            case "\n": escaped += "\\n"
            case "\t": escaped += "\\t"
            case _ where scalar.value < 0x20: escaped += String(format: "\\u%04x", scalar.value)
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped + "\""
    }

    private static func timestamp() -> String {
        Date().formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
    }
}

extension LogfmtLogHandler {
    /// Installs this handler for the whole process; call once, first thing in `main`.
    public static func bootstrap(level: Logger.Level) {
        LoggingSystem.bootstrap { label in LogfmtLogHandler(label: label, level: level) }
    }
}

extension Logger.Level {
    /// The swift-log level for a configured level name.
    public init(_ level: LogSettings.Level) {
        switch level {
        case .trace: self = .trace
        case .debug: self = .debug
        case .info: self = .info
        case .notice: self = .notice
        case .warning: self = .warning
        case .error: self = .error
        case .critical: self = .critical
        }
    }
}
