import Binance
import PaperExchange
import Synchronization

/// The paper exchange's market behind one lock, with the clock it runs on: every request moves
/// the market to the present, then reads or trades.
final class ExchangeDesk: Sendable {
    private let state: Mutex<PaperExchange>
    let clock: ScaledClock
    let faults: Mutex<SimulatorFaults>

    init(_ exchange: PaperExchange, clock: ScaledClock, faults: SimulatorFaults) {
        state = Mutex(exchange)
        self.clock = clock
        self.faults = Mutex(faults)
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
