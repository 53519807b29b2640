/// One problem in a configuration, located as `FILE:key.path: reason`.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var path: String
    public var reason: String

    public init(file: String, path: String, reason: String) {
        self.file = file
        self.path = path
        self.reason = reason
    }

    public var description: String {
        path.isEmpty ? "\(file): \(reason)" : "\(file):\(path): \(reason)"
    }
}

/// Every problem found in a configuration, reported together so an operator fixes them in one pass.
public struct ConfigErrors: Error, Sendable, CustomStringConvertible {
    public var errors: [ConfigError]

    public init(_ errors: [ConfigError]) {
        self.errors = errors
    }

    public var description: String {
        errors.map(\.description).joined(separator: "\n")
    }

    /// The exit status for a configuration error, from sysexits.h.
    public static let exitCode: Int32 = 78
}
