import Foundation
import ServiceKit
import VaktConfig

/// The supervisor's control API as `vakt status|start|stop|restart` uses it.
public struct SupervisorClient: Sendable {
    let control: ControlClient

    public var baseURL: String { control.baseURL }

    public init(baseURL: String, token: Secret?, tokenSecret: String = "control-token") {
        control = ControlClient(baseURL: baseURL, token: token, tokenSecret: tokenSecret)
    }

    /// The supervisor of the system `configuration` describes.
    public init(configuration: VaktConfiguration, secrets: SecretStore = SecretStore()) {
        let secret = configuration.supervisor.controlTokenSecret
        self.init(baseURL: configuration.baseURL(of: .supervisor), token: secrets.secret(named: secret), tokenSecret: secret)
    }

    /// The same client, addressing the supervisor at another URL.
    public func at(_ baseURL: String) -> SupervisorClient {
        SupervisorClient(baseURL: baseURL, token: control.token, tokenSecret: control.tokenSecret)
    }

    public func services() async throws -> (summary: String, services: [ChildSnapshot], consumerGroups: [ConsumerGroupSnapshot]) {
        let response = try JSONDecoder().decode(ControlAPI.ServicesResponse.self, from: try await control.get("/api/services"))
        return (response.summary, response.services, response.consumerGroups ?? [])
    }

    /// `GET /api/mesh`.
    public func mesh() async throws -> MeshReport {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(MeshReport.self, from: try await control.get("/api/mesh"))
    }

    public func perform(_ action: String, on name: String) async throws -> ChildSnapshot {
        try JSONDecoder().decode(ChildSnapshot.self, from: try await control.send(.POST, "/api/services/\(name)/\(action)"))
    }

    /// A fixed-width table, one row per child, like `systemctl list-units`.
    /// Consumer groups, one line each, those needing attention first.
    public static func lagTable(_ groups: [ConsumerGroupSnapshot]) -> String {
        guard !groups.isEmpty else { return "consumer groups: none yet" }
        let order = ["ERR", "STOP", "STALL", "WARN", "OK"]
        let sorted = groups.sorted {
            (order.firstIndex(of: $0.status) ?? 9, $0.stream, $0.group) < (order.firstIndex(of: $1.status) ?? 9, $1.stream, $1.group)
        }
        return
            (["consumer groups (lag verdicts):"]
            + sorted.map { "  \($0.status.padding(toLength: 5, withPad: " ", startingAt: 0))  \($0.group) on \($0.stream): \($0.reason)" })
            .joined(separator: "\n")
    }

    public static func table(summary: String, services: [ChildSnapshot]) -> String {
        let header = ["SERVICE", "STATE", "READY", "PID", "UPTIME", "RESTARTS", "LAST EXIT", "STATUS"]
        let rows = services.map { child in
            [
                child.name + (child.critical ? "*" : ""), child.state.rawValue, child.ready ? "yes" : "no",
                child.pid.map(String.init) ?? "-", child.uptimeSeconds.map(formatUptime) ?? "-", String(child.restarts),
                child.lastExit ?? "-", child.status ?? "",
            ]
        }
        return (["supervisor: \(summary)  (* critical for trading)"] + columns([header] + rows)).joined(separator: "\n")
    }

    /// Rows as lines of left-aligned columns two spaces apart, the last column unpadded.
    static func columns(_ rows: [[String]]) -> [String] {
        let count = rows.map(\.count).max() ?? 0
        let widths = (0..<count).map { column in rows.map { column < $0.count ? $0[column].count : 0 }.max() ?? 0 }
        return rows.map { row in
            row.indices.map { $0 == row.count - 1 ? row[$0] : row[$0].padding(toLength: widths[$0], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
    }

    static func formatUptime(_ seconds: Double) -> String {
        let whole = Int(seconds)
        if whole < 60 { return "\(whole)s" }
        if whole < 3600 { return "\(whole / 60)m\(whole % 60)s" }
        if whole < 86400 { return "\(whole / 3600)h\(whole % 3600 / 60)m" }
        return "\(whole / 86400)d\(whole % 86400 / 3600)h"
    }
}
