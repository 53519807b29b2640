// ExecutionBench: a signal's way to an order ready to send, the exchange excluded: into the
// signal queue, out of it, through the pre-trade checks and sizing, and into the outbox in
// PostgreSQL (the one durable write an order waits for). Its anchor, in the same run on the
// same database: a bare INSERT of a row of the same size, the floor of any outbox.
//
//   ExecutionBench HOST PORT USER DATABASE [SIGNALS]   (default 5000)

import Binance
import EmergencyStop
import EventBus
import Execution
import Foundation
import Logging
import Money
import PolicyStore
import PostgresNIO
import ServiceKit
import VaktConfig

let arguments = CommandLine.arguments
guard arguments.count >= 5, let port = Int(arguments[2]) else {
    FileHandle.standardError.write(Data("usage: ExecutionBench HOST PORT USER DATABASE [SIGNALS]\n".utf8))
    exit(2)
}
let count = arguments.count > 5 ? Int(arguments[5]) ?? 5_000 : 5_000
let logger = Logger(label: "bench.execution")
let client = PostgresClient(
    configuration: .init(host: arguments[1], port: port, username: arguments[3], password: nil, database: arguments[4], tls: .disable))

func microseconds(_ duration: Duration) -> Double {
    let parts = duration.components
    return Double(parts.seconds) * 1e6 + Double(parts.attoseconds) / 1e12
}

func percentiles(_ samples: [Double]) -> (p50: Double, p99: Double) {
    let sorted = samples.sorted()
    return (sorted[sorted.count / 2], sorted[min(sorted.count - 1, sorted.count * 99 / 100)])
}

try await withThrowingDiscardingTaskGroup { group in
    group.addTask { await client.run() }
    try await client.query("DROP TABLE IF EXISTS order_fills, orders, vakt_migrations, bench_rows", logger: logger)
    try await MigrationRunner(service: "execution", migrations: OrderStore.migrations, client: client, logger: logger).run()
    try await client.query("CREATE TABLE bench_rows (id text PRIMARY KEY, payload text NOT NULL)", logger: logger)
    let store = OrderStore(client: client, logger: logger)

    let now = Date()
    let filters = SymbolFilters(
        price: .init(minPrice: Price(1, scale: 2), maxPrice: Price(1_000_000), tickSize: Price(1, scale: 2)),
        lotSize: .init(minQty: Quantity(1, scale: 5), maxQty: Quantity(9_000), stepSize: Quantity(1, scale: 5)),
        notional: .init(minNotional: Money(5), applyMinToMarket: true, maxNotional: .zero, applyMaxToMarket: false))
    let context = PlanningContext(
        ess: ESSStatus(
            state: .armed, since: now, reason: "bench", source: "bench", trigger: .manual, cooldownEndsAt: nil, confirmedAt: now),
        policy: .defaults, settings: ExecutionSettings(), filters: filters, assets: SymbolAssets(base: "BTC", quote: "USDT"),
        marks: ["BTCUSDT": Price(64_000)], free: ["USDT": FixedDecimal(1_000_000)], held: ["USDT": FixedDecimal(1_000_000)],
        ordersInLastMinute: 0, openOrders: 0)
    var queue = SignalQueue(capacity: 100)
    var checks: [Double] = []
    var total: [Double] = []
    var anchor: [Double] = []
    for index in 0..<count {
        let signal = SignalGenerated(
            symbol: "BTCUSDT", side: .buy, confidence: FixedDecimal(7, scale: 1), model: "bench", referencePrice: Price(64_000),
            reason: "bench", size: FixedDecimal(5, scale: 1), expiresAt: now.addingTimeInterval(3_600))
        let eventId = "bench-\(index)-\(UUID().uuidString)"
        let started = ContinuousClock.now
        queue.offer(SignalQueue.Entry(id: eventId, signal: signal, receivedAt: now), now: now)
        guard let entry = queue.next(now: now).entry, case .success(let plan) = EntryPlanner.plan(entry.signal, context) else {
            fatalError("the bench's signal was refused")
        }
        let order = StoredOrder(
            clientOrderId: ClientOrderIDs.entry(signalId: entry.id), signalId: entry.id, purpose: .entry, parent: nil, symbol: plan.symbol,
            side: plan.side, quantity: plan.quantity, price: plan.price, referencePrice: plan.referencePrice, createdAt: now)
        let checked = ContinuousClock.now
        guard try await store.insert(order) else { fatalError("the outbox refused a new order") }
        let ready = ContinuousClock.now
        queue.finish(executed: true)
        checks.append(microseconds(checked - started))
        total.append(microseconds(ready - started))

        // The anchor: one bare row of the same size.
        let payload = String(repeating: "x", count: 220)
        let anchorStarted = ContinuousClock.now
        try await client.query("INSERT INTO bench_rows (id, payload) VALUES (\(eventId), \(payload))", logger: logger)
        anchor.append(microseconds(ContinuousClock.now - anchorStarted))
    }
    let (checksP50, checksP99) = percentiles(checks)
    let (totalP50, totalP99) = percentiles(total)
    let (anchorP50, anchorP99) = percentiles(anchor)
    print(
        #"{"signals": \#(count), "checks_us_p50": \#(checksP50), "checks_us_p99": \#(checksP99), "#
            + #""signal_to_order_us_p50": \#(totalP50), "signal_to_order_us_p99": \#(totalP99), "#
            + #""bare_insert_us_p50": \#(anchorP50), "bare_insert_us_p99": \#(anchorP99)}"#)
    group.cancelAll()
}
