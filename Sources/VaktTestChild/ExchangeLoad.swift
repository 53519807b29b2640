import AsyncHTTPClient
import Binance
import BinanceAdapter
import Foundation
import Logging
import RedisClient
import Synchronization

/// `--exchange-load BASE_URL --budget-file F --clock-origin MS --clock-rate R --duration-ms D
/// --weight-per-minute W [--budget-guard MS] [--budget-redis-port P --budget-redis-key K
/// --budget-share S]`: asks the exchange for `ticker/price` (weight 2) at W weight a minute
/// of the exchange's clock for D ms of it, through the adapter and the shared budget (the
/// file, or the budget in Redis under K with the file at share S while Redis is out of reach);
/// then prints one JSON line of what happened and exits 0.
func loadExchangeAndExit(options: [String: String]) async -> Never {
    func number(_ name: String) -> Int64 { options[name].flatMap { Int64($0) } ?? 0 }
    let clock = ScaledClock(origin: number("--clock-origin"), rate: Int(number("--clock-rate")))
    let rateLimited = Mutex(0)
    let client: BinanceClient
    let guardTime = options["--budget-guard"].flatMap { Int64($0) } ?? 100
    let budget: any RequestBudgetStore
    let shared: RedisRequestBudget?
    do {
        let file = try SharedRequestBudget(
            path: options["--budget-file"] ?? "", guardTime: guardTime, share: options["--budget-share"].flatMap { Double($0) } ?? 1)
        if let port = options["--budget-redis-port"].flatMap({ Int($0) }), let key = options["--budget-redis-key"] {
            let redis = RedisConnection(
                endpoint: RedisEndpoint(
                    host: "127.0.0.1", port: port, reconnectInitialDelay: .milliseconds(20), reconnectMaxDelay: .milliseconds(200)),
                label: "budget")
            let store = RedisRequestBudget(
                redis: redis, key: key, fallback: file, guardTime: guardTime, logger: Logger(label: "test-child.budget"))
            (shared, budget) = (store, store)
        } else {
            (shared, budget) = (nil, file)
        }
        client = BinanceClient(
            settings: .init(baseURL: options["--exchange-load"] ?? "", recvWindow: 60_000, rateLimitRetries: 1_000),
            credentials: nil, http: HTTPClient.shared,
            budget: budget,
            clock: clock, logger: Logger(label: "test-child.load"),
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
    /// Requests answered while the budget in Redis was out of reach (on the file's share).
    var cutOffRequests = 0
    /// Weight answered, by the minute window of the exchange's clock it was answered in, and
    /// the wall-clock milliseconds spent in calls (waiting for the budget included) and in
    /// the schedule's sleeps.
    var windows: [Int64: Int] = [:]
    var inCalls: [Int64: Int] = [:]
    var inSleeps: [Int64: Int] = [:]
    /// Budget waits that ended in each window: the limit held the caller back there.
    var budgetWaits: [Int64: Int] = [:]
    var due = start
    while clock.now() < end {
        // Asks on schedule; when the budget holds it back it falls behind and asks at once.
        let sleepStart = ContinuousClock.now
        try? await clock.sleep(until: due)
        inSleeps[clock.now() / 60_000, default: 0] += milliseconds(since: sleepStart)
        due += interval
        let callStart = ContinuousClock.now
        defer { inCalls[clock.now() / 60_000, default: 0] += milliseconds(since: callStart) }
        // A wait that began in a window says that window was full.
        let waitsBefore = client.budgetWaits
        let startWindow = clock.now() / 60_000
        defer {
            let waited = client.budgetWaits - waitsBefore
            if waited > 0 { budgetWaits[startWindow, default: 0] += waited }
        }
        do {
            _ = try await client.lastPrice(symbol: "BTCUSDT")
            weight += 2
            requests += 1
            if shared?.cutOffSince != nil { cutOffRequests += 1 }
            windows[clock.now() / 60_000, default: 0] += 2
        } catch .banned {
            banned += 1
            break
        } catch {
            failed += 1
        }
    }
    func json(_ values: [Int64: Int]) -> String { values.keys.sorted().map { "\"\($0)\":\(values[$0] ?? 0)" }.joined(separator: ",") }
    let byWindow = json(windows)
    say(
        #"{"weight":\#(weight),"requests":\#(requests),"rate_limited":\#(rateLimited.withLock { $0 }),"banned":\#(banned),"#
            + #""failed":\#(failed),"cut_off_requests":\#(cutOffRequests),"from":\#(start),"to":\#(clock.now()),"windows":{\#(byWindow)},"#
            + #""clock_uncertainty_ms":\#(client.clockUncertainty),"#
            + #""call_ms":{\#(json(inCalls))},"sleep_ms":{\#(json(inSleeps))},"budget_waits":{\#(json(budgetWaits))}}"#)
    exit(0)
}

func milliseconds(since start: ContinuousClock.Instant) -> Int {
    let elapsed = (ContinuousClock.now - start).components
    return Int(elapsed.seconds * 1_000 + elapsed.attoseconds / 1_000_000_000_000_000)
}
