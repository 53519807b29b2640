/// Whether each closed kline continues its series (one symbol, one interval), pure: a series
/// is whole when each kline opens the millisecond after the one before it closed. The feed asks
/// before it publishes a closed kline, and passes on only what continues the series; a gap is
/// backfilled first or reported.
struct KlineContinuity: Sendable, Equatable {
    struct Series: Hashable, Sendable {
        var symbol: String
        var interval: String
    }

    enum Verdict: Sendable, Equatable {
        /// The series' first kline (nothing known before it).
        case first
        /// It opens where the last one closed.
        case next
        /// Klines opening from `from` up to (not including) `until` are missing before it.
        case gap(from: Int64, until: Int64)
        /// It opens at or before the last one: already passed on (a repeat after a reconnect,
        /// or data out of order), never passed on twice.
        case stale
    }

    /// Per series, the open time the next kline must have.
    private(set) var expected: [Series: Int64] = [:]

    /// Where `openTime` stands in `series`.
    func verdict(_ series: Series, openTime: Int64) -> Verdict {
        guard let next = expected[series] else { return .first }
        if openTime == next { return .next }
        return openTime < next ? .stale : .gap(from: next, until: openTime)
    }

    /// Records that the series now ends with a kline closing at `closeTime` (after a `first`
    /// or `next`, or after a gap was filled or given up on).
    mutating func passed(_ series: Series, closeTime: Int64) {
        expected[series] = max(expected[series] ?? .min, closeTime + 1)
    }
}
