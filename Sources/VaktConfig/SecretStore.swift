import Foundation

/// A secret value whose description never shows it, so it cannot leak through a log line.
public struct Secret: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    public let value: String

    public init(_ value: String) {
        self.value = value
    }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }

    /// Compares in time independent of where the inputs first differ, so a token cannot be
    /// guessed byte by byte from response times.
    public func matches(_ candidate: some StringProtocol) -> Bool {
        let expected = Array(value.utf8)
        let given = Array(candidate.utf8)
        var difference = UInt8(truncatingIfNeeded: expected.count ^ given.count)
        for index in 0..<max(expected.count, given.count) {
            let left = index < expected.count ? expected[index] : 0
            let right = index < given.count ? given[index] : 0
            difference |= left ^ right
        }
        return difference == 0 && !expected.isEmpty
    }
}

/// Finds secrets by name: a systemd credential (`$CREDENTIALS_DIRECTORY/NAME`, from
/// `LoadCredential=`) first, then the environment variable `VAKT_SECRET_NAME` (upper case, `-` as
/// `_`). Secrets are never read from the configuration file, which lives in the repository.
public struct SecretStore: Sendable {
    let environment: [String: String]

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
    }

    public static func variable(for name: String) -> String {
        "VAKT_SECRET_" + name.uppercased().replacingOccurrences(of: "-", with: "_")
    }

    public func secret(named name: String) -> Secret? {
        if let directory = environment["CREDENTIALS_DIRECTORY"],
            let data = FileManager.default.contents(atPath: "\(directory)/\(name)"),
            let text = String(data: data, encoding: .utf8)
        {
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if !trimmed.isEmpty { return Secret(trimmed) }
        }
        if let value = environment[Self.variable(for: name)], !value.isEmpty {
            return Secret(value)
        }
        return nil
    }
}
