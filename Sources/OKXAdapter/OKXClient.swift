import AsyncHTTPClient
import EventBus
import Foundation
import Logging
import Money
import NIOCore
import Synchronization

/// OKX's v5 REST API: spot instruments and recent trades; with the account's credentials, its
/// orders (placed with the caller's `clOrdId`, read back by it), fills and balances. Each
/// request waits for room in its endpoint's window (``OKXRequestWindows``); a 429 pauses the
/// endpoint and is thrown, as are OKX's error codes and replies it cannot read. A new order
/// that got no answer (``OKXError/unreachable(_:)``) may have been placed: read it back by its
/// `clOrdId`, never send it again.
public final class OKXClient: Sendable {
    /// The account's API key, secret key and passphrase.
    public struct Credentials: Sendable {
        public var apiKey: String
        public var secretKey: String
        public var passphrase: String

        public init(apiKey: String, secretKey: String, passphrase: String) {
            self.apiKey = apiKey
            self.secretKey = secretKey
            self.passphrase = passphrase
        }
    }

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
    private let credentials: Credentials?
    private let http: HTTPClient
    private let windows = Mutex(OKXRequestWindows())
    private let now: @Sendable () -> Int64
    private let logger: Logger

    /// - Parameter now: ms since 1970, the clock the request windows are counted on and
    ///   signed requests are stamped with (OKX refuses one 30 s off its own).
    public init(
        settings: Settings, credentials: Credentials? = nil, http: HTTPClient, logger: Logger,
        now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1_000) }
    ) {
        self.settings = settings
        self.credentials = credentials
        self.http = http
        self.logger = logger
        self.now = now
    }

    /// Every spot instrument OKX lists.
    public func spotInstruments() async throws(OKXError) -> [OKXInstrument] {
        try OKXReplies.instruments(try await request(.instruments, [("instType", "SPOT")]))
    }

    /// The latest trades of `instId` (`BTC-USDT`), newest first, at most `limit` (1…500).
    public func trades(instId: String, limit: Int = 100) async throws(OKXError) -> [OKXTrade] {
        try OKXReplies.trades(try await request(.trades, [("instId", instId), ("limit", String(min(max(limit, 1), 500)))]))
    }

    /// Places a limit order (`tdMode` cash, good till canceled) under `clOrdId` (up to 32
    /// letters and digits): the same id on every attempt, so OKX takes it once.
    public func placeLimitOrder(
        instId: String, side: OKXOrder.Side, price: Price, size: Quantity, clOrdId: String
    ) async throws(OKXError) -> OKXPlacement {
        let body: [(String, String)] = [
            ("instId", instId), ("tdMode", "cash"), ("clOrdId", clOrdId), ("side", side.rawValue), ("ordType", "limit"),
            ("px", price.description), ("sz", size.description),
        ]
        return try OKXReplies.placement(try await request(.placeOrder, body))
    }

    /// An order by the caller's `clOrdId`; OKX's 51603 when it has none.
    public func order(instId: String, clOrdId: String) async throws(OKXError) -> OKXOrder {
        try OKXReplies.order(try await request(.order, [("instId", instId), ("clOrdId", clOrdId)]))
    }

    /// Cancels an open order by `clOrdId`; OKX's 51400 when it is already closed or unknown.
    public func cancel(instId: String, clOrdId: String) async throws(OKXError) {
        _ = try await request(.cancelOrder, [("instId", instId), ("clOrdId", clOrdId)])
    }

    /// The fills of one order, newest first (at most 100: a limit order Vakt places is filled
    /// in far fewer).
    public func fills(instId: String, ordId: Int64) async throws(OKXError) -> [OKXFill] {
        try OKXReplies.fills(try await request(.fills, [("instType", "SPOT"), ("instId", instId), ("ordId", String(ordId))]))
    }

    /// The trading account's balances.
    public func balances() async throws(OKXError) -> [OKXBalance] {
        try OKXReplies.balances(try await request(.balance, []))
    }

    /// One request within the endpoint's window: a GET's parameters in the query, a POST's as
    /// a JSON object of strings; a private endpoint's signed with the credentials.
    private func request(_ endpoint: OKXEndpoint, _ parameters: [(String, String)]) async throws(OKXError) -> JSONValue {
        while let until = windows.withLock({ $0.reserve(endpoint, at: now()) }) {
            do {
                try await Task.sleep(for: .milliseconds(max(until - now(), 1)))
            } catch {
                throw .unreachable("\(endpoint.rawValue): cancelled while waiting for the request window")
            }
        }
        let isPost = endpoint.method == "POST"
        let query = isPost ? "" : parameters.map { "\($0.0)=\(Self.escape($0.1))" }.joined(separator: "&")
        let requestPath = endpoint.path + (query.isEmpty ? "" : "?" + query)
        var request = HTTPClientRequest(url: settings.baseURL + requestPath)
        request.method = isPost ? .POST : .GET
        var body = ""
        if isPost {
            var bytes: [UInt8] = []
            JSONValue.object(Dictionary(parameters.map { ($0.0, JSONValue.string($0.1)) }, uniquingKeysWith: { $1 })).write(into: &bytes)
            body = String(decoding: bytes, as: UTF8.self)
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        if endpoint.isPrivate {
            guard let credentials else { throw .rejected(code: OKXCode.keyEmpty, message: "no OKX API key configured") }
            let timestamp = OKXSignature.timestamp(milliseconds: now())
            request.headers.add(name: "OK-ACCESS-KEY", value: credentials.apiKey)
            request.headers.add(
                name: "OK-ACCESS-SIGN",
                value: OKXSignature.sign(
                    timestamp: timestamp, method: endpoint.method, requestPath: requestPath, body: body, secret: credentials.secretKey))
            request.headers.add(name: "OK-ACCESS-TIMESTAMP", value: timestamp)
            request.headers.add(name: "OK-ACCESS-PASSPHRASE", value: credentials.passphrase)
        }
        let status: Int
        let reply: ByteBuffer
        do {
            let timeout = settings.requestTimeout.components
            let response = try await http.execute(
                request, timeout: .milliseconds(timeout.seconds * 1_000 + timeout.attoseconds / 1_000_000_000_000_000))
            status = Int(response.status.code)
            reply = try await response.body.collect(upTo: 4 << 20)
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
            value = try JSONValue(parsing: Array(buffer: reply))
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
