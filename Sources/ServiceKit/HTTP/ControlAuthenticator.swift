import Foundation
import Hummingbird
import Logging
import Metrics
import Synchronization
import VaktConfig

/// Guards mutating and control endpoints with `Authorization: Bearer <token>`, compared in
/// constant time.
///
/// Failed attempts are rate-limited: beyond `failuresPerMinute` in the last minute, a request
/// without the right token gets 429 and is logged no more. A request with the right token is
/// always let through, because the endpoints it guards include the kill switch; guessing a
/// random token of 32 bytes is hopeless at any rate, so the limit exists to bound log volume
/// and make an attack visible (`vakt_control_auth_failures_total`).
public final class ControlAuthenticator: Sendable {
    private let tokens: [Secret]
    private let failuresPerMinute: Int
    private let clock: @Sendable () -> ContinuousClock.Instant
    private let logger: Logger
    private let failures = Mutex<[ContinuousClock.Instant]>([])

    public convenience init(
        token: Secret?, failuresPerMinute: Int, clock: @escaping @Sendable () -> ContinuousClock.Instant = { .now }, logger: Logger
    ) {
        self.init(tokens: token.map { [$0] } ?? [], failuresPerMinute: failuresPerMinute, clock: clock, logger: logger)
    }

    /// Any of `tokens` lets a request through (the gateway's reads take the read token or the
    /// control token).
    public init(
        tokens: [Secret], failuresPerMinute: Int, clock: @escaping @Sendable () -> ContinuousClock.Instant = { .now }, logger: Logger
    ) {
        self.tokens = tokens
        self.failuresPerMinute = failuresPerMinute
        self.clock = clock
        self.logger = logger
        for outcome in ["unauthorized", "rate_limited"] {
            Counter(label: "vakt_control_auth_failures_total", dimensions: [("outcome", outcome)]).increment(by: 0)
        }
    }

    /// nil when the request may proceed; otherwise the 401 or 429 to answer with.
    public func refusal(for request: Request, action: String) -> Response? {
        var bearer: Substring?
        if let header = request.headers[.authorization], header.hasPrefix("Bearer ") { bearer = header.dropFirst("Bearer ".count) }
        guard let rejection = rejection(of: bearer, action: action) else { return nil }
        var headers: HTTPFields = [:]
        if rejection.status == .tooManyRequests {
            headers[.retryAfter] = "60"
        } else {
            headers[.wwwAuthenticate] = "Bearer realm=\"vakt\""
        }
        return JSONResponse.error(rejection.status, rejection.message, headers: headers)
    }

    /// nil when `token` is one of the tokens; otherwise why not (401) or, past the failure
    /// limit, 429. Every token is compared in full, so the time taken tells nothing.
    public func rejection(of token: Substring?, action: String) -> (status: HTTPResponse.Status, message: String)? {
        if let token, tokens.reduce(false, { $1.matches(token) || $0 }) {
            return nil
        }
        let now = clock()
        let (limited, count) = failures.withLock { times in
            times.removeAll { now - $0 > .seconds(60) }
            let limited = times.count >= failuresPerMinute
            if !limited { times.append(now) }
            return (limited, times.count)
        }
        if limited {
            Counter(label: "vakt_control_auth_failures_total", dimensions: [("outcome", "rate_limited")]).increment()
            return (.tooManyRequests, "too many failed authentications; retry later")
        }
        Counter(label: "vakt_control_auth_failures_total", dimensions: [("outcome", "unauthorized")]).increment()
        logger.warning(
            "request refused: bad or missing token", metadata: ["action": "\(action)", "failures_last_minute": "\(count)"])
        return (.unauthorized, tokens.isEmpty ? "API disabled: no token configured for it" : "missing or invalid bearer token")
    }
}
