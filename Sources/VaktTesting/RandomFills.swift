import Binance
import EventBus
import Money

/// A seeded stream of random trading activity on three markets for checking and measuring a
/// portfolio ledger: market prices, and fills that buy, sell, close to flat, close in part and
/// go through zero, with fees in the base or the quote asset. What it generates depends on the
/// position held (the caller's ledger answers), so closes and flips are exact. Each step has a
/// line in the format `Tests/PortfolioTests/ledger_reference.py` reads.
public struct RandomFills: Sendable {
    public struct Market: Sendable {
        public var symbol: String
        public var assets: SymbolAssets
        /// The price, in ticks of `tick` places.
        var price: Int
        var tick: Int
        /// Places of a quantity step, and a usual order in steps.
        var step: Int
        var typical: Int
    }

    public enum Kind: Sendable, Hashable {
        case open, flat, partial, flip
    }

    public enum Step: Sendable {
        case mark(symbol: String, price: Price)
        case fill(
            symbol: String, side: OrderSide, quantity: Quantity, price: Price, commission: FixedDecimal, commissionAsset: String,
            inBase: Bool, kind: Kind)

        /// The reference's input line.
        public var line: String {
            switch self {
            case .mark(let symbol, let price): "M \(symbol) \(price)"
            case .fill(let symbol, let side, let quantity, let price, let commission, _, let inBase, _):
                "F \(symbol) \(side.rawValue) \(quantity) \(price) \(commission) \(inBase ? "BASE" : "QUOTE")"
            }
        }
    }

    public private(set) var markets = [
        Market(symbol: "BTCUSDT", assets: .init(base: "BTC", quote: "USDT"), price: 3_000_000, tick: 2, step: 5, typical: 5_000),
        Market(symbol: "ETHUSDT", assets: .init(base: "ETH", quote: "USDT"), price: 200_000, tick: 2, step: 4, typical: 20_000),
        Market(symbol: "DOGEUSDT", assets: .init(base: "DOGE", quote: "USDT"), price: 8_000, tick: 5, step: 0, typical: 5_000),
    ]
    var random: SplitMix64

    public init(seed: UInt64) { random = SplitMix64(seed: seed) }

    public func assets(of symbol: String) -> SymbolAssets? { markets.first { $0.symbol == symbol }?.assets }

    /// The next step; `held` answers the position in a symbol (signed, base asset).
    public mutating func next(held: (String) -> FixedDecimal) throws -> Step {
        let index = Int(random.next(upTo: UInt64(markets.count)))
        var market = markets[index]
        // A random walk of a tick or a few, never below one tick.
        market.price = max(1, market.price + Int(random.next(upTo: 21)) - 10)
        markets[index] = market
        let price = Price(market.price, scale: market.tick)
        if random.next(upTo: 10) == 0 { return .mark(symbol: market.symbol, price: price) }
        let position = held(market.symbol)
        let step = FixedDecimal(1, scale: market.step)
        let heldSteps = Int(position.magnitude.units / step.units)
        var side: OrderSide = random.next(upTo: 2) == 0 ? .buy : .sell
        var quantity = Quantity(1 + Int(random.next(upTo: UInt64(market.typical))), scale: market.step)
        var kind = Kind.open
        let closing: OrderSide = position.isNegative ? .buy : .sell
        switch heldSteps > 0 ? random.next(upTo: 8) : 8 {
        case 0:  // exactly flat (base fees leave quantities off the step)
            (side, quantity, kind) = (closing, Quantity(position.magnitude), .flat)
        case 1:  // through zero
            (side, quantity, kind) = (closing, Quantity(try position.magnitude + quantity.value), .flip)
        case 2:  // part of it
            let steps = 1 + Int(random.next(upTo: UInt64(max(heldSteps - 1, 1))))
            (side, quantity, kind) = (closing, Quantity(FixedDecimal(units: step.units * Int128(steps))), .partial)
        default: break
        }
        // A buy's fee is taken from what it receives half the time (the base asset).
        let inBase = side == .buy && random.next(upTo: 2) == 0 && market.step > 0
        let received = inBase ? quantity.value : try Money.notional(of: quantity, at: price).value
        let commission = try received.multiplied(by: FixedDecimal(1, scale: 3), scale: 8, rounding: .halfEven)
        return .fill(
            symbol: market.symbol, side: side, quantity: quantity, price: price, commission: commission,
            commissionAsset: inBase ? market.assets.base : market.assets.quote, inBase: inBase, kind: kind)
    }
}
