// BinanceAdapter: the one client of Binance Spot's REST API that Execution, Market Data and the
// AI engine share. It signs as Binance specifies, tracks the clock offset to the server, refuses
// locally what the filters would refuse, reserves every request from the host's shared request
// budget, backs off on 429 and stops on 418, and reconciles an order whose reply was lost by its
// client order id instead of sending it again.

import AsyncHTTPClient
import Binance
import EventBus
import Foundation
import Logging
import Metrics
import NIOCore
import NIOHTTP1
import Synchronization

/// A Binance Spot REST client (or of the paper exchange, which speaks the same API).
public final class BinanceClient: Sendable {
    public struct Settings: Sendable {
        /// `https://api.binance.com`, or the paper exchange's `http://127.0.0.1:9100`.
        public var baseURL: String
        /// Binance's `recvWindow`: how long after its timestamp a request is still accepted.
        public var recvWindow: Int64
        /// One request's longest wait for an answer.
        public var requestTimeout: Duration
        /// How often a lost order reply is looked for before its outcome is called unknown.
        public var reconcileAttempts: Int
        /// How many lookups in a row must not find an order before it counts as never placed
        /// (an order the exchange is still processing may not be found at once).
        public var notFoundConfirmations: Int
        /// How many 429s one call waits out before it gives up.
        public var rateLimitRetries: Int

        public init(
            baseURL: String, recvWindow: Int64 = 5_000, requestTimeout: Duration = .seconds(10), reconcileAttempts: Int = 10,
            notFoundConfirmations: Int = 3, rateLimitRetries: Int = 5
        ) {
            self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
            self.recvWindow = recvWindow
            self.requestTimeout = requestTimeout
            self.reconcileAttempts = reconcileAttempts
            self.notFoundConfirmations = notFoundConfirmations
            self.rateLimitRetries = rateLimitRetries
        }
    }

    /// The API key and its HMAC secret; never logged.
    public struct Credentials: Sendable {
        public var apiKey: String
        public var secret: String

        public init(apiKey: String, secret: String) {
            self.apiKey = apiKey
            self.secret = secret
        }
    }

    /// One measurement of the offset to the server's clock.
    struct ClockSample: Sendable {
        /// Server time minus local time, ms.
        var offset: Int64
        /// The round trip it was measured in: the server read its clock somewhere within it.
        var roundTrip: Int64
        /// When (local time) it was measured.
        var at: Int64

        /// How far the server's clock may be from local time plus `offset` at local time
        /// `now`: half the round trip (rounded up), plus 1 ms of drift every 10 s since.
        func uncertainty(at now: Int64) -> Int64 { (roundTrip + 1) / 2 + max(now - at, 0) / 10_000 }
    }

    struct State: Sendable {
        var clock: ClockSample?
        var offset: Int64 { clock?.offset ?? 0 }
        /// The last few requests' round trips, ms: a request sent now may reach the server as
        /// late as the slowest of them.
        var roundTrips: [Int64] = []
        var rules: [String: SymbolFilters] = [:]
        var assets: [String: SymbolAssets] = [:]
        var lastAnswer: Int64?
        var lastFailure: String?
        /// The last reply's used counts, and when its request was sent and answered.
        var lastUsed: (counts: [String: Int], sent: Int64, received: Int64)?
        /// How many times a request waited for room in the budget.
        var budgetWaits = 0
    }

    let settings: Settings
    let credentials: Credentials?
    let http: HTTPClient
    let budget: any RequestBudgetStore
    let clock: any ExchangeClock
    let logger: Logger
    let incidents: @Sendable (ExchangeIncident) async -> Void
    let state = Mutex(State())
    let metrics = AdapterMetrics()

    public init(
        settings: Settings, credentials: Credentials?, http: HTTPClient, budget: any RequestBudgetStore, clock: any ExchangeClock,
        logger: Logger, incidents: @escaping @Sendable (ExchangeIncident) async -> Void = { _ in }
    ) {
        self.settings = settings
        self.credentials = credentials
        self.http = http
        self.budget = budget
        self.clock = clock
        self.logger = logger
        self.incidents = incidents
    }

    /// The exchange's time now, as this client reckons it.
    public var serverNow: Int64 { clock.now() + state.withLock(\.offset) }

    /// How far the exchange's clock may be from ``serverNow`` either way, ms.
    public var clockUncertainty: Int64 {
        let now = clock.now()
        return state.withLock { $0.clock?.uncertainty(at: now) } ?? 0
    }

    /// The exchange's time by this client's reckoning, how far off it may be, and how late a
    /// request sent now may reach the server: what the budget needs to know which windows a
    /// request may be counted in.
    private func reckoning() -> (now: Int64, uncertainty: Int64, latency: Int64) {
        let local = clock.now()
        return state.withLock { state in
            (local + state.offset, state.clock?.uncertainty(at: local) ?? 0, state.roundTrips.max() ?? 0)
        }
    }

    /// How many round trips the latency estimate remembers.
    static let roundTripsKept = 16

    /// Reads the clock offset and `exchangeInfo`: the symbols' filters and the rate limits the
    /// budget then keeps to.
    public func connect() async throws(ExchangeError) {
        try await synchronizeClock()
        let info = try await call(.GET, "exchangeInfo", [], signed: false)
        guard case .object(let fields) = info, case .array(let limits)? = fields["rateLimits"],
            case .array(let symbols)? = fields["symbols"]
        else { throw .malformedReply(endpoint: "exchangeInfo", problem: "expected rateLimits and symbols lists") }
        var rateLimits: [RateLimit] = []
        for (index, item) in limits.enumerated() {
            do {
                let reader = try PayloadReader(item, name: "rateLimits[\(index)]")
                let kind: RateLimit.Kind? = reader.choice("rateLimitType")
                let interval: RateLimit.Interval? = reader.choice("interval")
                let number = reader.int("intervalNum")
                let limit = reader.int("limit")
                try reader.finish(allowing: true)
                if let kind, let interval, let number, let limit, number > 0, limit > 0 {
                    rateLimits.append(RateLimit(kind: kind, interval: interval, intervalNum: number, limit: limit))
                }
            } catch {
                throw .malformedReply(endpoint: "exchangeInfo", problem: "\(error)")
            }
        }
        var rules: [String: SymbolFilters] = [:]
        var assets: [String: SymbolAssets] = [:]
        for (index, item) in symbols.enumerated() {
            guard case .object(let symbol) = item, case .string(let name)? = symbol["symbol"], let filters = symbol["filters"] else {
                throw .malformedReply(endpoint: "exchangeInfo", problem: "symbols[\(index)]: expected symbol and filters")
            }
            if case .string(let base)? = symbol["baseAsset"], case .string(let quote)? = symbol["quoteAsset"] {
                assets[name] = SymbolAssets(base: base, quote: quote)
            }
            do {
                rules[name] = try SymbolFilters(json: filters)
            } catch {
                throw .malformedReply(endpoint: "exchangeInfo", problem: "symbols[\(index)] (\(name)).\(error)")
            }
        }
        budget.adopt(rateLimits)
        // What the server counted until now (this client's start-up among it), under the
        // limits now known.
        if let last = state.withLock(\.lastUsed) {
            let uncertainty = clockUncertainty
            await budget.update { $0.observe(used: last.counts, sent: last.sent, received: last.received, uncertainty: uncertainty) }
        }
        metrics.announce(rateLimits)
        state.withLock {
            $0.rules = rules
            $0.assets = assets
        }
        logger.info(
            "exchange connected",
            metadata: [
                "base_url": "\(settings.baseURL)", "symbols": "\(rules.count)", "offset_ms": "\(state.withLock(\.offset))",
                "offset_uncertainty_ms": "\(clockUncertainty)",
                "limits":
                    "\(rateLimits.map { "\($0.kind.rawValue)/\($0.intervalNum)\($0.interval.rawValue)=\($0.limit)" }.joined(separator: ","))",
            ])
    }

    /// A symbol's filters as `exchangeInfo` listed them.
    public func rules(for symbol: String) -> SymbolFilters? { state.withLock { $0.rules[symbol] } }

    /// A symbol's base and quote assets as `exchangeInfo` listed them.
    public func assets(of symbol: String) -> SymbolAssets? { state.withLock { $0.assets[symbol] } }

    /// Measures the offset to the server's clock (`GET /api/v3/time`) as NTP does: of a few
    /// round trips, the shortest says the most (the server read its clock within it, so the
    /// offset is known to half of it), so a reply delayed by a busy machine does not skew the
    /// clock every window is reckoned by. The measurement is kept only if it is more certain
    /// than the one before (which loses certainty as the clocks may drift); after a -1021
    /// (`replacing`) it is kept regardless, since the old one is proven wrong.
    public func synchronizeClock(samples: Int = 5, replacing: Bool = false) async throws(ExchangeError) {
        var best: ClockSample?
        for _ in 0..<max(samples, 1) {
            let sent = clock.now()
            let reply = try await call(.GET, "time", [], signed: false)
            let received = clock.now()
            guard case .object(let fields) = reply, case .number(let serverTime)? = fields["serverTime"] else {
                throw .malformedReply(endpoint: "time", problem: "serverTime: missing")
            }
            let sample = ClockSample(offset: Int64(serverTime) - (sent + received) / 2, roundTrip: received - sent, at: received)
            if best.map({ sample.roundTrip < $0.roundTrip }) ?? true { best = sample }
        }
        guard let best else { return }
        let now = clock.now()
        state.withLock { state in
            if replacing || state.clock.map({ best.uncertainty(at: now) <= $0.uncertainty(at: now) }) ?? true {
                state.clock = best
            }
        }
    }

    /// Reachability and the budget, for the service's `/health`.
    public struct Status: Sendable {
        public var lastAnswer: Int64?
        public var lastFailure: String?
        public var bannedUntil: Int64
        public var pausedUntil: Int64
        public var used: [(limit: RateLimit, count: Int)]
        public var now: Int64
    }

    public func status() async -> Status {
        let now = serverNow
        let budgetState = await budget.update { budget in (budget.used(at: now), budget.bannedUntil, budget.pausedUntil) }
        let (lastAnswer, lastFailure) = state.withLock { ($0.lastAnswer, $0.lastFailure) }
        return Status(
            lastAnswer: lastAnswer, lastFailure: lastFailure, bannedUntil: budgetState.1, pausedUntil: budgetState.2,
            used: budgetState.0, now: now)
    }

    /// How many times a request of this client waited for room in the budget: the limit, not
    /// the caller or the machine, held it back.
    public var budgetWaits: Int { state.withLock(\.budgetWaits) }

    /// Reports the budget's use as gauges (`vakt_exchange_used` beside `vakt_exchange_limit`),
    /// and the clock's uncertainty.
    public func recordUsage(_ used: [(limit: RateLimit, count: Int)]) {
        metrics.used(used)
        metrics.clockUncertainty(milliseconds: clockUncertainty)
    }

    // MARK: - One request

    /// Sends one request within the budget and answers its JSON: waits for room in the
    /// limits, pauses and retries on 429 (the request was not processed), stops on 418,
    /// resynchronizes the clock once on -1021.
    func call(_ method: HTTPMethod, _ endpoint: String, _ parameters: [(String, String)], signed: Bool) async throws(ExchangeError)
        -> JSONValue
    {
        let path = "/api/v3/" + endpoint
        let cost = EndpointWeights.cost(
            method: method.rawValue, path: path, parameters: Dictionary(parameters, uniquingKeysWith: { first, _ in first }))
        var refusals = 0
        var resynchronized = false
        while true {
            try await reserve(cost, endpoint: endpoint)
            let sent = serverNow
            let answer = try await send(method, path, parameters, signed: signed, endpoint: endpoint)
            let (now, uncertainty, _) = reckoning()
            state.withLock { state in
                state.roundTrips.append(now - sent)
                if state.roundTrips.count > Self.roundTripsKept { state.roundTrips.removeFirst() }
            }
            let used = answer.headers.reduce(into: [String: Int]()) { used, header in
                let name = header.name.uppercased()
                if name.hasPrefix("X-MBX-USED-WEIGHT-") || name.hasPrefix("X-MBX-ORDER-COUNT-"), let count = Int(header.value) {
                    used[name] = count
                }
            }
            let status = answer.status
            let error = status == 200 ? nil : Self.binanceError(answer.body, status: status)
            let retryAfter = RequestBudget.retryAfter(header: answer.headers.first(name: "Retry-After"))
            let jitter = Double.random(in: 0..<1)
            state.withLock { $0.lastUsed = (used, sent, now) }
            await budget.update { budget in
                budget.observe(used: used, sent: sent, received: now, uncertainty: uncertainty)
                budget.answered(status: status, retryAfter: retryAfter, orders: error?.code == -1015, at: now, jitter: jitter)
            }
            metrics.requests(endpoint: endpoint, outcome: status == 200 ? "ok" : String(status))
            switch status {
            case 200:
                state.withLock {
                    $0.lastAnswer = now
                    $0.lastFailure = nil
                }
                do {
                    return try JSONValue(parsing: answer.body)
                } catch {
                    throw .malformedReply(endpoint: endpoint, problem: "not JSON: \(error)")
                }
            case 429:
                refusals += 1
                metrics.rateLimited(code: error?.code ?? -1003)
                logger.warning(
                    "exchange rate limit: pausing",
                    metadata: [
                        "endpoint": "\(endpoint)", "code": "\(error?.code ?? 0)", "retry_after_ms": "\(retryAfter ?? 1_000)",
                        "refusals": "\(refusals)",
                    ])
                await incidents(.rateLimited(code: error?.code ?? -1003, retryAfter: retryAfter ?? 1_000))
                if refusals > settings.rateLimitRetries { throw .rateLimited(until: now + (retryAfter ?? 1_000)) }
            case 418:
                let until = now + (retryAfter ?? 120_000)
                metrics.banned()
                logger.critical("exchange banned this IP (418): every request stops", metadata: ["until": "\(until)"])
                await incidents(.banned(until: until, message: error?.msg ?? "HTTP 418"))
                throw .banned(until: until)
            default:
                // 5xx, and Binance's "unknown error" and backend timeout: no definitive answer.
                if status >= 500 || [-1006, -1007].contains(error?.code ?? 0) {
                    state.withLock { $0.lastFailure = "\(endpoint): HTTP \(status)" }
                    throw .unreachable("\(endpoint): HTTP \(status)\(error.map { " \($0)" } ?? "")")
                }
                guard let error else {
                    throw .malformedReply(endpoint: endpoint, problem: "HTTP \(status) without Binance's {code, msg}")
                }
                if error.code == -1021, !resynchronized {
                    resynchronized = true
                    try await synchronizeClock(replacing: true)
                    continue
                }
                state.withLock { $0.lastFailure = "\(endpoint): \(error)" }
                throw .rejected(error)
            }
        }
    }

    /// Waits until the budget has room for `cost`.
    private func reserve(_ cost: RateLimitCounter.Cost, endpoint: String) async throws(ExchangeError) {
        while true {
            // Reckoned when the budget is in hand: a shared store may take a round trip to read it.
            let (now, decision) = await budget.update { budget in
                let (now, uncertainty, latency) = reckoning()
                return (now, budget.reserve(cost, at: now, uncertainty: uncertainty, latency: latency))
            }
            switch decision {
            case .go: return
            case .banned(let until): throw .banned(until: until)
            case .wait(let until):
                metrics.waited(milliseconds: until - now)
                state.withLock { $0.budgetWaits += 1 }
                do {
                    try await clock.sleep(until: until - state.withLock(\.offset))
                } catch {
                    throw .unreachable("cancelled while waiting for the request budget")
                }
            }
        }
    }

    struct Answer {
        var status: Int
        var headers: HTTPHeaders
        var body: [UInt8]
    }

    /// One HTTP exchange. Signed requests carry `timestamp`, `recvWindow` and the signature of
    /// the whole parameter string; POST parameters go in the form body, others in the query.
    private func send(_ method: HTTPMethod, _ path: String, _ parameters: [(String, String)], signed: Bool, endpoint: String)
        async throws(ExchangeError) -> Answer
    {
        var encoded = Self.encode(parameters)
        if signed {
            guard let credentials else { throw .invalidRequest("\(endpoint) needs the exchange API key and secret") }
            encoded = Self.signed(parameters, secret: credentials.secret, recvWindow: settings.recvWindow, timestamp: serverNow)
        }
        var request = HTTPClientRequest(url: settings.baseURL + path + (method == .POST || encoded.isEmpty ? "" : "?" + encoded))
        request.method = method
        if let credentials { request.headers.add(name: "X-MBX-APIKEY", value: credentials.apiKey) }
        if method == .POST {
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            request.body = .bytes(ByteBuffer(string: encoded))
        }
        do {
            let timeout = settings.requestTimeout.components
            let response = try await http.execute(
                request, timeout: .milliseconds(timeout.seconds * 1_000 + timeout.attoseconds / 1_000_000_000_000_000))
            let body = try await response.body.collect(upTo: 16 << 20)
            return Answer(status: Int(response.status.code), headers: response.headers, body: Array(buffer: body))
        } catch {
            metrics.requests(endpoint: endpoint, outcome: "unreachable")
            state.withLock { $0.lastFailure = "\(endpoint): \(error)" }
            throw .unreachable("\(endpoint): \(error)")
        }
    }

    /// A `SIGNED` request's parameter string: the parameters, `recvWindow`, `timestamp`, then
    /// the HMAC-SHA256 `signature` of all before it.
    public static func signed(_ parameters: [(String, String)], secret: String, recvWindow: Int64, timestamp: Int64) -> String {
        let payload = encode(parameters + [("recvWindow", String(recvWindow)), ("timestamp", String(timestamp))])
        return payload + "&signature=" + RequestSignature.sign(payload, secret: secret)
    }

    /// `application/x-www-form-urlencoded`, as Binance signs it: names and values with every
    /// byte outside the unreserved set percent-encoded.
    static func encode(_ pairs: [(String, String)]) -> String {
        pairs.map { escape($0.0) + "=" + escape($0.1) }.joined(separator: "&")
    }

    private static let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".utf8)

    private static let hexDigits = Array("0123456789ABCDEF".utf8)

    static func escape(_ text: String) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            if unreserved.contains(byte) {
                bytes.append(byte)
            } else {
                bytes += [UInt8(ascii: "%"), hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0x0f)]]
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Binance's `{code, msg}` error body.
    static func binanceError(_ body: [UInt8], status: Int) -> BinanceError? {
        guard case .object(let fields)? = try? JSONValue(parsing: body), case .number(let code)? = fields["code"],
            case .string(let message)? = fields["msg"]
        else { return nil }
        return BinanceError(code: Int(code), msg: message, httpStatus: status)
    }
}
