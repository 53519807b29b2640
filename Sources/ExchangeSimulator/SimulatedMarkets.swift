import Binance
import EventBus
import Money

/// The symbols the paper exchange lists, with Binance's own trading rules for them, and the
/// request limits it announces: what `GET /api/v3/exchangeInfo` serves and orders are checked
/// against.
struct SimulatedMarkets: Sendable {
    struct Symbol: Sendable {
        var name: String
        var baseAsset: String
        var quoteAsset: String
        /// Places of the base and quote assets (Binance's `baseAssetPrecision`, `quoteAssetPrecision`).
        var basePrecision: Int
        var quotePrecision: Int
        var filters: SymbolFilters
    }

    var symbols: [Symbol]
    var rateLimits: [RateLimit]

    func symbol(_ name: String) -> Symbol? { symbols.first { $0.name == name } }

    /// Binance Spot's rules for BTCUSDT and ETHUSDT, and its published request limits.
    static let binanceDefaults = SimulatedMarkets(
        symbols: [
            usdtPair("BTC", stepPlaces: 5, marketMaxQty: Quantity(100)),
            usdtPair("ETH", stepPlaces: 4, marketMaxQty: Quantity(2_000)),
        ],
        rateLimits: [
            RateLimit(kind: .requestWeight, interval: .minute, intervalNum: 1, limit: 6_000),
            RateLimit(kind: .orders, interval: .second, intervalNum: 10, limit: 100),
            RateLimit(kind: .orders, interval: .day, intervalNum: 1, limit: 200_000),
            RateLimit(kind: .rawRequests, interval: .minute, intervalNum: 5, limit: 61_000),
        ])

    /// A `<base>USDT` pair with Binance's rules for its majors: a cent tick, a quantity step of
    /// `stepPlaces` places, 5 USDT minimum notional, 200 open orders.
    static func usdtPair(_ base: String, stepPlaces: Int, marketMaxQty: Quantity) -> Symbol {
        Symbol(
            name: base + "USDT", baseAsset: base, quoteAsset: "USDT", basePrecision: 8, quotePrecision: 8,
            filters: SymbolFilters(
                price: .init(minPrice: Price(1, scale: 2), maxPrice: Price(1_000_000), tickSize: Price(1, scale: 2)),
                lotSize: .init(minQty: Quantity(1, scale: stepPlaces), maxQty: Quantity(9_000), stepSize: Quantity(1, scale: stepPlaces)),
                marketLotSize: .init(minQty: .zero, maxQty: marketMaxQty, stepSize: .zero),
                notional: .init(minNotional: Money(5), applyMinToMarket: true, maxNotional: Money(9_000_000), applyMaxToMarket: false),
                maxNumOrders: 200))
    }

    /// `GET /api/v3/exchangeInfo`, in Binance's shape.
    func exchangeInfo(serverTime: Int64) -> JSONValue {
        .object([
            "timezone": .string("UTC"),
            "serverTime": .number(Double(serverTime)),
            "rateLimits": .array(
                rateLimits.map {
                    .object([
                        "rateLimitType": .string($0.kind.rawValue), "interval": .string($0.interval.rawValue),
                        "intervalNum": .number(Double($0.intervalNum)),
                        "limit": .number(Double($0.limit)),
                    ])
                }),
            "exchangeFilters": .array([]),
            "symbols": .array(
                symbols.map { symbol in
                    .object([
                        "symbol": .string(symbol.name), "status": .string("TRADING"), "baseAsset": .string(symbol.baseAsset),
                        "baseAssetPrecision": .number(Double(symbol.basePrecision)), "quoteAsset": .string(symbol.quoteAsset),
                        "quotePrecision": .number(Double(symbol.quotePrecision)),
                        "quoteAssetPrecision": .number(Double(symbol.quotePrecision)),
                        "baseCommissionPrecision": .number(Double(symbol.basePrecision)),
                        "quoteCommissionPrecision": .number(Double(symbol.quotePrecision)),
                        "orderTypes": .array(BinanceOrderType.allCases.map { .string($0.rawValue) }),
                        "icebergAllowed": .bool(false), "ocoAllowed": .bool(false), "otoAllowed": .bool(false),
                        "opoAllowed": .bool(false), "quoteOrderQtyMarketAllowed": .bool(true), "allowTrailingStop": .bool(false),
                        "cancelReplaceAllowed": .bool(false), "amendAllowed": .bool(false), "pegInstructionsAllowed": .bool(false),
                        "isSpotTradingAllowed": .bool(true), "isMarginTradingAllowed": .bool(false),
                        "filters": symbol.filters.json, "permissions": .array([]),
                        "permissionSets": .array([.array([.string("SPOT")])]),
                        "defaultSelfTradePreventionMode": .string("NONE"), "allowedSelfTradePreventionModes": .array([.string("NONE")]),
                    ])
                }),
        ])
    }
}
