import EventBus
import ServiceKit
import Supervisor
import Testing

/// `vakt status`'s trading part: what it shows of each owner's document, and that an owner it
/// could not read is named as unknown, not shown as zero.
@Suite struct TradingStatusTests {
    static func parse(_ text: String) -> Result<JSONValue, ControlClient.ClientError> {
        .success(try! JSONValue(parsing: Array(text.utf8)))
    }

    static let ess = parse(#"{"status":{"state":"armed","since":"2026-12-02T10:00:00Z","reason":"started with no condition"}}"#)
    static let execution = parse(
        #"{"signals":{"received":12,"executed":8,"rejected":3,"queued":0,"dropped":{"replaced":1,"expired":0,"overflow":0}},"#
            + #""trading":true,"openOrders":2,"armedExits":1,"paused":[{"symbol":"ETHUSDT","since":"2026-12-02T10:05:00Z","reason":"news"}]}"#
    )
    static let pnl = parse(
        #"{"account":"USDT","equity":"10012.5","cash":"9500.25","realizedPnl":"10.1","unrealizedPnl":"2.4","fees":"0.5","#
            + #""drawdown":"0.001","fills":14,"pnl":{"day":{"pnl":"12.5"}}}"#)
    static let positions = parse(
        #"{"positions":[{"symbol":"BTCUSDT","quantity":"0.00778","averagePrice":"64000","mark":"64321.5","unrealizedPnl":"2.5","realizedPnl":"0"},"#
            + #"{"symbol":"ETHUSDT","quantity":"0","realizedPnl":"1"}]}"#)

    @Test func itShowsTheESSTheSignalAccountingPnLAndOpenPositions() {
        let table = TradingStatus(ess: Self.ess, execution: Self.execution, pnl: Self.pnl, positions: Self.positions).table
        let lines = table.split(separator: "\n").map(String.init)
        #expect(lines[1] == "  ESS armed since 2026-12-02T10:00:00Z: started with no condition", "\(table)")
        #expect(
            lines[2]
                == "  execution trading; signals 12 received = 8 executed + 3 rejected + 1 dropped + 0 queued; 2 open orders, 1 exits armed",
            "\(table)")
        #expect(lines[3] == "  paused: ETHUSDT since 2026-12-02T10:05:00Z (news)", "\(table)")
        #expect(lines[4].hasPrefix("  14 fills booked; equity 10012.5 USDT (cash 9500.25, realized 10.1"), "\(table)")
        #expect(lines[4].hasSuffix("day PnL 12.5, drawdown 0.001"), "\(table)")
        #expect(lines[5].hasPrefix("  SYMBOL   QUANTITY  AVG PRICE"), "\(table)")
        #expect(lines[6] == "  BTCUSDT  0.00778   64000      64321.5  2.5         0", "\(table)")
        #expect(lines.count == 7, "a closed position is not listed: \(table)")
    }

    @Test func anOwnerThatCouldNotBeReadIsUnknownNotZero() {
        let down = Result<JSONValue, ControlClient.ClientError>.failure(.init(description: "cannot reach http://127.0.0.1:8004"))
        let table = TradingStatus(ess: Self.ess, execution: Self.execution, pnl: down, positions: down).table
        #expect(table.contains("  PnL: unknown (cannot reach http://127.0.0.1:8004)"), "\(table)")
        #expect(table.contains("  positions: unknown (cannot reach http://127.0.0.1:8004)"), "\(table)")
        let json = TradingStatus(ess: Self.ess, execution: Self.execution, pnl: down, positions: down).json
        guard case .object(let fields) = json, case .object(let pnl)? = fields["pnl"] else {
            Issue.record("\(json)")
            return
        }
        #expect(pnl["error"] == .string("cannot reach http://127.0.0.1:8004"))
    }
}
