/// Which venue's trades market data publishes as `market.tick`. Binance's stream (the primary)
/// serves while it delivers; once its trades have been silent for `failoverAfter`, or its IP is
/// banned, the fallback venue serves. Back to Binance only once its trades have flowed without
/// a gap of `failoverAfter` (and without a ban) for `failbackAfter`, so a feed that flickers
/// does not flip the source with every trade. Pure: every input carries its time.
struct MarketVenuePolicy: Sendable, Equatable {
    enum Venue: String, Sendable, Equatable {
        case primary
        case fallback
    }

    struct Settings: Sendable, Equatable {
        var failoverAfter: Duration
        var failbackAfter: Duration
    }

    let settings: Settings
    private(set) var venue = Venue.primary
    /// The primary's last trade; at first the start, so it gets `failoverAfter` to deliver.
    private(set) var lastPrimaryTrade: ContinuousClock.Instant
    /// The first trade of the primary's current run without a gap or a ban; nil: none.
    private var runStart: ContinuousClock.Instant?

    init(settings: Settings, start: ContinuousClock.Instant) {
        self.settings = settings
        lastPrimaryTrade = start
    }

    /// The primary delivered a trade at `time`.
    mutating func primaryTraded(at time: ContinuousClock.Instant) {
        if runStart == nil || time - lastPrimaryTrade > settings.failoverAfter { runStart = time }
        lastPrimaryTrade = max(lastPrimaryTrade, time)
    }

    /// The venue that serves from `now`, given whether the primary's IP is banned.
    mutating func decide(at now: ContinuousClock.Instant, primaryBanned: Bool) -> Venue {
        if primaryBanned { runStart = nil }
        let delivering = !primaryBanned && now - lastPrimaryTrade <= settings.failoverAfter
        switch venue {
        case .primary:
            if !delivering { venue = .fallback }
        case .fallback:
            if delivering, let runStart, now - runStart >= settings.failbackAfter { venue = .primary }
        }
        return venue
    }
}
