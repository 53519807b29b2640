import AsyncHTTPClient
import Foundation
import NIOCore
import VaktConfig

/// The supervisor's control API as `vakt status|start|stop|restart` uses it.
public struct SupervisorClient: Sendable {
    public let baseURL: String
    let token: Secret?

    public init(baseURL: String, token: Secret?) {
        self.baseURL = baseURL
        self.token = token
    }

    /// The supervisor of the system `configuration` describes.
    public init(configuration: VaktConfiguration, secrets: SecretStore = SecretStore()) {
        let port = configuration.service(.supervisor).port ?? ServiceKind.supervisor.defaultPort
        self.init(
            baseURL: "http://\(configuration.http.host):\(port)",
            token: secrets.secret(named: configuration.supervisor.controlTokenSecret))
    }

    /// The same client, addressing the supervisor at another URL.
    public func at(_ baseURL: String) -> SupervisorClient {
        SupervisorClient(baseURL: baseURL, token: token)
    }

    public struct ClientError: Error, CustomStringConvertible {
        public var description: String
    }

    public func services() async throws -> (summary: String, services: [ChildSnapshot]) {
        let body = try await send(HTTPClientRequest(url: "\(baseURL)/api/services"), expecting: 200)
        let response = try JSONDecoder().decode(ControlAPI.ServicesResponse.self, from: body)
        return (response.summary, response.services)
    }

    public func perform(_ action: String, on name: String) async throws -> ChildSnapshot {
        guard let token else {
            throw ClientError(
                description: "no control token: set \(SecretStore.variable(for: "control-token")) or the control-token credential")
        }
        var request = HTTPClientRequest(url: "\(baseURL)/api/services/\(name)/\(action)")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(token.value)")
        return try JSONDecoder().decode(ChildSnapshot.self, from: try await send(request, expecting: 200))
    }

    private func send(_ request: HTTPClientRequest, expecting status: UInt) async throws -> Data {
        let response: HTTPClientResponse
        do {
            response = try await HTTPClient.shared.execute(request, timeout: .seconds(120))
        } catch {
            throw ClientError(description: "cannot reach the supervisor at \(baseURL): \(error)")
        }
        let body = Data(buffer: try await response.body.collect(upTo: 16 << 20))
        guard response.status.code == status else {
            let message =
                (try? JSONDecoder().decode(ControlAPI.ErrorResponse.self, from: body).error) ?? String(decoding: body, as: UTF8.self)
            throw ClientError(description: "\(response.status.code) \(response.status.reasonPhrase): \(message)")
        }
        return body
    }

    /// A fixed-width table, one row per child, like `systemctl list-units`.
    public static func table(summary: String, services: [ChildSnapshot]) -> String {
        let header = ["SERVICE", "STATE", "READY", "PID", "UPTIME", "RESTARTS", "LAST EXIT", "STATUS"]
        let rows = services.map { child in
            [
                child.name + (child.critical ? "*" : ""), child.state.rawValue, child.ready ? "yes" : "no",
                child.pid.map(String.init) ?? "-", child.uptimeSeconds.map(formatUptime) ?? "-", String(child.restarts),
                child.lastExit ?? "-", child.status ?? "",
            ]
        }
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        let lines = ([header] + rows).map { row in
            row.indices.map { $0 == row.count - 1 ? row[$0] : row[$0].padding(toLength: widths[$0], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
        return (["supervisor: \(summary)  (* critical for trading)"] + lines).joined(separator: "\n")
    }

    static func formatUptime(_ seconds: Double) -> String {
        let whole = Int(seconds)
        if whole < 60 { return "\(whole)s" }
        if whole < 3600 { return "\(whole / 60)m\(whole % 60)s" }
        if whole < 86400 { return "\(whole / 3600)h\(whole % 3600 / 60)m" }
        return "\(whole / 86400)d\(whole % 86400 / 3600)h"
    }
}
