import AsyncHTTPClient
import Binance
import BinanceAdapter
import Foundation
import Logging
import Synchronization

/// `--exchange-load BASE_URL --budget-file F --clock-origin MS --clock-rate R --duration-ms D
/// --weight-per-minute W`: asks the exchange for `ticker/price` (weight 2) at W weight a minute
/// of the exchange's clock for D ms of it, through the adapter and the shared budget; then
/// prints one JSON line of what happened and exits 0.
func loadExchangeAndExit(options: [String: String]) async -> Never {
    func number(_ name: String) -> Int64 { options[name].flatMap { Int64($0) } ?? 0 }
    let clock = ScaledClock(origin: number("--clock-origin"), rate: Int(number("--clock-rate")))
    let rateLimited = Mutex(0)
    let client: BinanceClient
    do {
        client = BinanceClient(
            settings: .init(baseURL: options["--exchange-load"] ?? "", recvWindow: 60_000, rateLimitRetries: 1_000),
            credentials: nil, http: HTTPClient.shared,
            budget: try SharedRequestBudget(path: options["--budget-file"] ?? ""), clock: clock, logger: Logger(label: "test-child.load"),
            incidents: { incident in
                if case .rateLimited = incident { rateLimited.withLock { $0 += 1 } }
            })
        try await client.connect()
    } catch {
        say("exchange-load: \(error)")
        exit(1)
    }
    let interval = max(60_000 * 2 / max(number("--weight-per-minute"), 1), 1)
    let start = clock.now()
    let end = start + number("--duration-ms")
    var (weight, requests, banned, failed) = (0, 0, 0, 0)
    /// Weight answered, by the minute window of the exchange's clock it was answered in.
    var windows: [Int64: Int] = [:]
    var due = start
    while clock.now() < end {
        // Asks on schedule; when the budget holds it back it falls behind and asks at once.
        try? await clock.sleep(until: due)
        due += interval
        do {
            _ = try await client.lastPrice(symbol: "BTCUSDT")
            weight += 2
            requests += 1
            windows[clock.now() / 60_000, default: 0] += 2
        } catch .banned {
            banned += 1
            break
        } catch {
            failed += 1
        }
    }
    let byWindow = windows.keys.sorted().map { "\"\($0)\":\(windows[$0] ?? 0)" }.joined(separator: ",")
    say(
        #"{"weight":\#(weight),"requests":\#(requests),"rate_limited":\#(rateLimited.withLock { $0 }),"banned":\#(banned),"#
            + #""failed":\#(failed),"from":\#(start),"to":\#(clock.now()),"windows":{\#(byWindow)}}"#)
    exit(0)
}
