import Yams

/// A configuration tree independent of its source, so that the YAML file and the environment
/// overrides are merged before anything is validated.
public indirect enum ConfigValue: Sendable, Equatable {
    case mapping([(key: String, value: ConfigValue)], origin: Origin)
    case sequence([ConfigValue], origin: Origin)
    case scalar(String, origin: Origin)
    case null(origin: Origin)

    /// Where a value came from, so an error can point at the line or the variable to fix.
    public enum Origin: Sendable, Equatable, CustomStringConvertible {
        case file(line: Int)
        case environment(variable: String)
        case defaults

        public var description: String {
            switch self {
            case .file(let line): "line \(line)"
            case .environment(let variable): "from \(variable)"
            case .defaults: "default"
            }
        }
    }

    public var origin: Origin {
        switch self {
        case .mapping(_, let origin), .sequence(_, let origin), .scalar(_, let origin), .null(let origin):
            origin
        }
    }

    public static func == (lhs: ConfigValue, rhs: ConfigValue) -> Bool {
        switch (lhs, rhs) {
        case (.mapping(let a, _), .mapping(let b, _)):
            a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        case (.sequence(let a, _), .sequence(let b, _)): a == b
        case (.scalar(let a, _), .scalar(let b, _)): a == b
        case (.null, .null): true
        default: false
        }
    }

    /// A short name of the kind of value, for error messages.
    var kindName: String {
        switch self {
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .scalar(let text, _): "\"\(text)\""
        case .null: "nothing"
        }
    }
}

extension ConfigValue {
    /// Parses YAML text. A syntax error is reported with its line and column.
    static func parse(yaml: String, file: String) throws(ConfigErrors) -> ConfigValue {
        let node: Node?
        do {
            node = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw ConfigErrors([ConfigError(file: file, path: "", reason: Self.describe(error))])
        } catch {
            throw ConfigErrors([ConfigError(file: file, path: "", reason: "cannot read YAML: \(error)")])
        }
        guard let node else { return .mapping([], origin: .file(line: 1)) }
        return try convert(node, file: file, path: "")
    }

    private static func convert(_ node: Node, file: String, path: String) throws(ConfigErrors) -> ConfigValue {
        let origin = Origin.file(line: (node.mark?.line ?? 0) + 1)
        switch node {
        case .scalar(let scalar):
            if scalar.style == .plain, ["", "~", "null", "Null", "NULL"].contains(scalar.string) {
                return .null(origin: origin)
            }
            return .scalar(scalar.string, origin: origin)
        case .sequence(let sequence):
            var items: [ConfigValue] = []
            for (index, item) in sequence.enumerated() {
                items.append(try convert(item, file: file, path: "\(path)[\(index)]"))
            }
            return .sequence(items, origin: origin)
        case .mapping(let mapping):
            var entries: [(key: String, value: ConfigValue)] = []
            for (keyNode, valueNode) in mapping {
                guard let key = keyNode.string else {
                    throw ConfigErrors([ConfigError(file: file, path: path, reason: "mapping keys must be strings")])
                }
                let childPath = path.isEmpty ? key : "\(path).\(key)"
                if entries.contains(where: { $0.key == key }) {
                    throw ConfigErrors([ConfigError(file: file, path: childPath, reason: "duplicate key")])
                }
                entries.append((key, try convert(valueNode, file: file, path: childPath)))
            }
            return .mapping(entries, origin: origin)
        case .alias:
            throw ConfigErrors([ConfigError(file: file, path: path, reason: "YAML aliases are not supported")])
        }
    }

    private static func describe(_ error: YamlError) -> String {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
            .composer(_, let problem, let mark, _):
            "YAML syntax error at line \(mark.line), column \(mark.column): \(problem)"
        case .duplicatedKeysInMapping(let duplicates, let context):
            "duplicate key \(duplicates.sorted().joined(separator: ", ")) in the mapping at line \(context.mark.line)"
        case .reader(let problem, _, _, _):
            "cannot read YAML: \(problem)"
        default:
            "YAML syntax error: \(error)"
        }
    }
}
