import EventBus
import Foundation
import Money

/// What the audit found. ``passed`` when nothing was lost or doubled: no order placed twice
/// or unknown to us, every order's state and execution as the exchange has them, every trade
/// booked once, cash and positions equal to the exchange's, the PnL equal to its
/// recomputation to the last unit, and every event handled.
public struct AuditReport: Sendable, Equatable {
    /// Execution's orders, the exchange's, its trades, and the fills the portfolio booked.
    public var orders: Int
    public var exchangeOrders: Int
    public var trades: Int
    public var booked: Int
    /// Orders still on the exchange's book: their executions may still change.
    public var open = 0
    /// Orders execution has not heard the exchange on yet (not sent, or the reply not back).
    public var inFlight: [String] = []
    /// Client order ids the exchange holds more than one order for, with how many.
    public var duplicatedOrders: [String: Int] = [:]
    public var orderMismatches: [String] = []
    /// Client order ids at the exchange that execution has no record of.
    public var unknownOrders: [String] = []
    public var fillsMissed: [TradeKey] = []
    public var fillsBookedTwice: [TradeKey] = []
    public var fillsNotAtExchange: [TradeKey] = []
    public var balanceMismatches: [String] = []
    public var pnl: PnLCheck = .notRecomputable("not checked")
    public var eventsBehind: [String] = []
    public var deadLetters = 0
    /// Shown, not judged: halting is the ESS doing its work.
    public var halts: [TradingHalt] = []
    public var readAt = Date(timeIntervalSince1970: 0)

    public enum PnLCheck: Sendable, Equatable {
        /// The portfolio's `realized + unrealized − fees` and the recomputation from the trades.
        case compared(ours: FixedDecimal, theirs: FixedDecimal)
        case notRecomputable(String)
    }

    init(orders: Int, exchangeOrders: Int, trades: Int, booked: Int) {
        self.orders = orders
        self.exchangeOrders = exchangeOrders
        self.trades = trades
        self.booked = booked
    }

    public var pnlEqual: Bool {
        if case .compared(let ours, let theirs) = pnl { return ours == theirs }
        return false
    }

    public var passed: Bool {
        duplicatedOrders.isEmpty && orderMismatches.isEmpty && unknownOrders.isEmpty && fillsMissed.isEmpty
            && fillsBookedTwice.isEmpty && fillsNotAtExchange.isEmpty && balanceMismatches.isEmpty && pnlEqual
            && eventsBehind.isEmpty
    }

    /// One line per check, each with its count, then what each found.
    public var text: String {
        func line(_ label: String, _ found: [String]) -> String {
            "  \(label): \(found.count)" + (found.isEmpty ? "" : "\n" + found.prefix(20).map { "    \($0)" }.joined(separator: "\n"))
                + (found.count > 20 ? "\n    … and \(found.count - 20) more" : "")
        }
        var lines = [
            "audit: \(passed ? "PASSED" : "FAILED")",
            "  \(orders) orders here, \(exchangeOrders) at the exchange (\(open) open, \(inFlight.count) in flight); "
                + "\(trades) trades at the exchange, \(booked) fills booked",
            line("orders placed twice", duplicatedOrders.keys.sorted().map { "\($0): \(duplicatedOrders[$0] ?? 0) orders" }),
            line("orders unknown to us", unknownOrders),
            line("orders held differently", orderMismatches),
            line("fills missed", fillsMissed.map(\.description)),
            line("fills booked twice", fillsBookedTwice.map(\.description)),
            line("fills booked without an exchange trade", fillsNotAtExchange.map(\.description)),
            line("balances that differ", balanceMismatches),
        ]
        switch pnl {
        case .compared(let ours, let theirs):
            lines.append("  PnL: \(ours) here, \(theirs) recomputed from the exchange's trades: \(ours == theirs ? "equal" : "DIFFERENT")")
        case .notRecomputable(let why):
            lines.append("  PnL: not recomputed: \(why)")
        }
        lines.append(line("event consumer groups behind", eventsBehind))
        lines.append("  dead letters: \(deadLetters)")
        let halted = halts.reduce(0) { $0 + $1.seconds(at: readAt) }
        lines.append(
            "  trading halted: \(halts.count) times, \(String(format: "%.1f", halted)) s in all"
                + (halts.last.map { $0.until == nil ? " (halted now)" : "" } ?? ""))
        for halt in halts {
            lines.append(
                "    \(EventEnvelope.timestamp(halt.cause.at)) for \(String(format: "%.1f", halt.seconds(at: readAt))) s"
                    + "\(halt.until == nil ? " so far" : ""): \(halt.cause.to.rawValue) by \(halt.cause.trigger.rawValue): \(halt.cause.reason)"
            )
        }
        return lines.joined(separator: "\n")
    }

    /// A Binance trade id as a number (as before there was a second venue); another venue's
    /// as `okx:<id>`.
    static func json(_ key: TradeKey) -> JSONValue {
        key.venue == .binance ? .number(Double(key.tradeId)) : .string(key.description)
    }

    public var json: JSONValue {
        var pnlJSON: [String: JSONValue] = ["equal": .bool(pnlEqual)]
        switch pnl {
        case .compared(let ours, let theirs):
            pnlJSON["ours"] = .string(ours.description)
            pnlJSON["recomputed"] = .string(theirs.description)
        case .notRecomputable(let why):
            pnlJSON["notRecomputable"] = .string(why)
        }
        return .object([
            "passed": .bool(passed), "orders": .number(Double(orders)), "exchangeOrders": .number(Double(exchangeOrders)),
            "trades": .number(Double(trades)), "booked": .number(Double(booked)), "open": .number(Double(open)),
            "inFlight": .array(inFlight.map(JSONValue.string)),
            "duplicatedOrders": .object(duplicatedOrders.mapValues { .number(Double($0)) }),
            "unknownOrders": .array(unknownOrders.map(JSONValue.string)),
            "orderMismatches": .array(orderMismatches.map(JSONValue.string)),
            "fillsMissed": .array(fillsMissed.map(Self.json)), "fillsBookedTwice": .array(fillsBookedTwice.map(Self.json)),
            "fillsNotAtExchange": .array(fillsNotAtExchange.map(Self.json)),
            "balanceMismatches": .array(balanceMismatches.map(JSONValue.string)), "pnl": .object(pnlJSON),
            "eventsBehind": .array(eventsBehind.map(JSONValue.string)), "deadLetters": .number(Double(deadLetters)),
            "halts": .array(
                halts.map { halt in
                    .fields([
                        "at": .time(halt.cause.at), "until": halt.until.map(JSONValue.time), "seconds": .number(halt.seconds(at: readAt)),
                        "state": .string(halt.cause.to.rawValue), "trigger": .string(halt.cause.trigger.rawValue),
                        "reason": .string(halt.cause.reason),
                    ])
                }),
        ])
    }
}
