import Testing

@testable import MarketData

/// A series is whole when each kline opens the millisecond after the last one closed.
@Suite struct KlineContinuityTests {
    let series = KlineContinuity.Series(symbol: "BTCUSDT", interval: "1m")

    @Test func aSeriesFollowsItsLastKlineAndNamesAGapOrARepeat() {
        var continuity = KlineContinuity()
        #expect(continuity.verdict(series, openTime: 60_000) == .first)
        continuity.passed(series, closeTime: 119_999)
        #expect(continuity.verdict(series, openTime: 120_000) == .next)
        #expect(continuity.verdict(series, openTime: 60_000) == .stale)
        #expect(continuity.verdict(series, openTime: 119_999) == .stale)
        #expect(continuity.verdict(series, openTime: 300_000) == .gap(from: 120_000, until: 300_000))
        // Another series is apart.
        #expect(continuity.verdict(.init(symbol: "ETHUSDT", interval: "1m"), openTime: 0) == .first)
        // Passing never moves a series back.
        continuity.passed(series, closeTime: 59_999)
        #expect(continuity.expected[series] == 120_000)
    }
}
