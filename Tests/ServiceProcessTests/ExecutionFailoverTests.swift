import EventBus
import Foundation
import Money
import OKXAdapter
import ServiceKit
import Testing
import VaktTesting

/// Execution's venue policy on the whole trading half (risk, the paper exchange as Binance and
/// as OKX, market data, execution, the portfolio): a ban moves new orders to the second venue
/// without tripping the ESS, the ledger counts both accounts, the audit checks both, and new
/// orders come back to Binance once it has been up for `failback_after`; with `halt`, they wait.
@Suite(.serialized) struct ExecutionFailoverTests {
    static func sections(_ mode: String) -> String {
        """
        execution:
          on_binance_down: \(mode)
          failover_after: 2s
          failback_after: 5s
          take_profit: 0
          stop_loss: 0
        portfolio:
          reconcile_interval: 2s
        """
    }

    /// A BTCUSDT signal at OKX's last price (Binance's may be banned), as the AI engine sends it.
    static func signal(_ system: PaperTradingSystem, _ okx: OKXClient, _ side: OrderSide) async throws {
        let price = try #require(try await okx.trades(instId: "BTC-USDT", limit: 1).first).price
        let signal = SignalGenerated(
            symbol: "BTCUSDT", side: side, confidence: FixedDecimal(7, scale: 1), model: "test", referencePrice: price, reason: "test",
            size: FixedDecimal(5, scale: 1), expiresAt: Date().addingTimeInterval(300))
        try await system.publisher.publish(EventEnvelope(signal, source: "test/ai-engine"))
    }

    /// Execution's orders, newest first.
    static func orders(_ system: PaperTradingSystem) async throws -> [[String: JSONValue]] {
        guard case .array(let items)? = try await system.json(system.execution, "/api/orders?limit=1000")["orders"] else { return [] }
        return items.compactMap { if case .object(let fields) = $0 { fields } else { nil } }
    }

    /// Waits for a filled entry on `venue` besides those in `known`; its client order id.
    static func filledEntry(_ system: PaperTradingSystem, on venue: String, besides known: Set<String>) async -> String? {
        var found: String?
        _ = await TestEnvironment.eventually(timeout: .seconds(60)) {
            found = try? await orders(system).first { order in
                order["venue"] == .string(venue) && order["state"] == .string("filled")
                    && !known.contains(order["clientOrderId"].flatMap { if case .string(let id) = $0 { id } else { nil } } ?? "")
            }?["clientOrderId"].flatMap { if case .string(let id) = $0 { id } else { nil } }
            return found != nil
        }
        return found
    }

    /// Execution's log lines about venues and orders, for a failure's message.
    static func venueLog(_ system: PaperTradingSystem) -> String {
        system.execution.process.output().split(separator: "\n").filter {
            !$0.contains("level=debug") && !$0.contains("level=trace")
        }.suffix(30).joined(separator: "\n")
    }

    @Test func aBanMovesNewOrdersToTheSecondVenueAndBackAndTheLedgerAndAuditCountBoth() async throws {
        let system = try await PaperTradingSystem(sections: Self.sections("failover"), secondVenue: true)
        defer { system.stop() }
        let okx = try #require(system.okx)
        #expect(await system.waitUntilTrading(), "execution did not start trading")
        #expect(
            await TestEnvironment.eventually(timeout: .seconds(60)) {
                system.execution.process.output().contains("second venue ready for failover")
            }, "okx's instruments were never read")

        // Binance first.
        try await Self.signal(system, okx, .buy)
        let first = try #require(await Self.filledEntry(system, on: "binance", besides: []), "no buy filled on binance")

        // Binance bans this IP; the audit's client, on the services' budget, meets the 418.
        try await system.faults(#"{"ban_ms": 30000}"#)
        _ = try? await system.exchange.lastPrice(symbol: "BTCUSDT")
        #expect(
            await TestEnvironment.eventually(timeout: .seconds(30)) {
                (try? await HTTPProbe.get(system.execution.url("/health")).text)?.contains("banned") == true
            }, "execution never saw the ban")
        // The next buy goes to OKX and fills there; the ESS stays armed.
        try await Self.signal(system, okx, .buy)
        let onOKX = await Self.filledEntry(system, on: "okx", besides: [])
        let state = "\((try? await system.json(system.execution, "/api/execution")) ?? [:]) \((try? await Self.orders(system)) ?? [])"
        let second = try #require(onOKX, "no buy filled on okx: \(state) \(Self.venueLog(system))")
        let view = try await system.json(system.execution, "/api/execution")
        #expect(view["venue"] == .string("okx") && view["waiting"] == .null, "\(view)")
        let okxOrder = try await okx.order(instId: "BTC-USDT", clOrdId: SecondVenueAccess.clOrdId(second))
        #expect(okxOrder.state == .filled && okxOrder.filled > .zero, "\(okxOrder)")
        let essState = try await system.risk.state()
        #expect(essState == "armed", "the ban tripped the ESS: \(essState ?? "?")")

        // The ban ends: after 5 s of Binance answering, new orders go back to it.
        #expect(
            await TestEnvironment.eventually(timeout: .seconds(90)) {
                _ = try? await system.exchange.lastPrice(symbol: "BTCUSDT")
                let view = try? await system.json(system.execution, "/api/execution")
                return view?["venue"] == .string("binance")
            }, "new orders never came back to binance")
        try await Self.signal(system, okx, .buy)
        let third = await Self.filledEntry(system, on: "binance", besides: [first])
        #expect(third != nil, "no buy filled on binance after the ban")

        // The ledger is both accounts together, and the audit, reading both venues, passes.
        try await ExecutionProcessTests.verify(system)
    }

    @Test func haltKeepsNewOrdersWaitingThroughABanAndTradesOnAfterIt() async throws {
        let system = try await PaperTradingSystem(sections: Self.sections("halt"), secondVenue: true)
        defer { system.stop() }
        let okx = try #require(system.okx)
        #expect(await system.waitUntilTrading(), "execution did not start trading")
        try await system.faults(#"{"ban_ms": 15000}"#)
        _ = try? await system.exchange.lastPrice(symbol: "BTCUSDT")
        var view: [String: JSONValue] = [:]
        #expect(
            await TestEnvironment.eventually(timeout: .seconds(30)) {
                try? await Self.signal(system, okx, .buy)
                view = (try? await system.json(system.execution, "/api/execution")) ?? [:]
                guard case .string(let why)? = view["waiting"] else { return false }
                return why.contains("banned") && why.contains("halt")
            }, "new orders did not wait: \(view)")
        #expect(view["trading"] == .bool(false))
        #expect(try await Self.orders(system).allSatisfy { $0["venue"] != .string("okx") }, "an order went to okx")
        // After the ban, the waiting buy (or a new one) is traded on Binance.
        #expect(
            await TestEnvironment.eventually(timeout: .seconds(90)) {
                _ = try? await system.exchange.lastPrice(symbol: "BTCUSDT")
                return (try? await system.json(system.execution, "/api/execution"))?["waiting"] == .null
            }, "new orders still wait after the ban")
        try await Self.signal(system, okx, .buy)
        #expect(await Self.filledEntry(system, on: "binance", besides: []) != nil, "nothing traded after the ban")
        #expect(try await Self.orders(system).allSatisfy { $0["venue"] == .string("binance") })
    }
}
