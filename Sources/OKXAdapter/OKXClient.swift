import AsyncHTTPClient
import EventBus
import Foundation
import Logging
import NIOCore
import Synchronization

/// OKX's public v5 REST API: spot instruments and recent trades. Each request
/// waits for room in its endpoint's window (``OKXRequestWindows``); a 429 pauses the endpoint
/// and is thrown, as are OKX's error codes and replies it cannot read.
public final class OKXClient: Sendable {
    public struct Settings: Sendable {
        /// `https://www.okx.com`, or the paper exchange that speaks OKX's API.
        public var baseURL: String
        public var requestTimeout: Duration

        public init(baseURL: String, requestTimeout: Duration = .seconds(5)) {
            self.baseURL = baseURL
            self.requestTimeout = requestTimeout
        }
    }

    let settings: Settings
    private let http: HTTPClient
    private let windows = Mutex(OKXRequestWindows())
    private let now: @Sendable () -> Int64
    private let logger: Logger

    /// - Parameter now: ms since 1970, the clock the request windows are counted on.
    public init(
        settings: Settings, http: HTTPClient, logger: Logger,
        now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1_000) }
    ) {
        self.settings = settings
        self.http = http
        self.logger = logger
        self.now = now
    }

    /// Every spot instrument OKX lists.
    public func spotInstruments() async throws(OKXError) -> [OKXInstrument] {
        try OKXReplies.instruments(try await get(.instruments, [("instType", "SPOT")]))
    }

    /// The latest trades of `instId` (`BTC-USDT`), newest first, at most `limit` (1…500).
    public func trades(instId: String, limit: Int = 100) async throws(OKXError) -> [OKXTrade] {
        try OKXReplies.trades(try await get(.trades, [("instId", instId), ("limit", String(min(max(limit, 1), 500)))]))
    }

    /// One GET within the endpoint's window.
    private func get(_ endpoint: OKXEndpoint, _ parameters: [(String, String)]) async throws(OKXError) -> JSONValue {
        while let until = windows.withLock({ $0.reserve(endpoint, at: now()) }) {
            do {
                try await Task.sleep(for: .milliseconds(max(until - now(), 1)))
            } catch {
                throw .unreachable("\(endpoint.rawValue): cancelled while waiting for the request window")
            }
        }
        let query = parameters.map { "\($0.0)=\(Self.escape($0.1))" }.joined(separator: "&")
        var request = HTTPClientRequest(url: settings.baseURL + endpoint.path + (query.isEmpty ? "" : "?" + query))
        request.method = .GET
        let status: Int
        let body: ByteBuffer
        do {
            let timeout = settings.requestTimeout.components
            let response = try await http.execute(
                request, timeout: .milliseconds(timeout.seconds * 1_000 + timeout.attoseconds / 1_000_000_000_000_000))
            status = Int(response.status.code)
            body = try await response.body.collect(upTo: 4 << 20)
        } catch {
            throw .unreachable("\(endpoint.rawValue): \(error)")
        }
        if status == 429 {
            let until = windows.withLock { windows in
                windows.refused(endpoint, at: now())
                return windows.reserve(endpoint, at: now()) ?? now()
            }
            logger.warning("OKX rate limit: pausing the endpoint", metadata: ["endpoint": "\(endpoint.rawValue)", "until": "\(until)"])
            throw .rateLimited(until: until)
        }
        if status >= 500 { throw .unreachable("\(endpoint.rawValue): HTTP \(status)") }
        let value: JSONValue
        do {
            value = try JSONValue(parsing: Array(buffer: body))
        } catch {
            throw .malformedReply(endpoint: endpoint.rawValue, problem: "HTTP \(status), not JSON: \(error)")
        }
        // OKX answers its errors with a code in the body, under 200 or 4xx alike.
        _ = try OKXReplies.data(value, endpoint: endpoint)
        return value
    }

    private static let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))

    static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}
