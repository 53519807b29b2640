import HealthFormat
import Metrics
import ServiceKit
import Synchronization
import VaktConfig

/// Each symbol's last trade (wall clock), as `market:freshness` in `/health` and
/// `vakt_market_data_age_seconds{symbol}`.
final class Freshness: Sendable {
    private let settings: MarketDataSettings
    private let lastTrade = Mutex<[String: ContinuousClock.Instant]>([:])
    private let started = ContinuousClock.now

    init(settings: MarketDataSettings) {
        self.settings = settings
        for symbol in settings.symbols {
            Counter(label: "vakt_market_ticks_total", dimensions: [("symbol", symbol)]).increment(by: 0)
        }
    }

    func traded(_ symbol: String) {
        lastTrade.withLock { $0[symbol] = .now }
        Counter(label: "vakt_market_ticks_total", dimensions: [("symbol", symbol)]).increment()
    }

    /// `market:freshness`: the stalest symbol's age; warn past a fifth of `stale_after`, fail
    /// past it (before the first trade, from the service's start).
    var healthCheck: any HealthCheck { Check(freshness: self) }

    struct Check: HealthCheck {
        let freshness: Freshness
        let key = "market:freshness"
        let componentType = "datastore"

        func measure() async throws -> HealthMeasurement {
            let now = ContinuousClock.now
            let seen = freshness.lastTrade.withLock { $0 }
            let settings = freshness.settings
            var ages: [(String, Duration)] = []
            for symbol in settings.symbols {
                let age = now - (seen[symbol] ?? freshness.started)
                ages.append((symbol, age))
                Gauge(label: "vakt_market_data_age_seconds", dimensions: [("symbol", symbol)]).record(Double(age.milliseconds) / 1000)
            }
            let (stalest, age) = ages.max { $0.1 < $1.1 } ?? ("", .zero)
            let output = ages.map { "\($0.0) \($0.1.milliseconds) ms" }.joined(separator: ", ")
            let status: HealthStatus = age > settings.staleAfter ? .fail : age > settings.staleAfter / 5 ? .warn : .pass
            return HealthMeasurement(
                status: status, value: Double(age.milliseconds), unit: "ms",
                output: status == .pass ? output : "\(stalest) has not traded for \(age.milliseconds) ms; \(output)")
        }
    }
}
