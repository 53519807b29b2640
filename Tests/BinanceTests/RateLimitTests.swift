import Testing

@testable import Binance

@Suite struct RateLimitTests {
    static let weight = RateLimit(kind: .requestWeight, interval: .minute, intervalNum: 1, limit: 100)
    static let orders = RateLimit(kind: .orders, interval: .second, intervalNum: 10, limit: 3)
    /// 2026-12-01T00:00:00Z in ms: a minute (and ten-second) boundary.
    static let minute: Int64 = 1_796_083_200_000

    @Test func windowsAreAlignedToTheClockAndCountWhatEachLimitCounts() {
        var counter = RateLimitCounter(limits: [Self.weight, Self.orders])
        #expect(counter.count(.init(weight: 60, orders: 1), at: Self.minute + 59_000) == nil)
        #expect(counter.used(at: Self.minute + 59_000).map(\.count) == [60, 1])
        #expect(counter.used(at: Self.minute + 59_000).map(\.header) == ["X-MBX-USED-WEIGHT-1M", "X-MBX-ORDER-COUNT-10S"])
        // A new minute starts at :00, not 60 s after the first request.
        #expect(counter.count(.init(weight: 60), at: Self.minute + 60_000) == nil)
        #expect(counter.used(at: Self.minute + 60_000).map(\.count) == [60, 0])
        #expect(
            counter.count(.init(weight: 41), at: Self.minute + 61_000)
                == RateLimitCounter.Exceeded(limit: Self.weight, windowEnds: Self.minute + 120_000))
        // Over the limit is counted too.
        #expect(counter.used(at: Self.minute + 61_000).map(\.count) == [101, 0])
    }

    @Test func ordersHaveTheirOwnLimit() {
        var counter = RateLimitCounter(limits: [Self.weight, Self.orders])
        for offset in 0..<3 { #expect(counter.count(.init(weight: 1, orders: 1), at: Self.minute + Int64(offset)) == nil) }
        #expect(counter.count(.init(weight: 1, orders: 1), at: Self.minute + 5)?.limit == Self.orders)
        #expect(counter.count(.init(weight: 1, orders: 1), at: Self.minute + 10_000) == nil)
    }

    @Test func aClientThatDoesNotBackOffIsBannedForLongerEachTime() {
        var gate = RateLimitGate(limits: [Self.weight])
        var now = Self.minute
        #expect(gate.admit(.init(weight: 100), at: now) == .allowed)
        #expect(gate.admit(.init(weight: 1), at: now + 1_000) == .tooManyRequests(limit: Self.weight, retryAfter: 59_000))
        // Backing off as told: allowed again in the next window.
        now += 60_000
        #expect(gate.admit(.init(weight: 1), at: now) == .allowed)
        // Not backing off: 2 minutes, then 4, ... up to 3 days.
        #expect(gate.admit(.init(weight: 100), at: now + 1).isTooManyRequests == true)
        #expect(gate.admit(.init(weight: 1), at: now + 2) == .banned(until: now + 2 + 120_000))
        #expect(gate.admit(.init(weight: 1), at: now + 60_000) == .banned(until: now + 2 + 120_000))
        now += 180_000
        #expect(gate.admit(.init(weight: 100), at: now) == .allowed)
        #expect(gate.admit(.init(weight: 1), at: now + 1).isTooManyRequests == true)
        #expect(gate.admit(.init(weight: 1), at: now + 2) == .banned(until: now + 2 + 240_000))
        for ban in 3...20 {
            now += 4 * 86_400_000
            _ = gate.admit(.init(weight: 101), at: now)
            let verdict = gate.admit(.init(weight: 1), at: now + 1)
            let expected = min(Int64(120_000) << Int64(ban - 1), Int64(3 * 86_400_000))
            #expect(verdict == .banned(until: now + 1 + expected), "ban \(ban)")
        }
    }

    @Test func binancesMessagesForLimitsAndBans() {
        #expect(
            BinanceError.overLimit(RateLimit(kind: .requestWeight, interval: .minute, intervalNum: 1, limit: 6_000))
                == BinanceError(
                    code: -1003,
                    msg: "Too much request weight used; current limit is 6000 request weight per 1 MINUTE. "
                        + "Please use WebSocket Streams for live updates to avoid polling the API.", httpStatus: 429))
        #expect(BinanceError.overLimit(Self.orders).msg == "Too many new orders; current limit is 3 orders per 10 SECOND.")
        #expect(BinanceError.banned(until: 1_595_678_399_999).httpStatus == 418)
    }
}

extension RateLimitGate.Verdict {
    var isTooManyRequests: Bool {
        if case .tooManyRequests = self { true } else { false }
    }
}
