import AsyncHTTPClient
import Binance
import BinanceAdapter
import Foundation
import HealthFormat
import Testing

@testable import ServiceKit

/// The health check's ping of the exchange is a request like any other: reserved from the
/// host's budget, and never sent while the exchange bans the IP.
@Suite struct ExchangePingCheckTests {
    @Test func noPingWhileBannedOrOutOfBudget() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vakt-ping-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let budget = try SharedRequestBudget(path: directory.appendingPathComponent("budget").path)
        let clock = ScaledClock()
        // Nothing listens on port 9 (discard): a ping that was sent would fail to connect.
        let check = ExchangePingCheck(baseURL: "http://127.0.0.1:9", httpClient: HTTPClient.shared, budget: budget, clock: clock)
        let until = clock.now() + 3_600_000
        await budget.update { $0.banned(until: until) }
        let banned = try await check.measure()
        #expect(banned.status == .fail && banned.output == "not pinged: the exchange bans this IP until \(until)")

        let paused = try SharedRequestBudget(path: directory.appendingPathComponent("paused").path)
        await paused.update { $0.refused(retryAfter: 3_600_000, orders: false, at: clock.now(), jitter: 0) }
        let waiting = try await ExchangePingCheck(
            baseURL: "http://127.0.0.1:9", httpClient: HTTPClient.shared, budget: paused, clock: clock
        ).measure()
        #expect(waiting.status == .warn && waiting.output?.hasPrefix("not pinged: the request budget is spent until") == true)
    }
}
