import AsyncHTTPClient
import Binance
import BinanceAdapter
import EventBus
import Foundation
import NIOCore
import PostgresNIO
import RedisClient

/// Redis answers `PING` with `PONG`; the observed value is the round trip.
public struct RedisPingCheck: HealthCheck {
    public let connection: RedisConnection
    public let key = "redis:responseTime"
    public let componentType = "datastore"

    public init(connection: RedisConnection) {
        self.connection = connection
    }

    public func measure() async throws -> HealthMeasurement {
        let started = ContinuousClock.now
        let reply = try await connection.command(["PING"])
        guard reply.string == "PONG" else { throw RedisError.unexpectedReply("PING answered \(reply)") }
        return HealthMeasurement(value: (ContinuousClock.now - started).fractionalMilliseconds, unit: "ms")
    }
}

/// PostgreSQL answers `SELECT 1`; the observed value is the round trip.
public struct PostgresPingCheck: HealthCheck {
    public let client: PostgresClient
    public let key = "postgres:responseTime"
    public let componentType = "datastore"

    public init(client: PostgresClient) {
        self.client = client
    }

    public func measure() async throws -> HealthMeasurement {
        let started = ContinuousClock.now
        let rows = try await client.query("SELECT 1 AS one")
        var seen = false
        for try await one in rows.decode(Int.self) where one == 1 { seen = true }
        guard seen else { throw PostgresPingError() }
        return HealthMeasurement(value: (ContinuousClock.now - started).fractionalMilliseconds, unit: "ms")
    }

    struct PostgresPingError: Error, CustomStringConvertible {
        var description: String { "SELECT 1 returned no row" }
    }
}

/// The exchange's REST API answers `GET /api/v3/ping` (Binance's connectivity test) with 200.
public struct ExchangePingCheck: HealthCheck {
    public let baseURL: String
    public let httpClient: HTTPClient
    /// The host's shared request budget: the ping (weight 1) is reserved from it like any other
    /// request, and never sent while the exchange bans this IP or the budget is paused.
    public let budget: (any RequestBudgetStore)?
    public let clock: any ExchangeClock
    public let key = "exchange:responseTime"
    public let componentType = "system"

    public init(baseURL: String, httpClient: HTTPClient, budget: (any RequestBudgetStore)? = nil, clock: any ExchangeClock = ScaledClock())
    {
        self.baseURL = baseURL
        self.httpClient = httpClient
        self.budget = budget
        self.clock = clock
    }

    public func measure() async throws -> HealthMeasurement {
        if let budget {
            let now = clock.now()
            switch await budget.update({ $0.reserve(RateLimitCounter.Cost(weight: 1), at: now) }) {
            case .go: break
            case .banned(let until):
                return HealthMeasurement(status: .fail, output: "not pinged: the exchange bans this IP until \(until)")
            case .wait(let until):
                return HealthMeasurement(status: .warn, output: "not pinged: the request budget is spent until \(until)")
            }
        }
        let started = ContinuousClock.now
        let request = HTTPClientRequest(url: "\(baseURL)/api/v3/ping")
        let response = try await httpClient.execute(request, timeout: .seconds(30))
        _ = try await response.body.collect(upTo: 64 * 1024)
        let elapsed = (ContinuousClock.now - started).fractionalMilliseconds
        if let budget, [418, 429].contains(response.status.code) {
            // What the exchange says of this IP holds for every request on the host, and for
            // a service that seldom sends any (market data learns of a ban here).
            let (now, jitter) = (clock.now(), Double.random(in: 0..<1))
            let retryAfter = RequestBudget.retryAfter(header: response.headers.first(name: "Retry-After"))
            await budget.update {
                $0.answered(status: Int(response.status.code), retryAfter: retryAfter, orders: false, at: now, jitter: jitter)
            }
        }
        guard response.status == .ok else {
            return HealthMeasurement(
                status: .fail, value: elapsed, unit: "ms", output: "GET \(baseURL)/api/v3/ping answered \(response.status)")
        }
        return HealthMeasurement(value: elapsed, unit: "ms")
    }
}

/// Seconds since the process started; always passes, and tells a restarted service apart.
public struct UptimeCheck: HealthCheck {
    public let startedAt: ContinuousClock.Instant
    public let key = "uptime"
    public let componentType = "system"

    public init(startedAt: ContinuousClock.Instant) {
        self.startedAt = startedAt
    }

    public func measure() async throws -> HealthMeasurement {
        HealthMeasurement(value: (ContinuousClock.now - startedAt).fractionalMilliseconds / 1000, unit: "s")
    }
}

/// The event bus's disk buffer: `warn` while events wait on disk for Redis, `fail` when the
/// buffer is full and publishing is refused.
public struct EventBufferCheck: HealthCheck {
    public let publisher: EventPublisher
    public let key = "eventbus:buffered"
    public let componentType = "component"

    public init(publisher: EventPublisher) {
        self.publisher = publisher
    }

    public func measure() async throws -> HealthMeasurement {
        let state = publisher.bufferState
        let value = Double(state.events)
        if state.isFull {
            return HealthMeasurement(
                status: .fail, value: value, unit: "events",
                output: "disk buffer full (\(state.events) events, \(state.bytes) bytes): publishing is refused until Redis is back")
        }
        if state.events > 0 {
            return HealthMeasurement(
                status: .warn, value: value, unit: "events", output: "\(state.events) events buffered on disk, waiting for Redis")
        }
        return HealthMeasurement(value: value, unit: "events")
    }
}
