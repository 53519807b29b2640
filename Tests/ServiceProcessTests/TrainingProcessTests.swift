import Binance
import EventBus
import Foundation
import Logging
import Money
import RedisClient
import ServiceKit
import Testing
import VaktConfig
import VaktTesting

/// RL training as the system runs it, on a real PostgreSQL and Redis: the first model is
/// trained and promoted; drift injected into the klines triggers a retrain and a promotion; a
/// candidate no better than the live model is kept out; a rollback restores the model before.
@Suite struct TrainingProcessTests {
    static let sections = """
        market_data:
          symbols: [BTCUSDT]
          intervals: [1s]
        ai_engine:
          interval: 1s
        training:
          check_interval: 300ms
          history_bars: 2400
          drift_window: 300
          promotion_margin: 0.001

        """

    /// `bars` as klines of 1 s, prices to the cent.
    static func klines(_ bars: [SyntheticMarket.Bar]) throws -> [Kline] {
        try bars.map { bar in
            Kline(
                openTime: bar.openTime, open: try Price(parsing: String(format: "%.2f", bar.open)),
                high: try Price(parsing: String(format: "%.2f", bar.high)), low: try Price(parsing: String(format: "%.2f", bar.low)),
                close: try Price(parsing: String(format: "%.2f", bar.close)),
                volume: try Quantity(parsing: String(format: "%.3f", bar.volume)),
                closeTime: bar.openTime + 999, trades: 1)
        }
    }

    static func events<Payload: EventPayload>(_ type: Payload.Type, _ redis: RedisServer) async throws -> [Payload] {
        try await EventStreamInspector(redis: RedisConnection(endpoint: redis.endpoint)).range(
            Payload.eventType, from: "-", to: "+", limit: 1_000
        ).map { try Payload(json: EventEnvelope.decode(Array($0.envelope.utf8), maximumBytes: 1 << 20).payload) }
    }

    @Test func driftRetrainsAndPromotesAWorseCandidateStaysOutAndRollbackRestores() async throws {
        let redis = try RedisServer()
        try await redis.start()
        defer { redis.stop() }
        let postgres = try await PostgresServer().freshDatabase()
        let client = postgres.client()
        let running = Task { await client.run() }
        defer { running.cancel() }
        let logger = Logger(label: "test.training")
        _ = try await MigrationRunner(service: "market-data", migrations: KlineHistory.migrations, client: client, logger: logger).run()
        let history = KlineHistory(client: client, logger: logger)
        // A momentum market, then a wilder, reverting one.
        let calm = SyntheticMarket.bars(count: 2_400, persistence: 0.3, seed: 71, interval: 1_000)
        try await history.store(try Self.klines(calm), symbol: "BTCUSDT", interval: "1s")

        let training = try ServiceInstance(.rlTraining, redisPort: redis.port, postgres: postgres, sections: Self.sections)
        defer { Task { await training.stop() } }
        try await training.waitUntilReady()
        // The AI engine beside it swaps in each promoted model without a restart.
        let engine = try ServiceInstance(.aiEngine, redisPort: redis.port, postgres: postgres, sections: Self.sections)
        defer { Task { await engine.stop() } }
        try await engine.waitUntilReady()
        func engineModel() async -> String {
            (try? await HTTPProbe.get(engine.url("/api/ai/metrics/ensemble")).text) ?? ""
        }
        var promoted: [ModelPromoted] = []
        #expect(
            try await TestEnvironment.eventually(timeout: .seconds(120)) {
                promoted = try await Self.events(ModelPromoted.self, redis)
                return promoted.count == 1
            }, "\(promoted)")
        let first = try #require(promoted.first)
        #expect(first.previous == nil && first.location == ModelRegistry.location(of: first.model))
        var shown = ""
        #expect(
            await TestEnvironment.eventually(timeout: .seconds(60)) {
                shown = await engineModel()
                return shown.contains(first.model)
            }, "\(shown)")

        // Three times the moves, reverting, from the calm market's last close.
        let wild = SyntheticMarket.wilder(
            SyntheticMarket.bars(count: 900, persistence: -0.4, seed: 72, start: calm[calm.count - 1].openTime + 1_000, interval: 1_000),
            by: 3, startingAt: calm[calm.count - 1].close)
        try await history.store(try Self.klines(wild), symbol: "BTCUSDT", interval: "1s")
        #expect(
            try await TestEnvironment.eventually(timeout: .seconds(120)) {
                promoted = try await Self.events(ModelPromoted.self, redis)
                return promoted.count == 2
            }, "\(promoted)")
        let requests = try await Self.events(ModelRetrainRequested.self, redis)
        #expect(requests.count == 2 && requests[1].model == first.model && requests[1].reason.contains("feature drift"), "\(requests)")
        #expect(promoted[1].previous == first.model)
        #expect(
            await TestEnvironment.eventually(timeout: .seconds(60)) {
                shown = await engineModel()
                return shown.contains(promoted[1].model)
            }, "\(shown)")

        // Asked to retrain with nothing new: the candidate is the live model again, no better.
        let retrain = try await training.request(.POST, "/api/models/retrain", body: #"{"symbol": "BTCUSDT"}"#)
        #expect(retrain.status == 202, "\(retrain.text)")
        var models = ""
        #expect(
            try await TestEnvironment.eventually(timeout: .seconds(120)) {
                models = try await HTTPProbe.get(training.url("/api/models?symbol=BTCUSDT")).text
                return models.contains("\"rejected\"")
            }, "\(models)")
        #expect(try await Self.events(ModelPromoted.self, redis).count == 2)

        // Rollback needs the control token, and restores the first model.
        #expect(
            try await training.request(.POST, "/api/models/rollback", body: #"{"symbol": "BTCUSDT"}"#, authorization: nil).status == 401)
        let rollback = try await training.request(.POST, "/api/models/rollback", body: #"{"symbol": "BTCUSDT"}"#)
        #expect(rollback.status == 200 && rollback.text.contains(first.model), "\(rollback.text)")
        promoted = try await Self.events(ModelPromoted.self, redis)
        #expect(promoted.count == 3 && promoted[2].model == first.model && promoted[2].previous == promoted[1].model, "\(promoted)")
        #expect(
            await TestEnvironment.eventually(timeout: .seconds(60)) {
                shown = await engineModel()
                return shown.contains(first.model)
            }, "after the rollback the engine shows \(shown)")
        models = try await HTTPProbe.get(training.url("/api/models?symbol=BTCUSDT")).text
        #expect(models.contains("\"rolled_back\"") && models.contains("\"live\""), "\(models)")
        let bad = try await training.request(.POST, "/api/models/rollback", body: #"{"symbol": "DOGEUSDT"}"#)
        #expect(bad.status == 400 && bad.text.contains("symbol"), "\(bad.text)")
    }
}
