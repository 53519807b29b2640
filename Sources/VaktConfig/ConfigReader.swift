import Foundation
import Money

/// Reads a configuration tree against the schema that code states key by key, collecting every
/// problem instead of stopping at the first.
///
/// Each key may be overridden from the environment: `VAKT_` followed by its path in upper case,
/// with `__` between levels and `_` for `-` (`services.ai-engine.port` is
/// `VAKT_SERVICES__AI_ENGINE__PORT`). A `VAKT_` variable that points into a known section but
/// names no key in it (`VAKT_REDIS__PROT`) is reported like an unknown key in the file, so a
/// typo never passes silently; one whose first part is no section (`VAKT_BUILD`) belongs to
/// something else and is ignored. `VAKT_SECRET_*` variables hold secrets (see ``SecretStore``)
/// and `VAKT_CONFIG` names the file; neither is an override.
public final class ConfigReader {
    public let file: String
    let environment: [String: String]
    private var consumedVariables: Set<String> = []
    /// Top-level keys the schema read: the sections an override may point into.
    private var sections: Set<String> = []
    public private(set) var errors: [ConfigError] = []

    public init(file: String, root: ConfigValue, environment: [String: String]) {
        self.file = file
        self.environment = environment
        self.rootValue = root
    }

    private let rootValue: ConfigValue

    public var root: Section { Section(reader: self, path: "", value: rootValue) }

    public func report(_ path: String, _ reason: String) {
        errors.append(ConfigError(file: file, path: path, reason: reason))
    }

    /// Reports every override variable that no key consumed, then the collected errors, if any.
    public func finish() throws(ConfigErrors) {
        for name in environment.keys.sorted() where Self.isOverride(name) && !consumedVariables.contains(name) {
            let path = Self.path(ofVariable: name)
            let section = path.split(separator: ".", maxSplits: 1).first.map(String.init) ?? path
            let knownSection = sections.contains(section) || sections.contains(section.replacingOccurrences(of: "_", with: "-"))
            if knownSection && path.contains(".") {
                report(path, "unknown key (set by environment variable \(name))")
            } else if let near = sections.sorted().first(where: { path.hasPrefix($0.replacingOccurrences(of: "-", with: "_") + "_") }) {
                let suggestion = Self.variable(forPath: near) + "__" + name.dropFirst(Self.variable(forPath: near).count + 1)
                report(path, "unknown key (set by environment variable \(name)); levels are separated by __, as in \(suggestion)")
            }
        }
        if !errors.isEmpty { throw ConfigErrors(errors) }
    }

    static let overridePrefix = "VAKT_"
    static let reservedPrefixes = ["VAKT_SECRET_", "VAKT_CONFIG"]

    static func isOverride(_ name: String) -> Bool {
        name.hasPrefix(overridePrefix) && !reservedPrefixes.contains(where: name.hasPrefix)
    }

    public static func variable(forPath path: String) -> String {
        overridePrefix
            + path.uppercased().replacingOccurrences(of: "-", with: "_").replacingOccurrences(of: ".", with: "__")
    }

    static func path(ofVariable name: String) -> String {
        name.dropFirst(overridePrefix.count).lowercased().replacingOccurrences(of: "__", with: ".")
    }

    fileprivate func override(for path: String) -> ConfigValue? {
        let name = Self.variable(forPath: path)
        guard let text = environment[name] else { return nil }
        consumedVariables.insert(name)
        return .scalar(text, origin: .environment(variable: name))
    }

    /// A mapping in the tree; reading a key marks it known, ``finish()`` reports the rest.
    public final class Section {
        let reader: ConfigReader
        public let path: String
        let entries: [(key: String, value: ConfigValue)]
        private var readKeys: Set<String> = []
        public let isPresent: Bool

        init(reader: ConfigReader, path: String, value: ConfigValue?) {
            self.reader = reader
            self.path = path
            switch value {
            case .mapping(let entries, _)?:
                self.entries = entries
                self.isPresent = true
            case nil, .null?:
                self.entries = []
                self.isPresent = false
            case let other?:
                self.entries = []
                self.isPresent = false
                reader.report(path, "expected a mapping, got \(other.kindName)")
            }
        }

        public var keys: [String] { entries.map(\.key) }

        func childPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

        /// The raw value of `key`, the environment override first.
        public func value(_ key: String) -> ConfigValue? {
            markRead(key)
            if let overridden = reader.override(for: childPath(key)) { return overridden }
            return entries.first { $0.key == key }?.value
        }

        public func report(_ key: String, _ reason: String) {
            reader.report(childPath(key), reason)
        }

        private func markRead(_ key: String) {
            readKeys.insert(key)
            if path.isEmpty { reader.sections.insert(key) }
        }

        public func section(_ key: String) -> Section {
            markRead(key)
            return Section(reader: reader, path: childPath(key), value: entries.first { $0.key == key }?.value)
        }

        /// Reports keys present in the file that the schema did not read.
        public func finish() {
            for entry in entries where !readKeys.contains(entry.key) {
                reader.report(childPath(entry.key), "unknown key")
            }
        }

        private func scalar(_ key: String) -> (text: String, origin: ConfigValue.Origin)? {
            switch value(key) {
            case .scalar(let text, let origin)?:
                return (text, origin)
            case nil, .null?:
                return nil
            case let other?:
                report(key, "expected a single value, got \(other.kindName)")
                return nil
            }
        }

        private func fail(_ key: String, _ reason: String, _ origin: ConfigValue.Origin) {
            if case .environment(let variable) = origin {
                report(key, "\(reason) (from \(variable))")
            } else {
                report(key, reason)
            }
        }

        public func string(_ key: String, default defaultValue: String) -> String {
            scalar(key)?.text ?? defaultValue
        }

        public func optionalString(_ key: String) -> String? {
            scalar(key)?.text
        }

        /// An `http://` or `https://` URL with a host, or nil (reported) when `key` holds
        /// something else.
        public func optionalHTTPURL(_ key: String) -> String? {
            guard let (text, origin) = scalar(key) else { return nil }
            guard text.hasPrefix("http://") || text.hasPrefix("https://") else {
                fail(key, "expected an http:// or https:// URL, got \"\(text)\"", origin)
                return nil
            }
            guard let host = URLComponents(string: text)?.host, !host.isEmpty else {
                fail(key, "\"\(text)\" is not a URL with a host", origin)
                return nil
            }
            return text
        }

        /// Whether the file or the environment sets `key`.
        public func contains(_ key: String) -> Bool {
            entries.contains { $0.key == key } || reader.environment[ConfigReader.variable(forPath: childPath(key))] != nil
        }

        public func int(_ key: String, default defaultValue: Int, in range: ClosedRange<Int>) -> Int {
            optionalInt(key, in: range) ?? defaultValue
        }

        public func optionalInt(_ key: String, in range: ClosedRange<Int>) -> Int? {
            guard let (text, origin) = scalar(key) else { return nil }
            guard let number = Int(text.replacingOccurrences(of: "_", with: "")) else {
                fail(key, "expected an integer, got \"\(text)\"", origin)
                return nil
            }
            guard range.contains(number) else {
                fail(key, "\(number) is out of range \(range.lowerBound)...\(range.upperBound)", origin)
                return nil
            }
            return number
        }

        /// An exact decimal (`0.001`, `64000.5`), at least `minimum`; money and prices are read
        /// with this, never as a binary floating-point number.
        public func optionalDecimal(_ key: String, atLeast minimum: FixedDecimal = .zero) -> FixedDecimal? {
            guard let (text, origin) = scalar(key) else { return nil }
            let number: FixedDecimal
            do {
                number = try FixedDecimal(parsing: text.trimmingCharacters(in: .whitespaces))
            } catch {
                fail(key, "expected a decimal number such as 0.001, got \"\(text)\": \(error)", origin)
                return nil
            }
            guard number >= minimum else {
                fail(key, "\(text) is below the least allowed, \(minimum)", origin)
                return nil
            }
            return number
        }

        public func double(_ key: String, default defaultValue: Double, in range: ClosedRange<Double>) -> Double {
            guard let (text, origin) = scalar(key) else { return defaultValue }
            guard let number = Double(text), number.isFinite else {
                fail(key, "expected a number, got \"\(text)\"", origin)
                return defaultValue
            }
            guard range.contains(number) else {
                fail(key, "\(text) is out of range \(range.lowerBound)...\(range.upperBound)", origin)
                return defaultValue
            }
            return number
        }

        public func bool(_ key: String, default defaultValue: Bool) -> Bool {
            guard let (text, origin) = scalar(key) else { return defaultValue }
            switch text.lowercased() {
            case "true", "yes", "on": return true
            case "false", "no", "off": return false
            default:
                fail(key, "expected true or false, got \"\(text)\"", origin)
                return defaultValue
            }
        }

        /// A duration in milliseconds, written as a number (`250`) or with a unit (`250ms`, `2s`,
        /// `1m`, `1h`, `30d`).
        public func duration(_ key: String, default defaultValue: Duration, in range: ClosedRange<Duration>) -> Duration {
            guard let (text, origin) = scalar(key) else { return defaultValue }
            guard let duration = Self.parseDuration(text) else {
                fail(key, "expected a duration such as 500ms, 2s or 1m, got \"\(text)\"", origin)
                return defaultValue
            }
            guard range.contains(duration) else {
                fail(key, "\(text) is out of range \(range.lowerBound.milliseconds)ms...\(range.upperBound.milliseconds)ms", origin)
                return defaultValue
            }
            return duration
        }

        static func parseDuration(_ text: String) -> Duration? {
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            // "us" and "ms" before "s", which they end with.
            let units: [(suffix: String, microseconds: Int64)] = [
                ("us", 1), ("ms", 1000), ("s", 1_000_000), ("m", 60_000_000), ("h", 3_600_000_000), ("d", 86_400_000_000),
            ]
            for unit in units where trimmed.hasSuffix(unit.suffix) {
                guard let amount = Int64(trimmed.dropLast(unit.suffix.count)), amount >= 0 else { return nil }
                let (product, overflow) = amount.multipliedReportingOverflow(by: unit.microseconds)
                return overflow ? nil : .microseconds(product)
            }
            guard let milliseconds = Int64(trimmed), milliseconds >= 0 else { return nil }
            return .milliseconds(milliseconds)
        }

        public func choice<T: RawRepresentable & CaseIterable>(_ key: String, default defaultValue: T) -> T
        where T.RawValue == String {
            guard let (text, origin) = scalar(key) else { return defaultValue }
            guard let value = T(rawValue: text) else {
                let allowed = T.allCases.map(\.rawValue).joined(separator: ", ")
                fail(key, "\"\(text)\" is not one of \(allowed)", origin)
                return defaultValue
            }
            return value
        }

        /// A list of strings; from the environment, a comma-separated value.
        public func stringList(_ key: String, default defaultValue: [String]) -> [String] {
            switch value(key) {
            case nil, .null?:
                return defaultValue
            case .scalar(let text, .environment)?:
                return text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            case .sequence(let items, _)?:
                var result: [String] = []
                for (index, item) in items.enumerated() {
                    if case .scalar(let text, _) = item {
                        result.append(text)
                    } else {
                        reader.report("\(childPath(key))[\(index)]", "expected a single value, got \(item.kindName)")
                    }
                }
                return result
            case let other?:
                report(key, "expected a list, got \(other.kindName)")
                return defaultValue
            }
        }

        /// A mapping of strings to strings, such as environment variables for a child process.
        public func stringMap(_ key: String) -> [String: String] {
            let section = section(key)
            var result: [String: String] = [:]
            for name in section.keys {
                if let text = section.optionalString(name) { result[name] = text }
            }
            return result
        }
    }
}
