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
    private let token: Secret?
    private let failuresPerMinute: Int
    private let clock: @Sendable () -> ContinuousClock.Instant
    private let logger: Logger
    private let failures = Mutex<[ContinuousClock.Instant]>([])

    public init(
        token: Secret?, failuresPerMinute: Int, clock: @escaping @Sendable () -> ContinuousClock.Instant = { .now }, logger: Logger
    ) {
        self.token = token
        self.failuresPerMinute = failuresPerMinute
        self.clock = clock
        self.logger = logger
        for outcome in ["unauthorized", "rate_limited"] {
            Counter(label: "vakt_control_auth_failures_total", dimensions: [("outcome", outcome)]).increment(by: 0)
        }
    }

    /// nil when the request may proceed; otherwise the 401 or 429 to answer with.
    public func refusal(for request: Request, action: String) -> Response? {
        if let token, let header = request.headers[.authorization], header.hasPrefix("Bearer "),
            token.matches(header.dropFirst("Bearer ".count))
        {
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
            return JSONResponse.error(
                .tooManyRequests, "too many failed authentications; retry later", headers: [.retryAfter: "60"])
        }
        Counter(label: "vakt_control_auth_failures_total", dimensions: [("outcome", "unauthorized")]).increment()
        logger.warning(
            "control request refused: bad or missing token", metadata: ["action": "\(action)", "failures_last_minute": "\(count)"])
        return JSONResponse.error(
            .unauthorized, token == nil ? "control API disabled: no control token configured" : "missing or invalid bearer token",
            headers: [.wwwAuthenticate: "Bearer realm=\"vakt\""])
    }
}
