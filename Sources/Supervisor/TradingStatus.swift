import EventBus
import Foundation
import ServiceKit
import VaktConfig

/// What `vakt status` shows of trading, read from the services that own it: the ESS (risk),
/// the signal accounting, open orders and paused symbols (execution), fills, PnL and positions
/// (the portfolio). Each part says so when its owner could not be read; the rendering is a pure
/// function of the documents read.
public struct TradingStatus: Sendable {
    /// Each owner's answer, or why there is none.
    public var ess: Result<JSONValue, ControlClient.ClientError>
    public var execution: Result<JSONValue, ControlClient.ClientError>
    public var pnl: Result<JSONValue, ControlClient.ClientError>
    public var positions: Result<JSONValue, ControlClient.ClientError>

    public init(
        ess: Result<JSONValue, ControlClient.ClientError>, execution: Result<JSONValue, ControlClient.ClientError>,
        pnl: Result<JSONValue, ControlClient.ClientError>, positions: Result<JSONValue, ControlClient.ClientError>
    ) {
        self.ess = ess
        self.execution = execution
        self.pnl = pnl
        self.positions = positions
    }

    /// Reads the four documents from the services of `configuration`, at once.
    public static func read(_ configuration: VaktConfiguration) async -> TradingStatus {
        func client(_ kind: ServiceKind) -> ControlClient { .reader(of: kind, in: configuration) }
        async let ess = document(client(.risk), "/api/ess")
        async let execution = document(client(.execution), "/api/execution")
        async let pnl = document(client(.portfolio), "/api/portfolio/pnl")
        async let positions = document(client(.portfolio), "/api/portfolio/positions")
        return TradingStatus(ess: await ess, execution: await execution, pnl: await pnl, positions: await positions)
    }

    static func document(_ client: ControlClient, _ path: String) async -> Result<JSONValue, ControlClient.ClientError> {
        do {
            return .success(try JSONValue(parsing: try await client.get(path)))
        } catch let error as ControlClient.ClientError {
            return .failure(error)
        } catch {
            return .failure(ControlClient.ClientError(description: "\(client.baseURL)\(path): not JSON: \(error)"))
        }
    }

    /// The documents as read (`vakt status --json`).
    public var json: JSONValue {
        func entry(_ result: Result<JSONValue, ControlClient.ClientError>) -> JSONValue {
            switch result {
            case .success(let value): value
            case .failure(let error): .object(["error": .string(error.description)])
            }
        }
        return .object(["ess": entry(ess), "execution": entry(execution), "pnl": entry(pnl), "positions": entry(positions)])
    }

    /// A few lines and a positions table, like the services table above it.
    public var table: String {
        var lines = ["trading:"]
        switch ess {
        case .success(let value):
            let status = Self.field(value, "status")
            lines.append(
                "  ESS \(Self.text(status, "state")) since \(Self.text(status, "since")): \(Self.text(status, "reason"))")
        case .failure(let error):
            lines.append("  ESS: unknown (\(error.description))")
        }
        switch execution {
        case .success(let value):
            let signals = Self.field(value, "signals")
            let dropped: Int =
                if case .object(let reasons)? = Self.field(signals, "dropped") {
                    reasons.values.reduce(0) { total, count in total + (Self.number(count).map { Int($0) } ?? 0) }
                } else { 0 }
            let trading = Self.field(value, "trading") == .bool(true) ? "trading" : "reconciling its orders, not trading"
            lines.append(
                "  execution \(trading); signals \(Self.text(signals, "received")) received = \(Self.text(signals, "executed")) executed + "
                    + "\(Self.text(signals, "rejected")) rejected + \(dropped) dropped + \(Self.text(signals, "queued")) queued; "
                    + "\(Self.text(value, "openOrders")) open orders, \(Self.text(value, "armedExits")) exits armed")
            if case .array(let paused)? = Self.field(value, "paused"), !paused.isEmpty {
                lines.append(
                    "  paused: "
                        + paused.map { "\(Self.text($0, "symbol")) since \(Self.text($0, "since")) (\(Self.text($0, "reason")))" }
                        .joined(separator: "; "))
            }
        case .failure(let error):
            lines.append("  execution: unknown (\(error.description))")
        }
        switch pnl {
        case .success(let value):
            let day = Self.field(Self.field(value, "pnl"), "day")
            lines.append(
                "  \(Self.text(value, "fills")) fills booked; equity \(Self.text(value, "equity")) \(Self.text(value, "account")) "
                    + "(cash \(Self.text(value, "cash")), realized \(Self.text(value, "realizedPnl")), unrealized "
                    + "\(Self.text(value, "unrealizedPnl")), fees \(Self.text(value, "fees"))); day PnL \(Self.text(day, "pnl")), "
                    + "drawdown \(Self.text(value, "drawdown"))")
        case .failure(let error):
            lines.append("  PnL: unknown (\(error.description))")
        }
        switch positions {
        case .success(let value):
            let open: [JSONValue] =
                if case .array(let list)? = Self.field(value, "positions") {
                    list.filter { Self.text($0, "quantity") != "0" }
                } else { [] }
            if open.isEmpty {
                lines.append("  positions: none")
            } else {
                let header = ["SYMBOL", "QUANTITY", "AVG PRICE", "MARK", "UNREALIZED", "REALIZED"]
                let rows = open.map { position in
                    ["symbol", "quantity", "averagePrice", "mark", "unrealizedPnl", "realizedPnl"].map { Self.text(position, $0) }
                }
                lines += SupervisorClient.columns([header] + rows).map { "  " + $0 }
            }
        case .failure(let error):
            lines.append("  positions: unknown (\(error.description))")
        }
        return lines.joined(separator: "\n")
    }

    static func field(_ value: JSONValue?, _ key: String) -> JSONValue? {
        guard case .object(let fields)? = value else { return nil }
        return fields[key]
    }

    static func number(_ value: JSONValue?) -> Double? {
        if case .number(let number)? = value { return number }
        return nil
    }

    /// A field as text: strings as they are (exact decimals stay exact), whole numbers without a
    /// fraction, `-` when absent.
    static func text(_ value: JSONValue?, _ key: String) -> String {
        switch field(value, key) {
        case .string(let text)?: text
        case .number(let number)?: number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : String(number)
        case .bool(let flag)?: String(flag)
        default: "-"
        }
    }
}
