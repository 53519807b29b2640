import EventBus
import VaktConfig

/// Where execution places a new order (an entry): Binance while it can take orders. Binance
/// cannot while its IP is banned, or once it has failed to answer for `failoverAfter` (no
/// answer since, and the last request failed). Then, as `mode` says, new orders wait (halt),
/// or go to the second venue (failover), but only when no order on Binance awaits
/// reconciliation and the second venue is ready; until both hold they wait. Back to Binance
/// once it has answered, without a ban, for `failbackAfter`, so a flickering exchange does not
/// move every other order. An order's own lookups, cancels, re-prices and exits stay on the
/// venue it was placed on: this decides new entries only. Pure: every input carries its time
/// (ms since 1970 on the exchange's clock).
struct OrderVenuePolicy: Sendable, Equatable {
    typealias Mode = ExecutionSettings.OnBinanceDown

    struct Settings: Sendable, Equatable {
        var mode: Mode
        var failoverAfter: Int64
        var failbackAfter: Int64

        init(mode: Mode, failoverAfter: Int64, failbackAfter: Int64) {
            self.mode = mode
            self.failoverAfter = failoverAfter
            self.failbackAfter = failbackAfter
        }

        init(_ settings: ExecutionSettings) {
            self.init(
                mode: settings.onBinanceDown, failoverAfter: settings.failoverAfter.milliseconds,
                failbackAfter: settings.failbackAfter.milliseconds)
        }
    }

    /// What Binance and the second venue look like at `now`.
    struct Observation: Sendable, Equatable {
        var now: Int64
        /// The end of a ban (418) in force, if any.
        var bannedUntil: Int64
        /// Binance's last answer to any request, and whether the last request failed.
        var lastAnswer: Int64?
        var failing: Bool
        /// Orders on Binance whose outcome is not known (sent, no answer).
        var unreconciledOnBinance: Int
        /// The second venue answered lately (its balances were read).
        var secondVenueReady: Bool
    }

    enum Decision: Sendable, Equatable {
        case place(TradingVenue)
        /// No new order now; why.
        case hold(String)
    }

    let settings: Settings
    /// Where new orders go while they can go anywhere.
    private(set) var serving = TradingVenue.binance
    /// Since when Binance has been able to take orders without a break; nil while it cannot.
    private var upSince: Int64?

    init(settings: Settings) {
        self.settings = settings
    }

    /// Why Binance cannot take orders at `observation.now`; nil when it can.
    func binanceDown(_ observation: Observation) -> String? {
        if observation.bannedUntil > observation.now { return "binance has banned this IP until \(observation.bannedUntil)" }
        guard observation.failing else { return nil }
        guard let lastAnswer = observation.lastAnswer else { return "binance has not answered since the start" }
        // Worded by when it last answered, so the reason stays the same while the silence lasts.
        return observation.now - lastAnswer > settings.failoverAfter ? "binance has not answered since \(lastAnswer)" : nil
    }

    mutating func decide(_ observation: Observation) -> Decision {
        let down = binanceDown(observation)
        if down == nil {
            upSince = upSince ?? observation.now
        } else {
            upSince = nil
        }
        if serving == .okx, let upSince, observation.now - upSince >= settings.failbackAfter { serving = .binance }
        guard let down else {
            // Up, but not yet for long enough to come back: the second venue keeps the new orders.
            if serving == .okx, !observation.secondVenueReady {
                return .hold("okx, serving until binance has been up a while, is not ready")
            }
            return .place(serving)
        }
        switch settings.mode {
        case .halt:
            return .hold("\(down); execution.on_binance_down is halt")
        case .failover:
            if serving == .binance, observation.unreconciledOnBinance > 0 {
                return .hold("\(down); \(observation.unreconciledOnBinance) orders on binance are not reconciled yet")
            }
            guard observation.secondVenueReady else { return .hold("\(down); okx is not ready") }
            serving = .okx
            return .place(.okx)
        }
    }
}
