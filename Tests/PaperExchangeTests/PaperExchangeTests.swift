import Binance
import EventBus
import Money
import Testing

@testable import PaperExchange

/// The paper exchange's market, pure: fills against the simulator's levels, resting orders
/// filled by the price process in price-time priority, fees, and balances that lock, unlock
/// and add up to the cent.
@Suite struct PaperExchangeTests {
    /// A step boundary, so the market starts exactly at its start price.
    static let start: Int64 = 1_764_000_000_000

    static func exchange(seed: UInt64 = 7, stepMilliseconds: Int64 = 1_000) throws -> PaperExchange {
        let btc = SimulatedMarket.standard(
            symbol: "BTCUSDT", baseAsset: "BTC", quoteAsset: "USDT", tickSize: Price(1, scale: 2), stepSize: Quantity(1, scale: 5),
            minNotional: Money(5), startPrice: Price(64_000), depthPerLevel: Quantity(5, scale: 1))
        return try PaperExchange(
            settings: .init(
                markets: [btc], balances: ["USDT": FixedDecimal(100_000), "BTC": FixedDecimal(1)],
                makerCommission: FixedDecimal(5, scale: 4), takerCommission: FixedDecimal(1, scale: 3), seed: seed,
                stepMilliseconds: stepMilliseconds),
            now: start)
    }

    static func order(
        _ side: OrderSide, _ type: BinanceOrderType, qty: String? = nil, quote: String? = nil, price: String? = nil,
        tif: TimeInForce? = nil, id: String? = nil
    ) throws -> PaperExchange.NewOrder {
        PaperExchange.NewOrder(
            terms: OrderTerms(
                symbol: "BTCUSDT", side: side, type: type, quantity: try qty.map { try Quantity(parsing: $0) },
                quoteQuantity: try quote.map { try Money(parsing: $0) }, price: try price.map { try Price(parsing: $0) }),
            timeInForce: tif, clientOrderId: id)
    }

    static func amount(_ text: String) throws -> FixedDecimal { try FixedDecimal(parsing: text) }

    @Test func aMarketOrderWalksTheLevelsAndPaysTheTakerFeeInWhatItReceives() throws {
        var exchange = try Self.exchange()
        let placed = try exchange.place(try Self.order(.buy, .market, qty: "1.2", id: "m1"), now: Self.start)
        #expect(placed.fills.map(\.price) == [Price(6_400_001, scale: 2), Price(6_400_101, scale: 2), Price(6_400_201, scale: 2)])
        #expect(placed.fills.map(\.qty) == [Quantity(5, scale: 1), Quantity(5, scale: 1), Quantity(2, scale: 1)])
        #expect(placed.fills.map(\.commission) == [try Self.amount("0.0005"), try Self.amount("0.0005"), try Self.amount("0.0002")])
        #expect(placed.fills.allSatisfy { !$0.isMaker && $0.isBuyer && $0.commissionAsset == "BTC" })
        #expect(placed.order.status == .filled && placed.order.executedQty == Quantity(12, scale: 1))
        #expect(placed.order.cumulativeQuoteQty == (try Money(parsing: "76800.912")))
        #expect(exchange.balances["USDT"] == .init(free: try Self.amount("23199.088"), locked: .zero))
        #expect(exchange.balances["BTC"] == .init(free: try Self.amount("2.1988"), locked: .zero))
        // The levels it took stay taken until the next step.
        let next = try exchange.place(try Self.order(.buy, .market, qty: "0.35"), now: Self.start)
        #expect(next.fills.map(\.qty) == [Quantity(3, scale: 1), Quantity(5, scale: 2)])
        #expect(next.fills.map(\.price) == [Price(6_400_201, scale: 2), Price(6_400_301, scale: 2)])
    }

    @Test func aMarketOrderByQuoteAmountBuysWhatTheAmountAffordsOnTheStep() throws {
        var exchange = try Self.exchange()
        let placed = try exchange.place(try Self.order(.buy, .market, quote: "1000"), now: Self.start)
        #expect(placed.order.executedQty == (try Quantity(parsing: "0.01562")))
        #expect(placed.order.origQty == placed.order.executedQty)
        #expect(placed.order.cumulativeQuoteQty == (try Money(parsing: "999.6801562")))
        #expect(placed.order.status == .filled)
        #expect(exchange.balances["USDT"].free == (try Self.amount("99000.3198438")))
    }

    @Test func aRestingOrderLocksItsCostAndACancelGivesItBackToTheCent() throws {
        var exchange = try Self.exchange()
        let placed = try exchange.place(try Self.order(.buy, .limit, qty: "0.01", price: "63000", tif: .gtc, id: "rest-1"), now: Self.start)
        #expect(placed.order.status == .new && placed.fills.isEmpty)
        #expect(exchange.balances["USDT"] == .init(free: try Self.amount("99370"), locked: try Self.amount("630")))
        #expect(try exchange.openOrders(symbol: "BTCUSDT").map(\.clientOrderId) == ["rest-1"])
        #expect(try exchange.book(symbol: "BTCUSDT", limit: 100).bids.contains { $0.price == Price(63_000) })
        let canceled = try exchange.cancel(
            symbol: "BTCUSDT", orderId: nil, clientOrderId: "rest-1", newClientOrderId: "undo-1", now: Self.start)
        #expect(canceled.status == .canceled)
        #expect(exchange.balances["USDT"] == .init(free: FixedDecimal(100_000), locked: .zero))
        #expect(exchange.reports.last?.cancelClientOrderId == "undo-1" && exchange.reports.last?.kind == .canceled)
        #expect(throws: BinanceError.unknownOrder) {
            try exchange.cancel(symbol: "BTCUSDT", orderId: placed.order.id, clientOrderId: nil, newClientOrderId: nil, now: Self.start)
        }
        #expect(throws: BinanceError.noSuchOrder) { try exchange.order(symbol: "BTCUSDT", orderId: 999, clientOrderId: nil) }
    }

    @Test func ordersTheEngineRefusesChangeNothing() throws {
        var exchange = try Self.exchange()
        _ = try exchange.place(try Self.order(.sell, .limit, qty: "0.5", price: "70000", tif: .gtc, id: "dup"), now: Self.start)
        let balances = exchange.balances
        let open = try exchange.openOrders(symbol: nil)
        let refusals: [(PaperExchange.NewOrder, String)] = [
            (try Self.order(.buy, .limitMaker, qty: "0.01", price: "64000.01"), "Order would immediately match and take."),
            (try Self.order(.buy, .market, qty: "9"), "Account has insufficient balance for requested action."),
            (
                try Self.order(.sell, .limit, qty: "0.6", price: "70000", tif: .gtc),
                "Account has insufficient balance for requested action."
            ),
            (try Self.order(.buy, .limit, qty: "0.01", price: "60000", tif: .gtc, id: "dup"), "Duplicate order sent."),
        ]
        for (order, message) in refusals {
            #expect(throws: BinanceError(code: -2010, msg: message)) { try exchange.place(order, now: Self.start) }
        }
        #expect(throws: BinanceError(code: -1013, msg: "Filter failure: PRICE_FILTER")) {
            try exchange.place(try Self.order(.buy, .limit, qty: "0.01", price: "64000.001", tif: .gtc), now: Self.start)
        }
        #expect(exchange.balances == balances)
        #expect(try exchange.openOrders(symbol: nil) == open)
    }

    @Test func fillOrKillFillsWhollyOrNotAtAllAndImmediateOrCancelExpiresTheRest() throws {
        var exchange = try Self.exchange()
        let kill = try exchange.place(try Self.order(.buy, .limit, qty: "0.6", price: "64000.01", tif: .fok), now: Self.start)
        #expect(kill.order.status == .expired && kill.fills.isEmpty && kill.order.executedQty == .zero)
        #expect(exchange.balances["USDT"] == .init(free: FixedDecimal(100_000), locked: .zero))
        let ioc = try exchange.place(try Self.order(.buy, .limit, qty: "0.6", price: "64000.01", tif: .ioc), now: Self.start)
        #expect(ioc.order.status == .expired && ioc.order.executedQty == Quantity(5, scale: 1))
        #expect(exchange.balances["USDT"] == .init(free: try Self.amount("67999.995"), locked: .zero))
        #expect(exchange.reports.suffix(3).map(\.kind) == [.new, .trade, .expired])
    }

    /// Two bids at one price: the price process fills the older one first, each fill at the
    /// order's own price with the maker fee.
    @Test func restingOrdersFillAsThePriceMovesThroughThemInPriceTimePriority() throws {
        var exchange = try Self.exchange(seed: 11)
        let first = try exchange.place(try Self.order(.buy, .limit, qty: "0.7", price: "63990", tif: .gtc), now: Self.start)
        let second = try exchange.place(try Self.order(.buy, .limit, qty: "0.7", price: "63990", tif: .gtc), now: Self.start)
        var now = Self.start
        var steps = 0
        while try exchange.order(symbol: "BTCUSDT", orderId: second.order.id, clientOrderId: nil).status != .filled {
            now += 1_000
            steps += 1
            try exchange.advance(to: now)
            let older = try exchange.order(symbol: "BTCUSDT", orderId: first.order.id, clientOrderId: nil)
            let younger = try exchange.order(symbol: "BTCUSDT", orderId: second.order.id, clientOrderId: nil)
            #expect(younger.executedQty == .zero || older.status == .filled, "step \(steps)")
            try #require(steps < 100_000, "the price never came down to 63990")
        }
        let fills = try exchange.trades(symbol: "BTCUSDT", orderId: nil, fromId: nil, startTime: nil, endTime: nil, limit: 1_000)
        #expect(fills.count >= 2)
        #expect(fills.allSatisfy { $0.isMaker && $0.price == Price(63_990) })
        // Each fill's fee is 0.05% of it, to the satoshi (half-even), in BTC; 1.4 × 63990 paid.
        var fees = FixedDecimal.zero
        for fill in fills {
            #expect(fill.commission == (try fill.qty.value.multiplied(by: Self.amount("0.0005"), scale: 8)))
            fees = try fees + fill.commission
        }
        #expect(exchange.balances["BTC"] == .init(free: try Self.amount("2.4") - fees, locked: .zero))
        #expect(exchange.balances["USDT"] == .init(free: try Self.amount("10414"), locked: .zero))
    }

    @Test func oneSeedOnePricePath() throws {
        var (one, again, other) = (try Self.exchange(seed: 3), try Self.exchange(seed: 3), try Self.exchange(seed: 4))
        try one.advance(to: Self.start + 600_000)
        try again.advance(to: Self.start + 600_000)
        try other.advance(to: Self.start + 600_000)
        #expect(try one.lastPrice(symbol: "BTCUSDT") == again.lastPrice(symbol: "BTCUSDT"))
        #expect(try one.lastPrice(symbol: "BTCUSDT") != other.lastPrice(symbol: "BTCUSDT"))
        let minutes = try one.klines(symbol: "BTCUSDT", interval: "1m", startTime: nil, endTime: nil, limit: 500)
        // A trade a second from second 1 to 600: 59, nine minutes of 60, then 1.
        #expect(minutes.map(\.trades) == [59] + Array(repeating: 60, count: 9) + [1])
        let fiveMinutes = try one.klines(symbol: "BTCUSDT", interval: "5m", startTime: nil, endTime: nil, limit: 500)
        #expect(fiveMinutes.map(\.trades).reduce(0, +) == minutes.map(\.trades).reduce(0, +))
        #expect(fiveMinutes.first?.high == minutes.prefix(5).map(\.high).max())
    }

    /// A second without a trade has its kline too, flat at the last close with no volume, as
    /// Binance's do: klines follow each other without a hole.
    @Test func aSecondWithoutATradeHasAFlatKline() throws {
        var exchange = try Self.exchange(stepMilliseconds: 3_000)
        try exchange.advance(to: Self.start + 30_000)
        let seconds = try exchange.klines(symbol: "BTCUSDT", interval: "1s", startTime: nil, endTime: nil, limit: 100)
        #expect(seconds.count >= 25)
        for (earlier, later) in zip(seconds, seconds.dropFirst()) {
            #expect(later.openTime == earlier.closeTime + 1)
            if later.trades == 0 {
                #expect(later.volume == .zero && [later.open, later.high, later.low, later.close].allSatisfy { $0 == earlier.close })
            }
        }
        #expect(seconds.filter { $0.trades == 0 }.count >= seconds.count / 2)
    }

    /// Random orders and cancels over an hour of market: every asset's total (free and locked)
    /// is what it started at, plus what was bought, less what was sold and the fees, exactly;
    /// and what is locked is what the open orders hold.
    @Test func balancesAddUpExactlyThroughAnHourOfRandomTrading() throws {
        var exchange = try Self.exchange(seed: 5)
        var generator = SeededGenerator(seed: 99)
        var now = Self.start
        for _ in 0..<3_600 {
            now += 1_000
            try exchange.advance(to: now)
            let mid = try exchange.midPrice(symbol: "BTCUSDT")
            switch Int.random(in: 0..<10, using: &generator) {
            case 0, 1:
                let side: OrderSide = Bool.random(using: &generator) ? .buy : .sell
                let offset = FixedDecimal(Int.random(in: -2_000...2_000, using: &generator), scale: 2)
                let price = Price(try mid.value + offset)
                let qty = Quantity(Int.random(in: 100...5_000, using: &generator), scale: 5)
                _ = try? exchange.place(
                    PaperExchange.NewOrder(
                        terms: OrderTerms(symbol: "BTCUSDT", side: side, type: .limit, quantity: qty, price: price), timeInForce: .gtc),
                    now: now)
            case 2:
                let side: OrderSide = Bool.random(using: &generator) ? .buy : .sell
                let qty = Quantity(Int.random(in: 100...20_000, using: &generator), scale: 5)
                _ = try? exchange.place(
                    PaperExchange.NewOrder(terms: OrderTerms(symbol: "BTCUSDT", side: side, type: .market, quantity: qty)), now: now)
            case 3:
                if let open = try exchange.openOrders(symbol: "BTCUSDT").first {
                    _ = try exchange.cancel(symbol: "BTCUSDT", orderId: open.id, clientOrderId: nil, newClientOrderId: nil, now: now)
                }
            default:
                break
            }
        }
        let trades = try exchange.trades(symbol: "BTCUSDT", orderId: nil, fromId: nil, startTime: nil, endTime: nil, limit: 100_000)
        #expect(trades.count > 50)
        var usdt = FixedDecimal(100_000)
        var btc = FixedDecimal(1)
        for trade in trades {
            if trade.isBuyer {
                usdt = try usdt - trade.quoteQty.value
                btc = try btc + trade.qty.value - trade.commission
            } else {
                usdt = try usdt + trade.quoteQty.value - trade.commission
                btc = try btc - trade.qty.value
            }
        }
        #expect(try exchange.balances["USDT"].free + exchange.balances["USDT"].locked == usdt)
        #expect(try exchange.balances["BTC"].free + exchange.balances["BTC"].locked == btc)
        var lockedUSDT = FixedDecimal.zero
        var lockedBTC = FixedDecimal.zero
        for order in try exchange.openOrders(symbol: nil) {
            if order.side == .buy { lockedUSDT = try lockedUSDT + order.locked } else { lockedBTC = try lockedBTC + order.locked }
        }
        #expect(exchange.balances["USDT"].locked == lockedUSDT && exchange.balances["BTC"].locked == lockedBTC)
    }

    @Test func aKlineFileBecomesAPathAndABadLineIsNamed() throws {
        let csv =
            "1700000000000,100.00,101.50,99.00,101.00,12.5,1700000059999,0,0,0,0,0\n"
            + "1700000060000,101.00,101.20,100.10,100.50,3,1700000119999,0,0,0,0,0\n"
        let path = try KlineReplay.path(csv: csv, tickSize: Price(1, scale: 2))
        #expect(path == [10_000, 9_900, 10_150, 10_100, 10_100, 10_120, 10_010, 10_050])
        #expect(throws: KlineCSV.ReadError(line: 2, reason: "close \"x\" is not a positive decimal price")) {
            try KlineReplay.path(csv: "1,1,2,0.5,1,0,59\n60,1,2,0.5,x,0,119\n", tickSize: Price(1, scale: 2))
        }
        #expect(throws: KlineCSV.ReadError(line: 1, reason: "high and low do not bound open and close")) {
            try KlineReplay.path(csv: "1,1,0.9,0.5,1,0,59\n", tickSize: Price(1, scale: 2))
        }
    }
}
