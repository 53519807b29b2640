/// How Binance answers a client over its limits, as the paper exchange enforces it: a request
/// over a limit gets 429 with `Retry-After` until the limit's window ends; a client that keeps
/// sending before then is banned (418), for 2 minutes the first time and twice as long for each
/// repeat, up to 3 days. Pure: the time is passed in.
public struct RateLimitGate: Sendable, Equatable {
    public private(set) var counter: RateLimitCounter
    private var backOffUntil: Int64?
    private var bannedUntil: Int64?
    private var bans = 0

    static let firstBan: Int64 = 120_000
    static let longestBan: Int64 = 3 * 86_400_000

    public init(limits: [RateLimit]) {
        counter = RateLimitCounter(limits: limits)
    }

    public enum Verdict: Sendable, Equatable {
        case allowed
        /// 429: over `limit`; the client must wait `retryAfter` ms.
        case tooManyRequests(limit: RateLimit, retryAfter: Int64)
        /// 418: banned until `until` (ms since 1970).
        case banned(until: Int64)
    }

    public mutating func admit(_ cost: RateLimitCounter.Cost, at now: Int64) -> Verdict {
        if let bannedUntil, now < bannedUntil { return .banned(until: bannedUntil) }
        if let backOffUntil, now < backOffUntil {
            // It did not back off after a 429.
            bans += 1
            let length = min(Self.firstBan << Int64(min(bans - 1, 20)), Self.longestBan)
            bannedUntil = now + length
            self.backOffUntil = nil
            return .banned(until: now + length)
        }
        guard let exceeded = counter.count(cost, at: now) else { return .allowed }
        backOffUntil = exceeded.windowEnds
        return .tooManyRequests(limit: exceeded.limit, retryAfter: exceeded.windowEnds - now)
    }
}

extension BinanceError {
    /// Binance's answer to a request over `limit` (429).
    public static func overLimit(_ limit: RateLimit) -> BinanceError {
        let per = "\(limit.intervalNum) \(limit.interval.rawValue)"
        switch limit.kind {
        case .orders:
            return BinanceError(
                code: -1015, msg: "Too many new orders; current limit is \(limit.limit) orders per \(per).", httpStatus: 429)
        case .requestWeight, .rawRequests:
            return BinanceError(
                code: -1003,
                msg: "Too much request weight used; current limit is \(limit.limit) request weight per \(per). "
                    + "Please use WebSocket Streams for live updates to avoid polling the API.",
                httpStatus: 429)
        }
    }

    /// Binance's answer to a banned client (418).
    public static func banned(until: Int64) -> BinanceError {
        BinanceError(
            code: -1003,
            msg: "Way too much request weight used; IP banned until \(until). Please use WebSocket Streams for live updates to avoid bans.",
            httpStatus: 418)
    }
}
