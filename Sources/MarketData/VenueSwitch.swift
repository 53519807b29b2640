import HealthFormat
import Metrics
import ServiceKit
import Synchronization

/// The effectful side of ``MarketVenuePolicy``: the live feed reports Binance's trades here and
/// publishes them only while Binance serves; the fallback feed decides each round. Shows the
/// serving venue as `market:venue` in `/health` (warn while the fallback serves) and as
/// `vakt_market_data_venue{venue}` (1 for the one serving).
final class VenueSwitch: Sendable {
    let primaryName = "binance"
    let fallbackName: String?
    /// nil: no fallback.
    private let policy: Mutex<MarketVenuePolicy?>

    /// - Parameter fallback: nil: Binance always serves, and the policy is never asked.
    init(fallback: (name: String, settings: MarketVenuePolicy.Settings)?) {
        fallbackName = fallback?.name
        policy = Mutex(fallback.map { MarketVenuePolicy(settings: $0.settings, start: .now) })
        record(.primary)
    }

    /// Binance delivered a trade now; whether it is Binance's to publish.
    func primaryTraded() -> Bool {
        policy.withLock { policy in
            policy?.primaryTraded(at: .now)
            return (policy?.venue ?? .primary) == .primary
        }
    }

    /// Decides the venue now: the venue, the one before, and how long Binance has been silent.
    func decide(primaryBanned: Bool) -> (venue: MarketVenuePolicy.Venue, before: MarketVenuePolicy.Venue, silent: Duration) {
        let now = ContinuousClock.now
        let (venue, before, silent) = policy.withLock { policy -> (MarketVenuePolicy.Venue, MarketVenuePolicy.Venue, Duration) in
            guard let before = policy?.venue, let venue = policy?.decide(at: now, primaryBanned: primaryBanned),
                let last = policy?.lastPrimaryTrade
            else { return (.primary, .primary, .zero) }
            return (venue, before, now - last)
        }
        if venue != before { record(venue) }
        return (venue, before, silent)
    }

    var venue: MarketVenuePolicy.Venue { policy.withLock { $0?.venue ?? .primary } }

    func name(_ venue: MarketVenuePolicy.Venue) -> String {
        venue == .primary ? primaryName : fallbackName ?? primaryName
    }

    private func record(_ venue: MarketVenuePolicy.Venue) {
        Gauge(label: "vakt_market_data_venue", dimensions: [("venue", primaryName)]).record(venue == .primary ? 1 : 0)
        if let fallbackName {
            Gauge(label: "vakt_market_data_venue", dimensions: [("venue", fallbackName)]).record(venue == .fallback ? 1 : 0)
        }
    }

    /// `market:venue`: which venue's trades are published; warn while the fallback's are.
    var healthCheck: any HealthCheck { Check(venues: self) }

    struct Check: HealthCheck {
        let venues: VenueSwitch
        let key = "market:venue"
        let componentType = "component"

        func measure() async throws -> HealthMeasurement {
            let venue = venues.venue
            guard venue == .fallback else { return HealthMeasurement(output: "ticks from \(venues.primaryName)") }
            return HealthMeasurement(
                status: .warn,
                output: "ticks from \(venues.name(.fallback)): \(venues.primaryName)'s feed is silent or its IP banned")
        }
    }
}
