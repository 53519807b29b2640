import Binance
import Foundation
import PaperExchange
import Synchronization

/// The paper exchange's market behind one lock, with the clock it runs on: every request moves
/// the market to the present, then reads or trades.
final class ExchangeDesk: Sendable {
    private let state: Mutex<PaperExchange>
    let clock: SimulatorClock

    init(_ exchange: PaperExchange, clock: SimulatorClock) {
        state = Mutex(exchange)
        self.clock = clock
    }

    /// Runs `body` on the market at the present; Binance's error when it refuses.
    func at<T: Sendable>(_ body: (inout PaperExchange, _ now: Int64) throws(BinanceError) -> T) -> Result<T, BinanceError> {
        let now = clock.now()
        return state.withLock { exchange in
            do throws(BinanceError) {
                try exchange.advance(to: now)
                return .success(try body(&exchange, now))
            } catch {
                return .failure(error)
            }
        }
    }
}

/// The exchange's clock in milliseconds since 1970: the wall clock, or a clock running
/// `rate` times faster from the moment the exchange started (for soak tests that need hours of
/// market in minutes; their clients must run on the same clock).
struct SimulatorClock: Sendable {
    let origin: Int64
    let rate: Int64

    init(rate: Int) {
        origin = Self.wall()
        self.rate = Int64(rate)
    }

    func now() -> Int64 {
        let wall = Self.wall()
        return rate == 1 ? wall : origin + (wall - origin) * rate
    }

    static func wall() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
}
