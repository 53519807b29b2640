import Binance
import Money

/// A symbol the paper exchange lists, with Binance's trading rules for it.
public struct ListedSymbol: Sendable, Equatable {
    public var name: String
    public var baseAsset: String
    public var quoteAsset: String
    /// Places of the base and quote assets (Binance's `baseAssetPrecision`, `quoteAssetPrecision`).
    public var basePrecision: Int
    public var quotePrecision: Int
    public var filters: SymbolFilters

    public init(name: String, baseAsset: String, quoteAsset: String, basePrecision: Int, quotePrecision: Int, filters: SymbolFilters) {
        self.name = name
        self.baseAsset = baseAsset
        self.quoteAsset = quoteAsset
        self.basePrecision = basePrecision
        self.quotePrecision = quotePrecision
        self.filters = filters
    }

    /// The price grid (PRICE_FILTER's tick; a cent when the symbol has none).
    public var tickSize: Price { filters.price.flatMap { $0.tickSize > .zero ? $0.tickSize : nil } ?? Price(1, scale: 2) }
    /// The quantity grid (LOT_SIZE's step; the base asset's precision when none).
    public var stepSize: Quantity {
        filters.lotSize.flatMap { $0.stepSize > .zero ? $0.stepSize : nil } ?? Quantity(1, scale: basePrecision)
    }
}

/// The simulator's own liquidity around the mid price: `levels` price levels a side, the best
/// `halfSpreadTicks` from the mid and each further one `levelSpacingTicks` out, each offering
/// `depthPerLevel` that a taker consumes until the next step; and the flow that trades against
/// resting orders the price has moved through, up to `flowPerStep` a step.
public struct Liquidity: Sendable, Equatable {
    public var halfSpreadTicks: Int
    public var levelSpacingTicks: Int
    public var levels: Int
    public var depthPerLevel: Quantity
    public var flowPerStep: Quantity

    public init(halfSpreadTicks: Int, levelSpacingTicks: Int, levels: Int, depthPerLevel: Quantity, flowPerStep: Quantity) {
        self.halfSpreadTicks = halfSpreadTicks
        self.levelSpacingTicks = levelSpacingTicks
        self.levels = levels
        self.depthPerLevel = depthPerLevel
        self.flowPerStep = flowPerStep
    }
}

/// One market of the paper exchange: what it lists, where its price starts and how it moves,
/// and how deep it is.
public struct SimulatedMarket: Sendable, Equatable {
    public var symbol: ListedSymbol
    public var startPrice: Price
    public var path: PricePath.Source
    public var liquidity: Liquidity

    public init(symbol: ListedSymbol, startPrice: Price, path: PricePath.Source, liquidity: Liquidity) {
        self.symbol = symbol
        self.startPrice = startPrice
        self.path = path
        self.liquidity = liquidity
    }
}

/// A trade on the simulated market's tape (the `trade` stream): the market's own trade each
/// step, and every fill of the account's orders.
public struct MarketTrade: Sendable, Equatable {
    public let id: Int64
    public let price: Price
    public let qty: Quantity
    public let time: Int64
    public let buyerIsMaker: Bool
}

extension SimulatedMarket {
    /// A market with Binance's rules for a spot major: PRICE_FILTER on `tickSize` up to
    /// 1,000,000, LOT_SIZE and MARKET_LOT_SIZE on `stepSize` up to 9,000, NOTIONAL from
    /// `minNotional` (market orders too) to 9,000,000, 200 open orders; the simulator's
    /// liquidity 20 levels deep a side, 100 ticks apart, the best one tick from the mid.
    public static func standard(
        symbol: String, baseAsset: String, quoteAsset: String, tickSize: Price, stepSize: Quantity, minNotional: Money,
        startPrice: Price, depthPerLevel: Quantity, path: PricePath.Source = .randomWalk(.standard)
    ) -> SimulatedMarket {
        SimulatedMarket(
            symbol: ListedSymbol(
                name: symbol, baseAsset: baseAsset, quoteAsset: quoteAsset, basePrecision: 8, quotePrecision: 8,
                filters: SymbolFilters(
                    price: .init(minPrice: tickSize, maxPrice: Price(1_000_000), tickSize: tickSize),
                    lotSize: .init(minQty: stepSize, maxQty: Quantity(9_000), stepSize: stepSize),
                    marketLotSize: .init(minQty: .zero, maxQty: Quantity(9_000), stepSize: .zero),
                    notional: .init(
                        minNotional: minNotional, applyMinToMarket: true, maxNotional: Money(9_000_000), applyMaxToMarket: false),
                    maxNumOrders: 200)),
            startPrice: startPrice, path: path,
            liquidity: Liquidity(
                halfSpreadTicks: 1, levelSpacingTicks: 100, levels: 20, depthPerLevel: depthPerLevel, flowPerStep: depthPerLevel))
    }
}
