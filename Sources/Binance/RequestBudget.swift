/// A host's budget of Binance's request limits, as every process on the host reserves from it
/// (Binance counts per IP). Pure: the exchange's time (the local clock corrected by the offset
/// to the server, in ms) is passed in, and the shell keeps the state in a file all processes
/// share (`SharedRequestBudget`).
///
/// - A request is sent only when every limit's window has room for its cost; otherwise the
///   caller waits for the window that is full to end.
/// - Windows are aligned as Binance aligns them. The server's clock may differ from a
///   process's reckoning of it by the reckoning's uncertainty (at least `guardTime`), and a
///   request reaches the server up to its latency after it is sent, so a request that may land
///   on either side of a window's edge must fit in both windows, and is counted in both.
/// - Every reply's `X-MBX-USED-WEIGHT-*` / `X-MBX-ORDER-COUNT-*` corrects the count upwards
///   (the server knows of requests this host did not reserve: another client, a restart),
///   but only where the window the server counted the request in is certain: a reply counted
///   in the window before, taken for the next, would stop that whole window for nothing.
/// - A 429 stops everything for its `Retry-After` and then an exponential backoff with
///   jitter; -1015 stops new orders the same way; a 418 stops everything until the ban ends.
public struct RequestBudget: Sendable, Equatable {
    public private(set) var limits: [RateLimit]
    /// Per limit: the window the budget is in, its count, and the next window's count
    /// (requests near the edge, and what the server reported for it).
    private var windows: [Int64]
    private var counts: [Int]
    private var nextCounts: [Int]
    public private(set) var pausedUntil: Int64 = 0
    public private(set) var ordersPausedUntil: Int64 = 0
    public private(set) var bannedUntil: Int64 = 0
    /// 429s in a row without a success between them: the backoff doubles with each.
    public private(set) var consecutiveRefusals = 0
    public let guardTime: Int64

    static let firstBackoff: Int64 = 500
    static let longestBackoff: Int64 = 60_000

    public init(limits: [RateLimit], guardTime: Int64 = 100) {
        self.limits = limits
        windows = Array(repeating: -1, count: limits.count)
        counts = Array(repeating: 0, count: limits.count)
        nextCounts = Array(repeating: 0, count: limits.count)
        self.guardTime = guardTime
    }

    public static func == (left: RequestBudget, right: RequestBudget) -> Bool {
        left.encoded == right.encoded
    }

    public enum Decision: Sendable, Equatable {
        /// Send it: its cost is counted.
        case go
        /// Ask again at this time.
        case wait(until: Int64)
        /// 418: nothing may be sent until then.
        case banned(until: Int64)
    }

    /// Reserves `cost` for a request sent now, or says until when to wait.
    /// - Parameters:
    ///   - now: the exchange's time by the caller's reckoning.
    ///   - uncertainty: how far the server's clock may be from `now` either way (the clock
    ///     measurement's error); the budget's `guardTime` if less.
    ///   - latency: how long after `now` the request may reach the server.
    public mutating func reserve(_ cost: RateLimitCounter.Cost, at now: Int64, uncertainty: Int64 = 0, latency: Int64 = 0)
        -> Decision
    {
        if now < bannedUntil { return .banned(until: bannedUntil) }
        if now < pausedUntil { return .wait(until: pausedUntil) }
        if cost.orders > 0, now < ordersPausedUntil { return .wait(until: ordersPausedUntil) }
        let spread = max(guardTime, uncertainty)
        let (earliest, latest) = (now - spread, now + spread + max(latency, 0))
        roll(to: earliest)
        var wait: Int64 = 0
        for (index, limit) in limits.enumerated() {
            let amount = cost.amount(for: limit)
            let length = limit.windowMilliseconds
            if counts[index] + amount > limit.limit {
                wait = max(wait, (windows[index] + 1) * length + spread)
            }
            if latest / length > windows[index], nextCounts[index] + amount > limit.limit {
                wait = max(wait, (windows[index] + 2) * length + spread)
            }
        }
        if wait > 0 { return .wait(until: wait) }
        for (index, limit) in limits.enumerated() {
            counts[index] += cost.amount(for: limit)
            // A request that may land beyond the next window (a latency longer than a window)
            // is counted in the next: the budget keeps no further.
            if latest / limit.windowMilliseconds > windows[index] { nextCounts[index] += cost.amount(for: limit) }
        }
        return .go
    }

    /// A reply's used counts (header name to count), for a request sent at `sent` and
    /// answered at `received` (by a reckoning `uncertainty` from the server's clock either
    /// way): each window's count becomes at least what the server reports. A reply whose
    /// window is in doubt (the request may have reached the server on either side of an
    /// edge) corrects nothing: counted in the wrong window, a full minute would stop the next
    /// one for nothing, or an empty one would let the full one overflow.
    public mutating func observe(used: [String: Int], sent: Int64, received: Int64, uncertainty: Int64 = 0) {
        let spread = max(guardTime, uncertainty)
        roll(to: received - spread)
        for (index, limit) in limits.enumerated() {
            guard let header = limit.header, let reported = used[header] ?? used[header.lowercased()] else { continue }
            let serverWindow = (sent - spread) / limit.windowMilliseconds
            guard serverWindow == (received + spread) / limit.windowMilliseconds else { continue }
            if serverWindow == windows[index] {
                counts[index] = max(counts[index], reported)
            } else if serverWindow == windows[index] + 1 {
                nextCounts[index] = max(nextCounts[index], reported)
            }
        }
    }

    /// A 429: nothing goes for `retryAfter` ms, then the backoff (`jitter` in 0..<1 lengthens
    /// it by up to half); -1015 (`orders`) stops new orders only.
    public mutating func refused(retryAfter: Int64, orders: Bool, at now: Int64, jitter: Double) {
        consecutiveRefusals += 1
        let backoff = min(Self.firstBackoff << Int64(min(consecutiveRefusals - 1, 16)), Self.longestBackoff)
        let until = now + max(retryAfter, 0) + backoff + Int64(Double(backoff) * 0.5 * min(max(jitter, 0), 1))
        if orders {
            ordersPausedUntil = max(ordersPausedUntil, until)
        } else {
            pausedUntil = max(pausedUntil, until)
        }
    }

    /// What a reply's status says of this IP, for every request on the host: a 429 pauses
    /// (`refused`), a 418 bans (`banned`), each for `retryAfter` (ms, `retryAfter(header:)`) or
    /// else 1 s / 2 min; any other status ends the backoff. `orders`: the 429 was -1015.
    public mutating func answered(status: Int, retryAfter: Int64?, orders: Bool, at now: Int64, jitter: Double) {
        switch status {
        case 429: refused(retryAfter: retryAfter ?? 1_000, orders: orders, at: now, jitter: jitter)
        case 418: banned(until: now + (retryAfter ?? RateLimitGate.firstBan))
        default: succeeded()
        }
    }

    /// Binance's `Retry-After` header (whole seconds) in milliseconds; nil if absent or not a number.
    public static func retryAfter(header: String?) -> Int64? {
        header.flatMap { Int64($0) }.map { $0 * 1_000 }
    }

    /// A 418: banned until `until`.
    public mutating func banned(until: Int64) {
        bannedUntil = max(bannedUntil, until)
    }

    /// A reply that was not a 429: the backoff starts from the beginning again.
    public mutating func succeeded() {
        consecutiveRefusals = 0
    }

    /// What is used of each limit now, for metrics and `/health`.
    public func used(at now: Int64) -> [(limit: RateLimit, count: Int)] {
        limits.indices.map { index in
            (limits[index], windows[index] == (now - guardTime) / limits[index].windowMilliseconds ? counts[index] : 0)
        }
    }

    /// Moves each limit to the window of `earliest`, the earliest time the server's clock may
    /// read: no request can be counted in a window before it any more.
    private mutating func roll(to earliest: Int64) {
        for (index, limit) in limits.enumerated() {
            let window = earliest / limit.windowMilliseconds
            guard window > windows[index] else { continue }
            counts[index] = window == windows[index] + 1 ? nextCounts[index] : 0
            nextCounts[index] = 0
            windows[index] = window
        }
    }

    // MARK: - A budget kept apart, joined again

    /// This budget with `other`'s reservations and stops added: pauses and a ban last until the
    /// later of the two; where both count a limit of the same kind and window length, the counts
    /// of the same window add up. For a budget kept apart for a while (a host's own, while the
    /// budget it shares with other hosts could not be reached) joining the shared one again:
    /// adding may count a request twice, never miss one.
    public func merging(_ other: RequestBudget) -> RequestBudget {
        var merged = self
        merged.pausedUntil = max(pausedUntil, other.pausedUntil)
        merged.ordersPausedUntil = max(ordersPausedUntil, other.ordersPausedUntil)
        merged.bannedUntil = max(bannedUntil, other.bannedUntil)
        merged.consecutiveRefusals = max(consecutiveRefusals, other.consecutiveRefusals)
        for (index, limit) in limits.enumerated() {
            guard let theirs = other.limits.firstIndex(where: { $0.countsLike(limit) }) else { continue }
            let (window, otherWindow) = (windows[index], other.windows[theirs])
            if otherWindow == window {
                merged.counts[index] += other.counts[theirs]
                merged.nextCounts[index] += other.nextCounts[theirs]
            } else if otherWindow == window + 1 {
                merged.nextCounts[index] += other.counts[theirs]
            } else if otherWindow + 1 == window {
                merged.counts[index] += other.nextCounts[theirs]
            } else if otherWindow > window {
                // This budget has not been used since before the other's windows.
                (merged.windows[index], merged.counts[index], merged.nextCounts[index]) =
                    (otherWindow, other.counts[theirs], other.nextCounts[theirs])
            }
        }
        return merged
    }

    /// The budget with its counts cleared, its pauses and ban kept: what stays once its counts
    /// were handed to another with ``merging(_:)``, so that they are not handed over twice.
    public var withoutCounts: RequestBudget {
        var cleared = self
        cleared.counts = Array(repeating: 0, count: limits.count)
        cleared.nextCounts = Array(repeating: 0, count: limits.count)
        return cleared
    }

    // MARK: - The shared file's contents

    static let formatVersion: Int64 = 2

    /// The budget as integers, for the file the host's processes share.
    public var encoded: [Int64] {
        var values: [Int64] = [Self.formatVersion, Int64(limits.count), guardTime, pausedUntil, ordersPausedUntil, bannedUntil]
        values.append(Int64(consecutiveRefusals))
        for (index, limit) in limits.enumerated() {
            values += [
                Int64(RateLimit.Kind.allCases.firstIndex(of: limit.kind) ?? 0),
                Int64(RateLimit.Interval.allCases.firstIndex(of: limit.interval) ?? 0), Int64(limit.intervalNum),
                Int64(limit.limit), windows[index], Int64(counts[index]), Int64(nextCounts[index]),
            ]
        }
        return values
    }

    /// A budget read back from ``encoded``; nil for contents of another format.
    public init?(decoding values: [Int64]) {
        guard values.count >= 7, values[0] == Self.formatVersion, values[1] >= 0, values.count == 7 + Int(values[1]) * 7 else {
            return nil
        }
        var limits: [RateLimit] = []
        var windows: [Int64] = []
        var counts: [Int] = []
        var nextCounts: [Int] = []
        for index in 0..<Int(values[1]) {
            let base = 7 + index * 7
            let kinds = RateLimit.Kind.allCases
            let intervals = RateLimit.Interval.allCases
            guard kinds.indices.contains(Int(values[base])), intervals.indices.contains(Int(values[base + 1])), values[base + 2] > 0
            else { return nil }
            limits.append(
                RateLimit(
                    kind: kinds[kinds.index(kinds.startIndex, offsetBy: Int(values[base]))],
                    interval: intervals[intervals.index(intervals.startIndex, offsetBy: Int(values[base + 1]))],
                    intervalNum: Int(values[base + 2]), limit: Int(values[base + 3])))
            windows.append(values[base + 4])
            counts.append(Int(values[base + 5]))
            nextCounts.append(Int(values[base + 6]))
        }
        self.init(limits: limits, guardTime: values[2])
        self.windows = windows
        self.counts = counts
        self.nextCounts = nextCounts
        (pausedUntil, ordersPausedUntil, bannedUntil) = (values[3], values[4], values[5])
        consecutiveRefusals = Int(values[6])
    }

    /// This budget under `limits` (read from `exchangeInfo`): the pauses and ban carry over;
    /// counts carry over for the limits that stayed the same.
    public func adopting(_ limits: [RateLimit]) -> RequestBudget {
        guard limits != self.limits else { return self }
        var adopted = RequestBudget(limits: limits, guardTime: guardTime)
        for (index, limit) in limits.enumerated() {
            if let old = self.limits.firstIndex(of: limit) {
                adopted.windows[index] = windows[old]
                adopted.counts[index] = counts[old]
                adopted.nextCounts[index] = nextCounts[old]
            }
        }
        (adopted.pausedUntil, adopted.ordersPausedUntil, adopted.bannedUntil) = (pausedUntil, ordersPausedUntil, bannedUntil)
        adopted.consecutiveRefusals = consecutiveRefusals
        return adopted
    }
}
