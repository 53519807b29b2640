import Binance
import EmergencyStop
import EventBus
import Foundation
import Money
import Portfolio
import Testing
import TradingAudit

/// The loss report's checks, each shown to find what it is for: a clean history passes with
/// the PnL recomputed to the last unit; each kind of loss or doubling fails it and is named.
struct TradingAuditTests {
    static let btc = SymbolAssets(base: "BTC", quote: "USDT")

    static func amount(_ text: String) -> FixedDecimal { try! FixedDecimal(parsing: text) }

    /// Bought 0.003 BTC in two trades (fee in BTC) and sold 0.001 (fee in USDT), from 1,000
    /// USDT and no BTC: the portfolio's figures as its ledger computes them.
    static func clean() -> AuditRecords {
        let trades = [
            ExchangeTrade(
                symbol: "BTCUSDT", tradeId: 1, isBuyer: true, price: Price(parsingOrZero: "60000"),
                quantity: Quantity(parsingOrZero: "0.002"),
                commission: amount("0.000002"), commissionAsset: "BTC"),
            ExchangeTrade(
                symbol: "BTCUSDT", tradeId: 2, isBuyer: true, price: Price(parsingOrZero: "60010"),
                quantity: Quantity(parsingOrZero: "0.001"),
                commission: amount("0.000001"), commissionAsset: "BTC"),
            ExchangeTrade(
                symbol: "BTCUSDT", tradeId: 3, isBuyer: false, price: Price(parsingOrZero: "60100"),
                quantity: Quantity(parsingOrZero: "0.001"),
                commission: amount("0.0601"), commissionAsset: "USDT"),
        ]
        // Cash: 1000 - 120 - 60.01 + 60.1 - 0.0601 = 880.0299; BTC: 0.003 - 0.000003 - 0.001.
        let orders = [
            ExchangeOrder(clientOrderId: "ve1", status: .filled, executed: Quantity(parsingOrZero: "0.003")),
            ExchangeOrder(clientOrderId: "ve2", status: .filled, executed: Quantity(parsingOrZero: "0.001")),
            ExchangeOrder(clientOrderId: "ve3", status: .canceled, executed: .zero),
        ]
        let ours = [
            RecordedOrder(clientOrderId: "ve1", state: "filled", executed: Quantity(parsingOrZero: "0.003")),
            RecordedOrder(clientOrderId: "ve2", state: "filled", executed: Quantity(parsingOrZero: "0.001")),
            RecordedOrder(clientOrderId: "ve3", state: "canceled", executed: .zero),
            RecordedOrder(clientOrderId: "ve4", state: "rejected", executed: .zero),
        ]
        // The portfolio's figures as its ledger books these trades from 1,000 USDT.
        var ledger = Ledger(account: "USDT", cash: amount("1000"))
        for trade in trades {
            try! ledger.apply(
                LedgerFill(
                    symbol: trade.symbol, side: trade.isBuyer ? .buy : .sell, quantity: trade.quantity, price: trade.price,
                    commission: trade.commission, commissionAsset: trade.commissionAsset, tradeId: trade.tradeId,
                    clientOrderId: "ve1", time: Date(timeIntervalSince1970: 0)),
                assets: btc)
        }
        ledger.mark("BTCUSDT", at: Price(parsingOrZero: "60200"))
        let held = amount("0.001997")
        return AuditRecords(
            exchange: .init(orders: orders, trades: trades, balances: ["USDT": amount("880.0299"), "BTC": held]),
            ours: .init(
                orders: ours, journal: Self.binance(3, 1, 2),
                portfolio: PortfolioFigures(
                    account: "USDT", cash: ledger.cash,
                    positions: ["BTCUSDT": .init(quantity: ledger.positions["BTCUSDT"]!.quantity, mark: Price(parsingOrZero: "60200"))],
                    realized: try! ledger.realized, unrealized: try! ledger.unrealized, fees: try! ledger.fees),
                events: EventBacklog(behind: [], deadLetters: 0)),
            assets: ["BTCUSDT": btc])
    }

    @Test func aCleanHistoryPassesWithThePnLRecomputedToTheLastUnit() {
        let report = TradingAudit.check(Self.clean())
        #expect(report.passed, "\(report.text)")
        guard case .compared(let ours, let theirs) = report.pnl else {
            Issue.record("not recomputed: \(report.pnl)")
            return
        }
        // 1000 USDT became 880.0299 USDT and 0.001997 BTC at 60,200 (120.2194).
        #expect(ours == theirs && theirs == Self.amount("0.2493"), "\(ours) against \(theirs)")
        #expect(report.orders == 4 && report.exchangeOrders == 3 && report.trades == 3 && report.booked == 3)
        #expect(report.text.hasPrefix("audit: PASSED"))
    }

    @Test func anOrderPlacedTwiceOrUnknownToUsFails() {
        var records = Self.clean()
        records.exchange.orders.append(records.exchange.orders[0])
        records.exchange.orders.append(ExchangeOrder(clientOrderId: "ve9", status: .new, executed: .zero))
        let report = TradingAudit.check(records)
        #expect(!report.passed)
        #expect(report.duplicatedOrders == ["ve1": 2])
        #expect(report.unknownOrders == ["ve9"])
        #expect(report.open == 0, "ve9 is not ours, so not counted among our open orders")
        #expect(report.text.contains("orders placed twice: 1\n    ve1: 2 orders"), "\(report.text)")
    }

    @Test func anOrderHeldInAnotherStateOrExecutionFails() {
        var records = Self.clean()
        records.ours.orders[0].state = "canceled"
        records.ours.orders[1].executed = Quantity(parsingOrZero: "0.0005")
        // Sent and never heard of again: in flight, not a loss yet; sent, accepted and then
        // unknown at the exchange: a loss.
        records.ours.orders.append(RecordedOrder(clientOrderId: "ve5", state: "pending_submit", executed: .zero))
        records.ours.orders.append(RecordedOrder(clientOrderId: "ve6", state: "accepted", executed: .zero))
        let report = TradingAudit.check(records)
        #expect(
            report.orderMismatches == [
                "ve1: canceled here, FILLED at the exchange", "ve2: 0.0005 executed here, 0.001 at the exchange",
                "ve6: accepted here, unknown at the exchange",
            ], "\(report.orderMismatches)")
        #expect(report.inFlight == ["ve5"])
        #expect(!report.passed)
    }

    @Test func anOpenOrderMayStandInAnyStateBetweenSentAndDone() {
        var records = Self.clean()
        records.exchange.orders.append(ExchangeOrder(clientOrderId: "ve7", status: .partiallyFilled, executed: .zero))
        records.ours.orders.append(RecordedOrder(clientOrderId: "ve7", state: "pending_cancel", executed: .zero))
        let report = TradingAudit.check(records)
        #expect(report.passed, "\(report.text)")
        #expect(report.open == 1)
    }

    static func binance(_ ids: Int64...) -> [TradeKey] { ids.map { TradeKey(.binance, $0) } }

    @Test func aFillMissedBookedTwiceOrInventedFails() {
        var records = Self.clean()
        records.ours.journal = Self.binance(1, 1, 99)
        let report = TradingAudit.check(records)
        #expect(report.fillsMissed == Self.binance(2, 3))
        #expect(report.fillsBookedTwice == Self.binance(1))
        #expect(report.fillsNotAtExchange == Self.binance(99))
        #expect(!report.passed)
    }

    /// The clean history's third trade made on the second venue under Binance's id 1: two
    /// trades, each booked once; booked as Binance's instead, one is missed and one invented.
    @Test func eachVenueNumbersItsOwnTrades() {
        var records = Self.clean()
        records.exchange.trades[2].venue = .okx
        records.exchange.trades[2].tradeId = 1
        records.ours.journal = [TradeKey(.okx, 1), TradeKey(.binance, 1), TradeKey(.binance, 2)]
        let report = TradingAudit.check(records)
        #expect(report.passed, "\(report.text)")
        records.ours.journal = Self.binance(1, 1, 2)
        let wrong = TradingAudit.check(records)
        #expect(wrong.fillsMissed == [TradeKey(.okx, 1)] && wrong.fillsBookedTwice == Self.binance(1), "\(wrong.text)")
        #expect(wrong.text.contains("okx:1"), "\(wrong.text)")
    }

    @Test func cashOrAPositionOtherThanTheExchangesFails() {
        var records = Self.clean()
        records.exchange.balances["USDT"] = Self.amount("880.0298")
        records.exchange.balances["BTC"] = Self.amount("0.001998")
        let report = TradingAudit.check(records)
        #expect(
            report.balanceMismatches == [
                "cash: 880.0299 USDT here, 880.0298 at the exchange", "BTCUSDT: 0.001997 BTC here, 0.001998 at the exchange",
            ], "\(report.balanceMismatches)")
        // The BTC the exchange holds is not what the trades add up to: held before, or lost.
        guard case .notRecomputable(let why) = report.pnl else {
            Issue.record("recomputed: \(report.pnl)")
            return
        }
        #expect(why.contains("the exchange holds 0.001998"), "\(why)")
        #expect(!report.passed)
    }

    @Test func aPnLOneUnitOffFails() throws {
        var records = Self.clean()
        records.ours.portfolio.realized = try records.ours.portfolio.realized + FixedDecimal(1, scale: 18)
        let report = TradingAudit.check(records)
        #expect(!report.pnlEqual && !report.passed)
        #expect(report.text.contains("DIFFERENT"), "\(report.text)")
        guard case .object(let fields) = report.json, case .object(let pnl)? = fields["pnl"] else {
            Issue.record("no pnl in \(report.json)")
            return
        }
        #expect(pnl["equal"] == .bool(false) && fields["passed"] == .bool(false))
    }

    @Test func anEventGroupBehindFailsAndDeadLettersAreCounted() {
        var records = Self.clean()
        records.ours.events = EventBacklog(behind: ["vakt:order.filled/portfolio: 1 pending, 0 not read"], deadLetters: 2)
        let report = TradingAudit.check(records)
        #expect(!report.passed)
        #expect(report.text.contains("event consumer groups behind: 1") && report.text.contains("dead letters: 2"), "\(report.text)")
    }

    /// Halts are each run of states other than armed, from the transition that left armed
    /// (its cause) to the one that armed again; one still going on lasts until the audit.
    @Test func haltsRunFromLeavingArmedToArmedAgainWithTheirCause() {
        func at(_ seconds: Double) -> Date { Date(timeIntervalSince1970: 1_000 + seconds) }
        func change(_ from: ESSState, _ to: ESSState, _ trigger: ESSTrigger, _ seconds: Double) -> ESSTransition {
            ESSTransition(
                from: from, to: to, trigger: trigger, reason: "\(trigger.rawValue) at \(seconds)", source: "risk", at: at(seconds))
        }
        var records = Self.clean()
        // Out of order, as a newest-first list is: tripped at 10, cooling down at 20, armed at
        // 40; reducing at 50, tripped at 55 (the same halt), still halted when read at 70.
        records.essTransitions = [
            change(.reducing, .tripped, .executionErrors, 55), change(.armed, .reducing, .manualReduce, 50),
            change(.cooldown, .armed, .cooldownElapsed, 40), change(.tripped, .cooldown, .cooldownStarted, 20),
            change(.armed, .tripped, .feedStale, 10), change(.armed, .armed, .conditionsCleared, 0),
        ]
        records.readAt = at(70)
        let report = TradingAudit.check(records)
        #expect(report.halts.map(\.cause.trigger) == [.feedStale, .manualReduce])
        #expect(report.halts.map { $0.seconds(at: records.readAt) } == [30, 20])
        #expect(report.halts.last?.until == nil)
        #expect(report.text.contains("trading halted: 2 times, 50.0 s in all (halted now)"), "\(report.text)")
        #expect(report.text.contains("for 30.0 s: tripped by feed_stale: feed_stale at 10.0"), "\(report.text)")
        #expect(report.passed, "halts are shown, not judged")
    }

}

extension DecimalAmount {
    init(parsingOrZero text: String) { self = (try? Self(parsing: text)) ?? .zero }
}
