// PortfolioBench: the portfolio ledger's fills per second (exact decimal positions, cost,
// realized PnL, fees, marks) on a million seeded random fills, against the same fills booked by
// the Python `decimal` reference (bench_ledger_decimal.py) in the same run
// (scripts/bench-portfolio). Both end with the same equity, printed for the comparison.
//
//   PortfolioBench OUT_DIR [STEPS]   (default 1000000)

import Foundation
import Money
import Portfolio
import VaktTesting

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    FileHandle.standardError.write(Data("usage: PortfolioBench OUT_DIR [STEPS]\n".utf8))
    exit(2)
}
let out = URL(fileURLWithPath: arguments[1])
let count = arguments.count > 2 ? Int(arguments[2]) ?? 1_000_000 : 1_000_000

// The steps, generated once (against a ledger, for exact closes and flips) and written for the
// anchor; the timed runs below book them again on fresh ledgers.
var generator = RandomFills(seed: 20_261_202)
var probe = Ledger(account: "USDT", cash: FixedDecimal(1_000_000))
var steps: [RandomFills.Step] = []
var text = "C 1000000\n"
for _ in 0..<count {
    let step = try generator.next { probe.positions[$0]?.quantity ?? .zero }
    steps.append(step)
    text += step.line + "\n"
    if case .fill(let symbol, let side, let quantity, let price, let commission, let asset, _, _) = step {
        try probe.apply(
            LedgerFill(
                symbol: symbol, side: side, quantity: quantity, price: price, commission: commission, commissionAsset: asset, tradeId: 0,
                clientOrderId: "b", time: Date(timeIntervalSince1970: 0)),
            assets: generator.assets(of: symbol)!)
    } else if case .mark(let symbol, let price) = step {
        probe.mark(symbol, at: price)
    }
}
try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
try text.write(to: out.appendingPathComponent("fills.txt"), atomically: true, encoding: .utf8)
let fills = steps.filter { if case .fill = $0 { true } else { false } }.count

var seconds: [Double] = []
var equity = FixedDecimal.zero
for _ in 0..<5 {
    var ledger = Ledger(account: "USDT", cash: FixedDecimal(1_000_000))
    let assets = Dictionary(uniqueKeysWithValues: generator.markets.map { ($0.symbol, $0.assets) })
    let started = ContinuousClock.now
    for step in steps {
        switch step {
        case .mark(let symbol, let price): ledger.mark(symbol, at: price)
        case .fill(let symbol, let side, let quantity, let price, let commission, let asset, _, _):
            try ledger.apply(
                LedgerFill(
                    symbol: symbol, side: side, quantity: quantity, price: price, commission: commission, commissionAsset: asset,
                    tradeId: 0, clientOrderId: "b", time: Date(timeIntervalSince1970: 0)),
                assets: assets[symbol]!)
        }
    }
    equity = try ledger.equity
    let elapsed = (ContinuousClock.now - started).components
    seconds.append(Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18)
}
let median = seconds.sorted()[seconds.count / 2]
print(
    #"{"fills": \#(fills), "steps": \#(count), "seconds_median": \#(median), "fills_per_second": \#(Double(fills) / median), "equity": "\#(equity)"}"#
)
