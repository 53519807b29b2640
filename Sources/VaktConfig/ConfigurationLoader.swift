import Foundation

/// Loads and validates the configuration file with its environment overrides.
public enum ConfigurationLoader {
    /// The file used when neither `--config` nor `VAKT_CONFIG` names one.
    public static let defaultPath = "config/vakt.yaml"

    /// The file to read: the explicit path, else `VAKT_CONFIG`, else ``defaultPath``.
    public static func path(explicit: String?, environment: [String: String]) -> String {
        explicit ?? environment["VAKT_CONFIG"] ?? defaultPath
    }

    public static func load(
        path: String,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ConfigErrors) -> VaktConfiguration {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            let reason = FileManager.default.fileExists(atPath: path) ? "cannot read file (not UTF-8 or unreadable)" : "no such file"
            throw ConfigErrors([ConfigError(file: path, path: "", reason: reason)])
        }
        return try parse(yaml: text, file: path, environment: environment)
    }

    public static func parse(yaml: String, file: String, environment: [String: String]) throws(ConfigErrors) -> VaktConfiguration {
        let tree = try ConfigValue.parse(yaml: yaml, file: file)
        let reader = ConfigReader(file: file, root: tree, environment: environment)
        let configuration = VaktConfiguration(reading: reader.root)
        try reader.finish()
        return configuration
    }
}
