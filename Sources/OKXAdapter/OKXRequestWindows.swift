/// Counts requests per endpoint in OKX's fixed two-second windows, so the client never sends
/// one OKX would refuse; after a 429 it keeps off the endpoint until the window after next.
/// Pure: the time (ms since 1970) is passed in. The paper exchange counts with the same type,
/// answering 429 where OKX would.
public struct OKXRequestWindows: Sendable {
    public static let window: Int64 = 2_000

    private var counts: [OKXEndpoint: (window: Int64, count: Int)] = [:]
    private var pausedUntil: [OKXEndpoint: Int64] = [:]

    public init() {}

    /// Counts a request to `endpoint` at `now` if its window has room: nil. Otherwise nothing
    /// is counted and the answer is when to ask again.
    public mutating func reserve(_ endpoint: OKXEndpoint, at now: Int64) -> Int64? {
        if let paused = pausedUntil[endpoint], now < paused { return paused }
        let window = now / Self.window
        var entry = counts[endpoint] ?? (window, 0)
        if entry.window != window { entry = (window, 0) }
        guard entry.count < endpoint.limit else { return (window + 1) * Self.window }
        entry.count += 1
        counts[endpoint] = entry
        return nil
    }

    /// OKX refused a request (429): the endpoint is left alone until the next window ends.
    public mutating func refused(_ endpoint: OKXEndpoint, at now: Int64) {
        pausedUntil[endpoint] = (now / Self.window + 2) * Self.window
    }
}
