import Binance
import EventBus
import Foundation
import Money
import Portfolio
import Testing
import VaktTesting

/// The ledger's amounts against an independent recomputation with Python's `decimal`
/// (`ledger_reference.py`), to the last of 18 places, over a million random fills; and the
/// status report's case: PnL after 2,000 trades, where float arithmetic drifted.
@Suite struct PortfolioLedgerTests {
    struct Market {
        var symbol: String
        var assets: SymbolAssets
        var price: Int  // in ticks
        var tick: Int  // places of a price
        var step: Int  // places of a quantity
        var typical: Int  // a usual order, in steps
    }

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

    @Test func aMillionRandomFillsEqualPythonsDecimalToTheLastUnit() async throws {
        let environment = ProcessInfo.processInfo.environment
        let seed = UInt64(environment["PORTFOLIO_PROPERTY_SEED"] ?? "") ?? 20_261_202
        let count = Int(environment["PORTFOLIO_PROPERTY_COUNT"] ?? "") ?? 1_000_000
        var random = SplitMix64(seed: seed)
        var markets = [
            Market(symbol: "BTCUSDT", assets: .init(base: "BTC", quote: "USDT"), price: 3_000_000, tick: 2, step: 5, typical: 5_000),
            Market(symbol: "ETHUSDT", assets: .init(base: "ETH", quote: "USDT"), price: 200_000, tick: 2, step: 4, typical: 20_000),
            Market(symbol: "DOGEUSDT", assets: .init(base: "DOGE", quote: "USDT"), price: 8_000, tick: 5, step: 0, typical: 5_000),
        ]
        let opening = FixedDecimal(1_000_000)
        var ledger = Ledger(account: "USDT", cash: opening)
        var input = "C \(opening)\n"
        input.reserveCapacity(count * 60)
        var kinds = (flips: 0, closes: 0, partials: 0, baseFees: 0)
        for _ in 0..<count {
            let index = Int(random.next(upTo: UInt64(markets.count)))
            var market = markets[index]
            // A random walk of a tick or a few, never below one tick.
            market.price = max(1, market.price + Int(random.next(upTo: 21)) - 10)
            markets[index] = market
            let price = Price(market.price, scale: market.tick)
            if random.next(upTo: 10) == 0 {
                ledger.mark(market.symbol, at: price)
                input += "M \(market.symbol) \(price)\n"
                continue
            }
            let held = ledger.positions[market.symbol]?.quantity ?? .zero
            let heldSteps = Int(held.magnitude.units / FixedDecimal(1, scale: market.step).units)
            var side: OrderSide = random.next(upTo: 2) == 0 ? .buy : .sell
            let step = FixedDecimal(1, scale: market.step)
            var quantity = Quantity(1 + Int(random.next(upTo: UInt64(market.typical))), scale: market.step)
            switch heldSteps > 0 ? random.next(upTo: 8) : 8 {
            case 0:  // exactly flat (base fees leave quantities off the step)
                side = held.isNegative ? .buy : .sell
                quantity = Quantity(held.magnitude)
                kinds.closes += 1
            case 1:  // through zero
                side = held.isNegative ? .buy : .sell
                quantity = Quantity(try held.magnitude + quantity.value)
                kinds.flips += 1
            case 2:  // part of it
                side = held.isNegative ? .buy : .sell
                quantity = Quantity(FixedDecimal(units: step.units * Int128(1 + Int(random.next(upTo: UInt64(max(heldSteps - 1, 1)))))))
                kinds.partials += 1
            default: break
            }
            let inBase = side == .buy && random.next(upTo: 2) == 0 && market.step > 0
            let received = inBase ? quantity.value : try Money.notional(of: quantity, at: price).value
            let commission = try received.multiplied(by: FixedDecimal(1, scale: 3), scale: 8, rounding: .halfEven)
            if inBase { kinds.baseFees += 1 }
            let fill = LedgerFill(
                symbol: market.symbol, side: side, quantity: quantity, price: price, commission: commission,
                commissionAsset: inBase ? market.assets.base : "USDT", tradeId: 0, clientOrderId: "t", time: Date())
            try ledger.apply(fill, assets: market.assets)
            input += "F \(market.symbol) \(side.rawValue) \(quantity) \(price) \(commission) \(inBase ? "BASE" : "QUOTE")\n"
        }
        #expect(kinds.flips > count / 100 && kinds.closes > count / 100 && kinds.partials > count / 100 && kinds.baseFees > count / 10)

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
        print("ledger: \(count) fills (\(kinds.flips) through zero, \(kinds.closes) to flat, \(kinds.partials) partial closes); \(ours)")
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
