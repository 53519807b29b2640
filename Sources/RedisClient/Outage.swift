/// Turns a stream of attempts against something that may be away (Redis, mostly) into news:
/// the first failure of an outage, and the first success after it with how many attempts failed
/// and how long it lasted. Everything between is only counted, so a caller retrying several
/// times a second logs two lines per outage, not one per attempt.
///
/// Pure: the time of each attempt comes in as an argument.
public struct Outage: Sendable {
    /// When the outage began; nil while things work.
    public private(set) var since: ContinuousClock.Instant?
    /// Failed attempts in the current outage.
    public private(set) var failedAttempts = 0

    public init() {}

    /// Records a failed attempt; true when it begins an outage (the one to log).
    public mutating func failed(at now: ContinuousClock.Instant) -> Bool {
        failedAttempts += 1
        guard since == nil else { return false }
        since = now
        return true
    }

    /// Records a successful attempt; the outage it ends, if any (the one to log).
    public mutating func succeeded(at now: ContinuousClock.Instant) -> (failedAttempts: Int, lasted: Duration)? {
        guard let since else { return nil }
        let ended = (failedAttempts: failedAttempts, lasted: now - since)
        self.since = nil
        failedAttempts = 0
        return ended
    }
}
