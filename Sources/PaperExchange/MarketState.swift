import Binance
import EventBus
import Money

/// One market's moving parts: its price path, the simulator's liquidity a taker has used this
/// step, the account's resting orders in price-time priority, its candles and its tape.
struct MarketState: Sendable {
    /// A resting order, by id and price in ticks (the order itself lives in the exchange's table).
    struct Resting: Sendable, Equatable {
        let id: Int64
        let ticks: Int
    }

    let market: SimulatedMarket
    var path: PricePath
    /// The step the market is at: the clock divided by the step length.
    var step: Int64
    var consumedAsks: [Int: FixedDecimal] = [:]
    var consumedBids: [Int: FixedDecimal] = [:]
    /// Best price first, then oldest first.
    var bids: [Resting] = []
    var asks: [Resting] = []
    var seconds = CandleSeries(interval: 1_000, capacity: 1_000)
    var minutes = CandleSeries(interval: 60_000, capacity: 7 * 1_440)
    var tape: [MarketTrade] = []
    static let tapeCapacity = 1_000
    /// Changes to the book, for depth's `lastUpdateId`.
    var updateId: Int64 = 1

    var symbol: ListedSymbol { market.symbol }
    var liquidity: Liquidity { market.liquidity }
    var mid: Int { path.ticks }

    /// The price in ticks of the simulator's level `index` on the side a taker of `side` takes from.
    func levelTicks(_ index: Int, takerSide side: OrderSide) -> Int {
        let distance = liquidity.halfSpreadTicks + index * liquidity.levelSpacingTicks
        return side == .buy ? mid + distance : mid - distance
    }

    func available(_ index: Int, takerSide side: OrderSide) throws(FixedDecimalError) -> Quantity {
        let used = (side == .buy ? consumedAsks[index] : consumedBids[index]) ?? .zero
        return Quantity(try liquidity.depthPerLevel.value - used)
    }

    mutating func consume(_ qty: Quantity, at index: Int, takerSide side: OrderSide) throws(FixedDecimalError) {
        if side == .buy {
            consumedAsks[index] = try (consumedAsks[index] ?? .zero) + qty.value
        } else {
            consumedBids[index] = try (consumedBids[index] ?? .zero) + qty.value
        }
        updateId += 1
    }

    func price(_ ticks: Int) -> Price { Tick.price(ticks, tickSize: symbol.tickSize) }

    mutating func rest(_ order: Resting, side: OrderSide) {
        if side == .buy {
            let index = bids.firstIndex { $0.ticks < order.ticks } ?? bids.endIndex
            bids.insert(order, at: index)
        } else {
            let index = asks.firstIndex { $0.ticks > order.ticks } ?? asks.endIndex
            asks.insert(order, at: index)
        }
        updateId += 1
    }

    mutating func remove(_ id: Int64) {
        bids.removeAll { $0.id == id }
        asks.removeAll { $0.id == id }
        updateId += 1
    }

    /// Records a trade on the tape and in the klines.
    mutating func addToTape(_ trade: MarketTrade) throws(FixedDecimalError) {
        let ticks = try Tick.count(of: trade.price, tickSize: symbol.tickSize, rounding: .halfEven)
        let quote = try trade.qty.value.multiplied(by: trade.price.value)
        try seconds.record(time: trade.time, ticks: ticks, qty: trade.qty.value, quote: quote, takerBought: !trade.buyerIsMaker)
        try minutes.record(time: trade.time, ticks: ticks, qty: trade.qty.value, quote: quote, takerBought: !trade.buyerIsMaker)
        tape.append(trade)
        if tape.count > Self.tapeCapacity + Self.tapeCapacity / 4 { tape.removeFirst(tape.count - Self.tapeCapacity) }
    }
}
