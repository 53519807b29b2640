/// The loss report: the system's own records checked against the exchange's, after trading
/// (a chaos run, an incident, any day). Pure: ``AuditRecords`` in, ``AuditReport`` out.
///
/// It finds orders placed twice (one client order id, two exchange orders), orders whose state
/// or executed quantity we hold differently from the exchange, orders the exchange has that we
/// have no record of, fills the portfolio missed, booked twice or booked without an exchange
/// trade, cash and positions that differ from the exchange's balances, a PnL that differs from
/// its recomputation from the exchange's trades, and events not handled.
///
/// The PnL is recomputed without the portfolio's ledger: every trade moves the account asset
/// by `∓ quantity × price` (less a fee paid in it) and the base asset by `± quantity` (less a
/// fee paid in it); the PnL is that cash flow plus each net quantity at the portfolio's mark.
/// For an account that held no base asset before its first trade this equals the ledger's
/// `realized + unrealized − fees` exactly; otherwise the audit says it cannot recompute it.
///
/// Beside the verdict it shows how long trading was halted and why: each time the ESS left
/// `armed`, with its cause, until it was armed again (``TradingHalts``).
import Binance
import Money

public enum TradingAudit {
    public static func check(_ records: AuditRecords) -> AuditReport {
        var report = AuditReport(
            orders: records.ours.orders.count, exchangeOrders: records.exchange.orders.count,
            trades: records.exchange.trades.count, booked: records.ours.journal.count)
        checkOrders(records, into: &report)
        checkFills(records, into: &report)
        checkBalances(records, into: &report)
        report.pnl = recomputePnL(records)
        report.halts = TradingHalts.from(records.essTransitions)
        report.readAt = records.readAt
        report.eventsBehind = records.ours.events.behind
        report.deadLetters = records.ours.events.deadLetters
        return report
    }

    /// Execution's states an exchange status may stand beside: an open order may be in any
    /// state between sent and done.
    static let matchingStates: [OrderStatus: Set<String>] = [
        .new: ["submitted", "accepted", "pending_cancel"], .partiallyFilled: ["partially_filled", "pending_cancel"],
        .filled: ["filled"], .canceled: ["canceled"], .expired: ["expired"], .rejected: ["rejected"],
    ]

    /// States of an order execution has not heard the exchange on yet.
    static let unsentStates: Set<String> = ["pending_submit", "submitted"]

    static func checkOrders(_ records: AuditRecords, into report: inout AuditReport) {
        let byClientId = Dictionary(grouping: records.exchange.orders, by: \.clientOrderId)
        report.duplicatedOrders = byClientId.filter { $0.value.count > 1 }.mapValues(\.count)
        var ours: Set<String> = []
        for order in records.ours.orders {
            ours.insert(order.clientOrderId)
            guard let there = byClientId[order.clientOrderId]?.first else {
                if unsentStates.contains(order.state) {
                    report.inFlight.append(order.clientOrderId)
                } else if order.state != "rejected" {
                    report.orderMismatches.append("\(order.clientOrderId): \(order.state) here, unknown at the exchange")
                }
                continue
            }
            if there.status.isOpen { report.open += 1 }
            if matchingStates[there.status]?.contains(order.state) != true {
                report.orderMismatches.append("\(order.clientOrderId): \(order.state) here, \(there.status.rawValue) at the exchange")
            } else if !there.status.isOpen, order.executed != there.executed {
                report.orderMismatches.append(
                    "\(order.clientOrderId): \(order.executed) executed here, \(there.executed) at the exchange")
            }
        }
        report.unknownOrders = byClientId.keys.filter { !ours.contains($0) }.sorted()
    }

    static func checkFills(_ records: AuditRecords, into report: inout AuditReport) {
        var counts: [TradeKey: Int] = [:]
        for key in records.ours.journal { counts[key, default: 0] += 1 }
        let traded = Set(records.exchange.trades.map(\.key))
        report.fillsBookedTwice = counts.filter { $0.value > 1 }.keys.sorted()
        report.fillsMissed = traded.filter { counts[$0] == nil }.sorted()
        report.fillsNotAtExchange = counts.keys.filter { !traded.contains($0) }.sorted()
    }

    static func checkBalances(_ records: AuditRecords, into report: inout AuditReport) {
        let portfolio = records.ours.portfolio
        let balances = records.exchange.balances
        let cash = balances[portfolio.account] ?? .zero
        if portfolio.cash != cash {
            report.balanceMismatches.append("cash: \(portfolio.cash) \(portfolio.account) here, \(cash) at the exchange")
        }
        for symbol in Set(records.assets.keys).union(portfolio.positions.keys).sorted() {
            guard let base = records.assets[symbol]?.base else { continue }
            let ours = portfolio.positions[symbol]?.quantity ?? .zero
            let theirs = balances[base] ?? .zero
            if ours != theirs {
                report.balanceMismatches.append("\(symbol): \(ours) \(base) here, \(theirs) at the exchange")
            }
        }
    }

    static func recomputePnL(_ records: AuditRecords) -> AuditReport.PnLCheck {
        let portfolio = records.ours.portfolio
        do throws(FixedDecimalError) {
            let ours = try portfolio.realized + portfolio.unrealized - portfolio.fees
            var cashFlow = FixedDecimal.zero
            var net: [String: FixedDecimal] = [:]
            for trade in records.exchange.trades {
                guard let assets = records.assets[trade.symbol] else {
                    return .notRecomputable("trade \(trade.key) is on \(trade.symbol), whose assets are not known")
                }
                guard assets.quote == portfolio.account else {
                    return .notRecomputable("\(trade.symbol) is priced in \(assets.quote), the account in \(portfolio.account)")
                }
                let notional = try trade.quantity.value.multiplied(by: trade.price.value)
                cashFlow = try trade.isBuyer ? cashFlow - notional : cashFlow + notional
                var quantity = trade.isBuyer ? trade.quantity.value : -trade.quantity.value
                if trade.commissionAsset == assets.quote { cashFlow = try cashFlow - trade.commission }
                if trade.commissionAsset == assets.base { quantity = try quantity - trade.commission }
                net[trade.symbol] = try (net[trade.symbol] ?? .zero) + quantity
            }
            var theirs = cashFlow
            for (symbol, quantity) in net.sorted(by: { $0.key < $1.key }) where !quantity.isZero {
                guard let base = records.assets[symbol]?.base, records.exchange.balances[base] ?? .zero == quantity else {
                    return .notRecomputable(
                        "\(symbol): the exchange holds \(records.exchange.balances[records.assets[symbol]?.base ?? ""] ?? .zero) of its base asset, its trades add up to \(quantity) (held before the first trade?)"
                    )
                }
                guard let mark = portfolio.positions[symbol]?.mark else {
                    return .notRecomputable("\(symbol): the portfolio has no mark to value \(quantity) at")
                }
                theirs = try theirs + quantity.multiplied(by: mark.value)
            }
            return .compared(ours: ours, theirs: theirs)
        } catch {
            return .notRecomputable("amount out of range: \(error)")
        }
    }
}
