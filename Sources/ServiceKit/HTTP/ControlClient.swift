import AsyncHTTPClient
import EventBus
import Foundation
import NIOCore
import NIOHTTP1
import VaktConfig

/// The client side of a service's control API, as the `vakt` commands use it: JSON in and out,
/// the bearer token when one is configured, and the server's error message in the thrown error.
public struct ControlClient: Sendable {
    public let baseURL: String
    public let token: Secret?
    /// Names where the token comes from, for the error when there is none.
    public let tokenSecret: String

    /// A client for `kind`'s read APIs on this host, which take no token.
    public static func reader(of kind: ServiceKind, in configuration: VaktConfiguration) -> ControlClient {
        ControlClient(baseURL: configuration.baseURL(of: kind), token: nil, tokenSecret: "")
    }

    public init(baseURL: String, token: Secret?, tokenSecret: String) {
        self.baseURL = baseURL
        self.token = token
        self.tokenSecret = tokenSecret
    }

    public struct ClientError: Error, CustomStringConvertible {
        public var description: String

        public init(description: String) {
            self.description = description
        }
    }

    public func get(_ path: String) async throws -> Data {
        try await send(HTTPClientRequest(url: baseURL + path))
    }

    /// Sends a request that needs the token.
    public func send(_ method: HTTPMethod, _ path: String, body: JSONValue? = nil) async throws -> Data {
        guard let token else {
            throw ClientError(
                description: "no control token: set \(SecretStore.variable(for: tokenSecret)) or the \(tokenSecret) credential")
        }
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token.value)")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(data: body.encoded()))
        }
        return try await send(request)
    }

    private func send(_ request: HTTPClientRequest) async throws -> Data {
        let response: HTTPClientResponse
        do {
            response = try await HTTPClient.shared.execute(request, timeout: .seconds(120))
        } catch {
            throw ClientError(description: "cannot reach \(baseURL): \(error)")
        }
        let body = Data(buffer: try await response.body.collect(upTo: 16 << 20))
        guard (200..<300).contains(response.status.code) else {
            throw ClientError(description: "\(response.status.code) \(response.status.reasonPhrase): \(Self.message(in: body))")
        }
        return body
    }

    /// `error`, then each of `problems` on a line of its own; the raw body if it is not that.
    static func message(in body: Data) -> String {
        guard let value = try? JSONValue(parsing: body), case .object(let fields) = value,
            case .string(let error)? = fields["error"]
        else { return String(decoding: body, as: UTF8.self) }
        guard case .array(let problems)? = fields["problems"] else { return error }
        return ([error] + problems.compactMap { if case .string(let text) = $0 { "  " + text } else { nil } }).joined(separator: "\n")
    }
}
