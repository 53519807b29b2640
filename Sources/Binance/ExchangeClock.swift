import Foundation

/// The clock an exchange and its clients run on, in milliseconds since 1970. Injected, so the
/// paper exchange and its clients can run faster than the wall clock together (a soak test
/// covers ten minutes of limits in one) and tests decide time themselves.
public protocol ExchangeClock: Sendable {
    func now() -> Int64
    /// Returns once this clock reads `time` (at once if it already does).
    func sleep(until time: Int64) async throws
}

/// The wall clock (`rate` 1), or one running `rate` times faster from `origin`: processes given
/// the same origin and rate read the same time.
public struct ScaledClock: ExchangeClock {
    public let origin: Int64
    public let rate: Int64

    public init(origin: Int64 = ScaledClock.wall(), rate: Int = 1) {
        self.origin = origin
        self.rate = Int64(max(rate, 1))
    }

    public func now() -> Int64 {
        let wall = Self.wall()
        return rate == 1 ? wall : origin + (wall - origin) * rate
    }

    public func sleep(until time: Int64) async throws {
        let remaining = time - now()
        guard remaining > 0 else { return }
        // Rounded up, so a sleep never ends before the time it waited for.
        try await Task.sleep(for: .microseconds((remaining * 1_000 + rate - 1) / rate))
    }

    public static func wall() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
}
