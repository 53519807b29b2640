import BinanceAdapter
import EventBus
import Foundation
import HealthFormat
import Logging
import RedisClient
import ServiceKit
import Testing
import VaktConfig
import VaktTesting

/// A trading service's exchange connection as the system runs it: its budget and
/// reachability in the service's `/health`, and a ban turned into an ESS trip.
@Suite struct ExchangeAccessTests {
    /// The market-data service connects to the paper exchange, reports the shared budget, and
    /// publishes the market's trades and klines, fresh in its `/health`.
    @Test func marketDataFeedsTheBusAndReportsTheExchangeBudgetInItsHealth() async throws {
        let startMinute = Int64(Date().timeIntervalSince1970) / 60
        let (redis, simulator) = try await ExchangeSimulatorTests.start()
        defer { Task { await simulator.stop() } }
        let marketData = try ServiceInstance(
            .marketData, redisPort: redis.port, postgres: try await PostgresServer().freshDatabase(),
            environment: ExchangeSimulatorTests.clientEnvironment(simulator))
        defer { Task { await marketData.stop() } }
        try await marketData.waitUntilReady()
        var output = ""
        let passed = await TestEnvironment.eventually {
            guard let health = try? await HTTPProbe.get(marketData.url("/health")),
                case .object(let report)? = try? JSONValue(parsing: health.body), case .object(let checks)? = report["checks"],
                case .array(let entries)? = checks["exchange:budget"], case .object(let check)? = entries.first
            else { return false }
            output = "\(check)"
            return check["status"] == .string("pass")
        }
        #expect(passed, "\(output)")
        // At least exchangeInfo (20) and five clock samples (1 each), of Binance's 6,000,
        // unless a new minute began since.
        let used = output.firstMatch(of: /REQUEST_WEIGHT\/1MINUTE (\d+)\/6000/).flatMap { Int($0.1) }
        let sameMinute = Int64(Date().timeIntervalSince1970) / 60 == startMinute
        #expect(used.map { $0 >= 25 || !sameMinute } == true, "\(output)")
        #expect(output.contains("ORDERS/10SECOND") && output.contains("/100,"), "\(output)")

        // The paper exchange trades every second: ticks and klines of both symbols on the bus.
        let bus = RedisConnection(endpoint: redis.endpoint)
        var lengths: [Int64] = []
        #expect(
            await TestEnvironment.eventually {
                let replies =
                    (try? await bus.pipeline([["XLEN", EventType.marketTick.stream], ["XLEN", EventType.marketKline.stream]])) ?? []
                lengths = replies.compactMap { if case .integer(let count) = $0 { count } else { nil } }
                return lengths.count == 2 && lengths.allSatisfy { $0 >= 4 }
            }, "\(lengths)")
        var freshness = ""
        #expect(
            await TestEnvironment.eventually {
                let body = (try? await HTTPProbe.get(marketData.url("/health")))?.text ?? ""
                freshness = body
                return body.contains("market:freshness") && body.contains("BTCUSDT") && body.contains("ETHUSDT")
                    && !body.contains("has not traded")
            }, "\(freshness)")
    }

    /// A 418 stops trading for hours: the risk service is asked to trip the ESS.
    @Test func aBanTripsTheESS() async throws {
        let system = try await RiskSystem()
        defer { system.stop() }
        #expect(try await system.state() == "armed")
        await ExchangeAccess.reportBan(
            until: Int64(Date().timeIntervalSince1970 * 1000) + 120_000,
            message: "Way too much request weight used; IP banned until 1.", risk: system.client, events: nil, source: "test/exchange",
            logger: Logger(label: "test.exchange-access"))
        #expect(try await system.state() == "tripped")
        let ess = try await system.ess()
        #expect("\(ess)".contains("HTTP 418"), "\(ess)")
    }
}
