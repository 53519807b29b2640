import Binance
import EventBus
import Foundation
import Money
import Portfolio
import Testing
import VaktTesting

/// The ledger's amounts against an independent recomputation with Python's `decimal`
/// (`ledger_reference.py`), to the last of 18 places, over random fills (100,000 steps in the
/// suite; scripts/test runs a million alone after it, `PORTFOLIO_PROPERTY_COUNT`); and the
/// status report's case: PnL after 2,000 trades, where float arithmetic drifted.
@Suite struct PortfolioLedgerTests {
    static func text(_ value: FixedDecimal) -> String { value.description }

    /// The ledger's state in the reference's format.
    static func summary(_ ledger: Ledger) throws -> String {
        var lines: [String] = []
        for symbol in ledger.positions.keys.sorted() {
            let position = ledger.positions[symbol]!
            lines.append(
                "P \(symbol) \(text(position.quantity)) \(text(position.cost)) \(text(position.realized)) \(text(position.fees))")
        }
        lines.append(
            "T \(text(ledger.cash)) \(text(try ledger.realized)) \(text(try ledger.unrealized)) \(text(try ledger.fees)) "
                + "\(text(try ledger.equity))")
        return lines.joined(separator: "\n")
    }

    @Test func randomFillsEqualPythonsDecimalToTheLastUnit() async throws {
        let environment = ProcessInfo.processInfo.environment
        let seed = UInt64(environment["PORTFOLIO_PROPERTY_SEED"] ?? "") ?? 20_261_202
        let count = Int(environment["PORTFOLIO_PROPERTY_COUNT"] ?? "") ?? 100_000
        var fills = RandomFills(seed: seed)
        let opening = FixedDecimal(1_000_000)
        var ledger = Ledger(account: "USDT", cash: opening)
        var input = "C \(opening)\n"
        input.reserveCapacity(count * 60)
        var kinds: [RandomFills.Kind: Int] = [:]
        var baseFees = 0
        for index in 0..<count {
            // Seconds of pure computation: give the other tests' tasks their turn on the pool.
            if index % 5_000 == 0 { await Task.yield() }
            let step = try fills.next { ledger.positions[$0]?.quantity ?? .zero }
            input += step.line + "\n"
            switch step {
            case .mark(let symbol, let price):
                ledger.mark(symbol, at: price)
            case .fill(let symbol, let side, let quantity, let price, let commission, let asset, let inBase, let kind):
                kinds[kind, default: 0] += 1
                if inBase { baseFees += 1 }
                try ledger.apply(
                    LedgerFill(
                        symbol: symbol, side: side, quantity: quantity, price: price, commission: commission, commissionAsset: asset,
                        tradeId: Int64(index), clientOrderId: "t", time: Date()),
                    assets: try #require(fills.assets(of: symbol)))
            }
        }
        let (flips, closes, partials) = (kinds[.flip, default: 0], kinds[.flat, default: 0], kinds[.partial, default: 0])
        #expect(flips > count / 100 && closes > count / 100 && partials > count / 100 && baseFees > count / 10, "\(kinds)")

        // The identity holds exactly.
        let gained = try ledger.equity - opening
        #expect(gained == (try ledger.realized + ledger.unrealized - ledger.fees))

        let directory = try TestEnvironment.temporaryDirectory("vakt-ledger")
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("fills.txt")
        try input.write(to: file, atomically: false, encoding: .utf8)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("ledger_reference.py").path
        let python = try #require(TestEnvironment.which("python3"), "python3 is not installed; run scripts/install-deps")
        let reference = try await TestEnvironment.run(python, [script, file.path])
        #expect(reference.status == 0, "\(reference.output)")
        let expected = reference.output.trimmingCharacters(in: .whitespacesAndNewlines)
        let ours = try Self.summary(ledger)
        #expect(ours == expected, "seed \(seed)")
        print("ledger: \(count) steps (\(flips) fills through zero, \(closes) to flat, \(partials) partial closes); \(ours)")
    }

    /// The status report's case: 2,000 round trips at prices a binary float cannot hold. Each
    /// buys 0.1 at 30000.10 and sells it at 30000.30, a fee of 0.1% in the quote asset each
    /// way: +0.02 gross, exactly, every time.
    @Test func twoThousandTradesAddUpExactly() throws {
        var ledger = Ledger(account: "USDT", cash: FixedDecimal(10_000))
        let assets = SymbolAssets(base: "BTC", quote: "USDT")
        let quantity = Quantity(1, scale: 1)
        var floatRealized = 0.0
        for trade in 0..<2_000 {
            for (side, price) in [(OrderSide.buy, Price(3_000_010, scale: 2)), (.sell, Price(3_000_030, scale: 2))] {
                let fee = try Money.notional(of: quantity, at: price).value.multiplied(by: FixedDecimal(1, scale: 3), scale: 8)
                try ledger.apply(
                    LedgerFill(
                        symbol: "BTCUSDT", side: side, quantity: quantity, price: price, commission: fee, commissionAsset: "USDT",
                        tradeId: Int64(trade), clientOrderId: "t", time: Date()),
                    assets: assets)
            }
            floatRealized += 0.1 * 30000.30 - 0.1 * 30000.10
        }
        #expect(try ledger.realized == FixedDecimal(40))
        // Fees: 0.1% of 3000.010 and of 3000.030 per trade, 6.00004 a round trip.
        #expect(try ledger.fees == FixedDecimal(1_200_008, scale: 2))
        #expect(try ledger.equity == FixedDecimal(10_000 + 40) - FixedDecimal(1_200_008, scale: 2))
        #expect(ledger.positions["BTCUSDT"]?.quantity == .zero && ledger.positions["BTCUSDT"]?.cost == .zero)
        // What float arithmetic gives for the same trades: not 40.
        #expect(floatRealized != 40)
    }

    @Test func aFillThroughZeroClosesAndReopensAtItsPrice() throws {
        var ledger = Ledger(account: "USDT", cash: FixedDecimal(1_000))
        let assets = SymbolAssets(base: "ETH", quote: "USDT")
        func fill(_ side: OrderSide, _ quantity: Int, at price: Int) throws {
            try ledger.apply(
                LedgerFill(
                    symbol: "ETHUSDT", side: side, quantity: Quantity(quantity), price: Price(price), commission: .zero,
                    commissionAsset: "USDT", tradeId: 1, clientOrderId: "t", time: Date()),
                assets: assets)
        }
        try fill(.buy, 2, at: 100)
        try fill(.buy, 1, at: 130)
        #expect(ledger.positions["ETHUSDT"]?.averagePrice == Price(110))
        try fill(.sell, 5, at: 120)  // closes 3 (+30), opens a short of 2 at 120
        let position = try #require(ledger.positions["ETHUSDT"])
        #expect(position.realized == FixedDecimal(30) && position.quantity == FixedDecimal(-2) && position.averagePrice == Price(120))
        ledger.mark("ETHUSDT", at: Price(110))
        #expect(try ledger.unrealized == FixedDecimal(20))
        #expect(try ledger.equity == FixedDecimal(1_000 + 30 + 20))
    }

    @Test func aBadFillChangesNothingAndSaysWhy() throws {
        var ledger = Ledger(account: "USDT", cash: FixedDecimal(1_000))
        let before = ledger
        let fill = LedgerFill(
            symbol: "ETHBTC", side: .buy, quantity: Quantity(1), price: Price(5, scale: 2), commission: .zero, commissionAsset: "BTC",
            tradeId: 7, clientOrderId: "t", time: Date())
        #expect(throws: LedgerError.otherQuote(symbol: "ETHBTC", quote: "BTC", account: "USDT")) {
            try ledger.apply(fill, assets: SymbolAssets(base: "ETH", quote: "BTC"))
        }
        var eaten = fill
        eaten.symbol = "ETHUSDT"
        eaten.commission = FixedDecimal(1)
        eaten.commissionAsset = "ETH"
        #expect(throws: LedgerError.self) { try ledger.apply(eaten, assets: SymbolAssets(base: "ETH", quote: "USDT")) }
        #expect(ledger == before)
    }

    @Test func periodsStartFromTheLastEquityBeforeTheyBegan() throws {
        var periods = PeriodPnL()
        let formatter = ISO8601DateFormatter()
        func at(_ text: String) -> Date { formatter.date(from: text)! }
        periods.observe(FixedDecimal(1_000), at: at("2026-11-29T10:00:00Z"))  // a Sunday
        periods.observe(FixedDecimal(1_100), at: at("2026-11-30T23:59:00Z"))  // Monday, the last of November
        periods.observe(FixedDecimal(1_050), at: at("2026-12-01T08:00:00Z"))
        #expect(periods.pnl(.day) == FixedDecimal(-50))
        #expect(periods.pnl(.week) == FixedDecimal(50))  // the week began Monday at 1,000 (Sunday's last)
        #expect(periods.periodStart(.week) == at("2026-11-30T00:00:00Z"))
        #expect(periods.pnl(.month) == FixedDecimal(-50))
        #expect(periods.drawdown == FixedDecimal(45_455, scale: 6))  // 50 / 1,100
    }
}
