import Binance
import BinanceAdapter
import EventBus
import Foundation
import Money
import OKXAdapter
import RedisClient
import ServiceKit
import Testing
import TradingAudit
import VaktTesting

#if canImport(Glibc)
    import Glibc
#endif

/// Execution and the portfolio as the system runs them, against the paper exchange: signals
/// become orders and fills, the portfolio books each fill once and equals the exchange's
/// balances; and execution killed at random points with orders in flight never duplicates an
/// order and ends with every order in its true state.
@Suite(.serialized) struct ExecutionProcessTests {
    /// Thin books (0.0005 BTC a level) so that a 500 USDT order (about 0.008 BTC) takes every
    /// level within its limit and rests in part: partial fills, then the remainder canceled
    /// after 2 s and re-priced; balances compared every second.
    static let sections = """
        paper_exchange:
          seed: 11
          balances: { USDT: "100000" }
          markets:
            BTCUSDT: { depth_per_level: "0.0005" }
        execution:
          order_timeout: 2s
          take_profit: "0.0005"
          stop_loss: "0.0005"
        portfolio:
          snapshot_interval: 1s
          reconcile_interval: 1s
        event_bus:
          claim_idle: 500ms
          max_deliveries: 2
        """

    /// What the exchange and our records say once everything settled.
    struct Audit {
        var exchangeOrders: [OrderReport]
        var exchangeTrades: [TradeReport]
        var ours: [[String: JSONValue]]
        var journal: [Int64]
    }

    /// Where the trading half answers: the services' base URLs, the exchange's account, Redis.
    struct Endpoints {
        var execution: String
        var portfolio: String
        var risk: String
        var exchange: BinanceClient
        var redis: RedisConnection
        /// The second venue's account, audited beside Binance's when trading may fail over.
        var secondVenue: OKXClient?

        init(
            execution: String, portfolio: String, risk: String, exchange: BinanceClient, redis: RedisConnection,
            secondVenue: OKXClient? = nil
        ) {
            (self.execution, self.portfolio, self.risk, self.exchange, self.redis) = (execution, portfolio, risk, exchange, redis)
            self.secondVenue = secondVenue
        }

        init(_ system: PaperTradingSystem) {
            self.init(
                execution: system.execution.url(""), portfolio: system.portfolio.url(""), risk: system.risk.url(""),
                exchange: system.exchange, redis: system.redis, secondVenue: system.okx)
        }

        func json(_ base: String, _ path: String) async throws -> [String: JSONValue] {
            guard case .object(let fields) = try JSONValue(parsing: try await HTTPProbe.get(base + path).body) else { return [:] }
            return fields
        }
    }

    static func settle(_ system: PaperTradingSystem, orders expected: Int) async throws -> Audit {
        do {
            return try await settle(Endpoints(system), orders: expected)
        } catch let error as Unsettled {
            Issue.record("\(error)\n\(system.execution.process.output().suffix(6_000))")
            throw error
        }
    }

    struct Unsettled: Error, CustomStringConvertible {
        var description: String
    }

    static func settle(_ system: Endpoints, orders expected: Int) async throws -> Audit {
        var last = ""
        // Polled gently: allOrders weighs 20 of the exchange's 6,000 a minute, shared by IP with
        // the services.
        let settled = await TestEnvironment.eventually(timeout: .seconds(90), poll: .milliseconds(500)) {
            guard let view = try? await system.json(system.execution, "/api/execution") else {
                last = "execution does not answer"
                return false
            }
            last = "\(view)"
            guard case .object(let signals)? = view["signals"], view["trading"] == .bool(true), view["openOrders"] == .number(0),
                signals["queued"] == .number(0),
                let orders = try? await system.exchange.allOrders(symbol: "BTCUSDT", fromId: nil, limit: 1_000)
            else { return false }
            last += "; the exchange has \(orders.count) orders, \(orders.filter { $0.status.isOpen }.count) open"
            return orders.count >= expected && orders.allSatisfy { !$0.status.isOpen }
        }
        guard settled else { throw Unsettled(description: "execution did not settle: \(last)") }
        let exchangeOrders = try await system.exchange.allOrders(symbol: "BTCUSDT", fromId: nil, limit: 1_000)
        let exchangeTrades = try await system.exchange.trades(symbol: "BTCUSDT", fromId: 0, limit: 1_000)
        let ours = try await system.json(system.execution, "/api/orders?limit=1000")
        guard case .array(let items)? = ours["orders"] else { throw MissingFixture("no orders in \(ours)") }
        var journal: [Int64] = []
        var before = ""
        while true {
            let page = try await system.json(system.portfolio, "/api/portfolio/trades?limit=1000" + before)
            guard case .array(let trades)? = page["trades"] else { break }
            journal += trades.compactMap {
                if case .object(let trade) = $0, case .number(let id)? = trade["tradeId"] { Int64(id) } else { nil }
            }
            guard case .number(let next)? = page["next"] else { break }
            before = "&before=\(Int64(next))"
        }
        let mine: [[String: JSONValue]] = items.compactMap { if case .object(let order) = $0 { order } else { nil } }
        return Audit(exchangeOrders: exchangeOrders, exchangeTrades: exchangeTrades, ours: mine, journal: journal)
    }

    /// The loss report, as `vakt audit` checks it, once the portfolio has reconciled: no client
    /// order id twice at the exchange and none unknown to execution, every order of ours there
    /// in the state and with the execution we hold, every trade booked once by the portfolio,
    /// its cash and position equal to the exchange's balances, its PnL equal to the
    /// recomputation from the exchange's trades, and every order event handled.
    static func verify(_ system: PaperTradingSystem) async throws { try await verify(Endpoints(system)) }

    static func verify(_ system: Endpoints) async throws {
        var health = ""
        #expect(
            await TestEnvironment.eventually(timeout: .seconds(30)) {
                health = (try? await HTTPProbe.get(system.portfolio + "/health").text) ?? ""
                return health.contains("positions and cash equal the exchange") && health.contains("\"portfolio:balances\"")
            }, "\(health)")
        let reader = { (base: String) in ControlClient(baseURL: base, token: nil, tokenSecret: "") }
        let collector = AuditCollector(
            exchange: system.exchange, execution: reader(system.execution), portfolio: reader(system.portfolio),
            risk: reader(system.risk), streams: EventStreamInspector(redis: system.redis), symbols: ["BTCUSDT"],
            secondVenue: system.secondVenue)
        var last = "no audit yet"
        // The last fill's event may still be on its way to the portfolio: audited again until it
        // passes, and its last report shown if it never does.
        #expect(
            await TestEnvironment.eventually(timeout: .seconds(60), poll: .milliseconds(500)) {
                do {
                    let report = TradingAudit.check(try await collector.collect())
                    last = report.text
                    return report.passed
                } catch {
                    last = "\(error)"
                    return false
                }
            }, "\(last)")
        print(last)
    }

    @Test func signalsBecomeFilledOrdersAndThePortfolioBooksEachFillOnce() async throws {
        let system = try await PaperTradingSystem(sections: Self.sections)
        defer { system.stop() }
        #expect(await system.waitUntilTrading(), "execution did not start trading")
        // Three buys and a sell, each once the one before became an order (a newer signal for
        // the same symbol replaces a waiting one).
        for (index, side) in [OrderSide.buy, .buy, .buy, .sell].enumerated() {
            try await system.signal(side)
            #expect(
                await TestEnvironment.eventually(timeout: .seconds(30)) {
                    guard let view = try? await system.json(system.execution, "/api/execution"),
                        case .object(let signals)? = view["signals"], case .number(let executed)? = signals["executed"]
                    else { return false }
                    return Int(executed) == index + 1
                }, "signal \(index + 1) did not become an order")
        }
        // A buy that fills after the sell arms exits the sell did not stand down (5 bps away,
        // they fire within seconds). What follows compares records read at different moments,
        // so it starts once no order is open and no exit left to fire, in one reading (a
        // stop-loss placed between the settled audit and `vakt audit` once failed both, beside
        // the multi-host tests).
        #expect(
            await TestEnvironment.eventually(timeout: .seconds(180)) {
                let view = try? await system.json(system.execution, "/api/execution")
                return view?["armedExits"] == .number(0) && view?["openOrders"] == .number(0)
            }, "exits still armed")
        let audit = try await Self.settle(system, orders: 4)
        try await Self.verify(system)
        #expect(audit.exchangeTrades.count >= 4)

        // Orders page by `next`: two at a time, the pages together are the whole list, each
        // order once, newest first.
        let whole = try await system.json(system.execution, "/api/orders?limit=1000")
        var paged: [JSONValue] = []
        var before = ""
        while true {
            let page = try await system.json(system.execution, "/api/orders?limit=2" + before)
            guard case .array(let orders)? = page["orders"] else { throw MissingFixture("no orders in \(page)") }
            paged += orders
            guard case .string(let next)? = page["next"] else { break }
            before = "&before=\(next)"
        }
        #expect(whole["orders"] == .array(paged) && paged.count >= 4, "\(paged.count) paged, \(String(describing: whole["orders"]))")

        // The same audit as an operator runs it: `vakt audit` on execution's configuration, the
        // portfolio's port and the exchange's address given as overrides, the account's key as
        // secrets. It passes (exit 0); a bad symbol and a missing key are named.
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("VAKT_") }
        environment["VAKT_SERVICES__PORTFOLIO__PORT"] = "\(system.portfolio.configuration.ports[.portfolio]!)"
        environment["VAKT_SERVICES__RISK__PORT"] = "\(system.risk.configuration.ports[.risk]!)"
        environment["VAKT_EXCHANGE__BASE_URL"] = system.simulator.url("")
        let arguments = ["audit", "--config", system.execution.configuration.path, "--symbols", "BTCUSDT"]
        let unkeyed = try await TestEnvironment.run(TestEnvironment.vaktExecutable, arguments, environment: environment)
        #expect(unkeyed.status != 0 && unkeyed.output.contains("the exchange's API key is not set"), "\(unkeyed.output)")
        environment["VAKT_SECRET_EXCHANGE_API_KEY"] = PaperTradingSystem.apiKey
        environment["VAKT_SECRET_EXCHANGE_API_SECRET"] = PaperTradingSystem.apiSecret
        let badSymbol = try await TestEnvironment.run(
            TestEnvironment.vaktExecutable, arguments.dropLast() + ["btc-usdt"], environment: environment)
        #expect(badSymbol.status != 0 && badSymbol.output.contains("--symbols: \"btc-usdt\" is not a symbol"), "\(badSymbol.output)")
        let command = try await TestEnvironment.run(TestEnvironment.vaktExecutable, arguments, environment: environment)
        #expect(command.status == 0 && command.output.contains("audit: PASSED"), "\(command.output)")
        #expect(command.output.contains("recomputed from the exchange's trades: equal"), "\(command.output)")

        // Bad input changes nothing and says what was wrong: a signal with a confidence above 1
        // is dead-lettered naming the field; bad query parameters are refused naming theirs.
        try await system.publisher.publish(
            EventEnvelope(
                type: .signalGenerated, source: "test/ai-engine",
                payload: .object([
                    "symbol": .string("BTCUSDT"), "side": .string("BUY"), "confidence": .string("1.5"), "model": .string("m"),
                    "referencePrice": .string("64000"), "reason": .string("bad"),
                ])))
        var dead = ""
        #expect(
            await TestEnvironment.eventually(timeout: .seconds(60), poll: .milliseconds(200)) {
                let entries = try? await system.redis.command(["XRANGE", EventType.signalGenerated.deadLetterStream, "-", "+"])
                // Each entry: [id, [field, value, ...]].
                dead = (entries?.array ?? []).flatMap { $0.array?.last?.array ?? [] }.compactMap(\.string).joined(separator: " ")
                return dead.contains("confidence: 1.5 is outside 0...1")
            }, "\(dead)")
        for (service, path, field) in [
            (system.execution, "/api/orders?limit=0", "limit"), (system.execution, "/api/orders?open=maybe", "open"),
            (system.execution, "/api/orders?before=vnothing", "before"),
            (system.portfolio, "/api/portfolio/trades?before=x", "before"), (system.portfolio, "/api/portfolio/trades?limit=5000", "limit"),
        ] {
            let reply = try await HTTPProbe.get(service.url(path))
            #expect(reply.status == 400 && reply.text.contains("\(field):"), "\(path): \(reply.status) \(reply.text)")
        }
        let view = try await system.json(system.execution, "/api/execution")
        guard case .object(let signals)? = view["signals"] else { throw MissingFixture("no signals in \(view)") }
        #expect(signals["received"] == .number(4) && signals["executed"] == .number(4) && signals["balanced"] == .bool(true), "\(view)")
        // Events: an order.submitted for each order the exchange took, a fill event per trade.
        let inspector = EventStreamInspector(redis: system.redis)
        let submitted = try await inspector.range(.orderSubmitted, from: "-", to: "+", limit: 10_000).count
        let fills =
            try await inspector.range(.orderFilled, from: "-", to: "+", limit: 10_000).count
            + inspector.range(.orderPartiallyFilled, from: "-", to: "+", limit: 10_000).count
        #expect(submitted == audit.exchangeOrders.count && fills == audit.exchangeTrades.count, "\(submitted) submitted, \(fills) fills")
        let purposes = audit.ours.compactMap { order -> String? in
            guard case .string(let purpose)? = order["purpose"], case .string(let state)? = order["state"] else { return nil }
            return "\(purpose) \(state)"
        }
        print(
            "execution: \(audit.exchangeOrders.count) orders, \(audit.exchangeTrades.count) fills, all booked once; "
                + "\(Dictionary(grouping: purposes, by: { $0 }).mapValues(\.count))")
    }

    /// SIGKILL while orders are in flight: before they are sent, after they are sent and
    /// before the reply (the exchange holds replies back), between partial fills. After each
    /// restart execution reconciles before it trades again.
    @Test func killedAtRandomPointsItNeverPlacesAnOrderTwice() async throws {
        let system = try await PaperTradingSystem(sections: Self.sections)
        defer { system.stop() }
        #expect(await system.waitUntilTrading(), "execution did not start trading")
        var random = SplitMix64(seed: UInt64(Date().timeIntervalSince1970))
        var published = 0
        for round in 0..<6 {
            // Every other round the exchange processes the order and holds its reply back.
            if round % 2 == 1 { try await system.faults(#"{"drop_next_orders": 1, "drop_hold_ms": 1500}"#) }
            let before = try await system.exchange.allOrders(symbol: "BTCUSDT", fromId: nil, limit: 1_000).count
            try await system.signal(round % 3 == 2 ? .sell : .buy)
            published += 1
            if round % 2 == 1 {
                // Killed once the order is at the exchange, its reply still held.
                _ = await TestEnvironment.eventually(timeout: .seconds(20), poll: .milliseconds(500)) {
                    ((try? await system.exchange.allOrders(symbol: "BTCUSDT", fromId: nil, limit: 1_000).count) ?? 0) > before
                }
            } else {
                try await Task.sleep(for: .milliseconds(Int(random.next(upTo: 400))))
            }
            try await system.execution.killAndRestart()
            try await system.execution.waitUntilReady(timeout: .seconds(60))
            #expect(await system.waitUntilTrading(), "round \(round): execution did not trade again after its restart")
        }
        try await system.faults(#"{"drop_next_orders": 0}"#)
        let audit = try await Self.settle(system, orders: 1)
        let rejected = try await EventStreamInspector(redis: system.redis).range(.orderRejected, from: "-", to: "+", limit: 100)
        print("rejected: \(rejected.map(\.envelope))")
        try await Self.verify(system)
        print("execution killed 6 times: \(audit.exchangeOrders.count) orders, \(audit.exchangeTrades.count) fills, none twice")
    }

    /// Fills arrive while the portfolio is down, and it cannot open its ledger when it comes
    /// back (the exchange frozen: it cannot connect). Restarted three times meanwhile, with
    /// `max_deliveries: 2`: it must not take the fills before its ledger opens, or each restart
    /// would count as a failed delivery and the fills would be dead-lettered, lost to the
    /// ledger (a fresh-clone chaos run lost four so: a portfolio killed twice while waiting out
    /// 429s). The exchange back, the fills are booked and the loss report passes.
    @Test func fillsWaitingForALedgerThatCannotOpenAreNeverDeadLettered() async throws {
        let system = try await PaperTradingSystem(sections: Self.sections)
        defer { system.stop() }
        #expect(await system.waitUntilTrading(), "execution did not start trading")
        system.portfolio.process.signal(SIGKILL)
        _ = await system.portfolio.process.waitForExit()
        try await system.signal(.buy)
        let filled = await TestEnvironment.eventually(timeout: .seconds(60)) {
            ((try? await system.redis.command(["XLEN", EventType.orderFilled.stream]))?.integer ?? 0) >= 1
        }
        #expect(filled, "the buy was not filled")
        system.simulator.process.signal(SIGSTOP)
        for _ in 0..<3 {
            try await system.portfolio.killAndRestart(timeout: .seconds(60))
            // Long enough for a consumer to read the fills and its leases to lapse (claim_idle 500 ms).
            try await Task.sleep(for: .seconds(2))
        }
        system.simulator.process.signal(SIGCONT)
        try await Self.verify(system)
        for type in [EventType.orderFilled, .orderPartiallyFilled] {
            let dead = try await system.redis.command(["XLEN", type.deadLetterStream]).integer
            #expect(dead == 0, "\(dead ?? -1) \(type.rawValue) events dead-lettered")
        }
    }

    /// PostgreSQL crashes while an order rests at the exchange, and the order is canceled there:
    /// execution cannot write the change, so it keeps the order in memory, counts the change and
    /// stops trading (`trading` false) rather than go on as if the row said canceled; once
    /// PostgreSQL is back the change is written, trading resumes, and the loss report passes.
    @Test func aChangePostgresCannotTakeHoldsTradingUntilItIsWritten() async throws {
        let cluster = try PostgresCluster()
        try await cluster.start()
        // A limit one basis point from the market rests most of the order; no timeout or exits
        // move it meanwhile.
        let sections = Self.sections.replacingOccurrences(of: "order_timeout: 2s", with: "order_timeout: 600s\n  max_slippage: \"0.0001\"")
            .replacingOccurrences(of: #"take_profit: "0.0005""#, with: #"take_profit: "0""#)
            .replacingOccurrences(of: #"stop_loss: "0.0005""#, with: #"stop_loss: "0""#)
        let system = try await PaperTradingSystem(sections: sections, cluster: cluster.server)
        defer {
            system.stop()
            Task { try? await cluster.stop() }
        }
        #expect(await system.waitUntilTrading(), "execution did not start trading")
        try await system.signal(.buy)
        var resting: OrderReport?
        var last = ""
        #expect(
            await TestEnvironment.eventually(timeout: .seconds(60), poll: .milliseconds(200)) {
                resting = try? await system.exchange.openOrders(symbol: "BTCUSDT").first
                let view = (try? await system.json(system.execution, "/api/execution")) ?? [:]
                last = "\(view) \((try? await system.json(system.execution, "/api/orders?limit=10")) ?? [:])"
                return resting != nil && view["openOrders"] == .number(1)
            }, "no order rests at the exchange: \(last)")
        guard let clientOrderId = resting?.clientOrderId else { throw MissingFixture("no resting order") }

        try await cluster.crash()
        _ = try await system.exchange.cancel(symbol: "BTCUSDT", clientOrderId: clientOrderId)
        var view: [String: JSONValue] = [:]
        #expect(
            await TestEnvironment.eventually(timeout: .seconds(60), poll: .milliseconds(200)) {
                view = (try? await system.json(system.execution, "/api/execution")) ?? [:]
                return view["unwrittenChanges"] == .number(1) && view["trading"] == .bool(false)
            }, "execution went on trading with an unwritten change: \(view)")
        // Its PostgreSQL check waits out its 10 s limit first.
        let health = try await HTTPProbe.request(.GET, system.execution.url("/health"), timeout: .seconds(60)).text
        #expect(health.contains("order changes wait for PostgreSQL"), "\(health)")

        try await cluster.start()
        #expect(
            await TestEnvironment.eventually(timeout: .seconds(120), poll: .milliseconds(200)) {
                view = (try? await system.json(system.execution, "/api/execution")) ?? [:]
                return view["unwrittenChanges"] == .number(0) && view["trading"] == .bool(true)
            }, "execution did not write the change and trade again: \(view)")
        let stored = try await system.json(system.execution, "/api/orders?limit=10")
        guard case .array(let orders)? = stored["orders"], case .object(let order)? = orders.first else {
            throw MissingFixture("no orders in \(stored)")
        }
        #expect(order["clientOrderId"] == .string(clientOrderId) && order["state"] == .string("canceled"), "\(order)")
        _ = try await Self.settle(system, orders: 1)
        try await Self.verify(system)
    }
}

/// A flood of signals into a running execution service: 10,000 a second for
/// `VAKT_FLOOD_SECONDS` (scripts/test runs it alone after the rest, for 60 s; beside the other
/// tests it would take the cores their timeouts were given for) across 200 symbols, most of which the exchange does not
/// list (they are refused by the checks, as a flood of nonsense would be). The queue stays at
/// its bound, execution's resident memory stays flat, and at the end every signal is accounted
/// for: received = executed + rejected + dropped + queued, with nothing queued.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["VAKT_FLOOD_SECONDS"] != nil, "runs alone: set VAKT_FLOOD_SECONDS"))
struct ExecutionFloodTests {
    @Test func tenThousandSignalsASecondKeepTheQueueAtItsBoundAndMemoryFlat() async throws {
        let seconds = Int(ProcessInfo.processInfo.environment["VAKT_FLOOD_SECONDS"] ?? "") ?? 60
        let system = try await PaperTradingSystem(sections: ExecutionProcessTests.sections)
        defer { system.stop() }
        #expect(await system.waitUntilTrading(), "execution did not start trading")
        let price = try await system.exchange.lastPrice(symbol: "BTCUSDT")
        let symbols = ["BTCUSDT"] + (1..<200).map { String(format: "S%03dUSDT", $0) }
        var random = SplitMix64(seed: 10_000)
        var published = 0
        var resident: [Int] = []
        var depths: [Int] = []
        let pid = system.execution.process.pid
        let start = ContinuousClock.now
        for second in 0..<seconds {
            // 10,000 this second, in 20 batches, paced by the clock (pacing only: nothing is
            // judged by how long anything took).
            for batch in 0..<20 {
                let now = Date()
                let envelopes = (0..<500).map { _ in
                    EventEnvelope(
                        SignalGenerated(
                            symbol: symbols[Int(random.next(upTo: UInt64(symbols.count)))], side: random.next(upTo: 2) == 0 ? .buy : .sell,
                            confidence: FixedDecimal(Int(random.next(upTo: 100)), scale: 2), model: "flood", referencePrice: price,
                            reason: "flood", size: FixedDecimal(1, scale: 2), expiresAt: now.addingTimeInterval(2)),
                        source: "test/flood")
                }
                try await system.publisher.publish(envelopes)
                published += envelopes.count
                let due = start + .milliseconds(second * 1_000 + (batch + 1) * 50)
                if ContinuousClock.now < due { try await Task.sleep(until: due) }
            }
            if let bytes = ProcStat.residentBytes(pid) { resident.append(bytes) }
            if let view = try? await system.json(system.execution, "/api/execution"), case .object(let signals)? = view["signals"],
                case .number(let queued)? = signals["queued"]
            {
                depths.append(Int(queued))
            }
        }
        // Everything published is taken in and accounted for.
        var last: [String: JSONValue] = [:]
        let drained = await TestEnvironment.eventually(timeout: .seconds(300), poll: .milliseconds(500)) {
            guard let view = try? await system.json(system.execution, "/api/execution"), case .object(let signals)? = view["signals"]
            else { return false }
            last = signals
            return signals["received"] == .number(Double(published)) && signals["queued"] == .number(0)
        }
        #expect(drained, "published \(published); execution: \(last)")
        #expect(last["balanced"] == .bool(true), "\(last)")
        if case .number(let executed)? = last["executed"], case .number(let rejected)? = last["rejected"],
            case .object(let dropped)? = last["dropped"]
        {
            let droppedTotal = dropped.values.reduce(0.0) { total, value in
                if case .number(let count) = value { total + count } else { total }
            }
            #expect(Int(executed + rejected + droppedTotal) == published, "\(last)")
        }
        // The queue held at its bound (100, and the one being checked).
        #expect(depths.allSatisfy { $0 <= 101 } && (depths.max() ?? 0) >= 90, "queue depths \(depths)")
        // Resident memory flat: the last ten seconds' highest within 32 MiB of the first ten's.
        let early = resident.prefix(10).max() ?? 0
        let late = resident.suffix(10).max() ?? 0
        #expect(late <= early + 32 << 20, "resident \(early >> 20) MiB early, \(late >> 20) MiB late: \(resident.map { $0 >> 20 })")
        print(
            "flood: \(published) signals in \(seconds) s; queue depth max \(depths.max() ?? 0); resident \(early >> 20) MiB early, "
                + "\(late >> 20) MiB late; \(last)")
    }
}
