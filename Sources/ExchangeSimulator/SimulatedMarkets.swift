import Binance
import EventBus
import Foundation
import Money
import PaperExchange
import VaktConfig

/// The paper exchange's markets as configured (`paper_exchange`), and the request limits it
/// announces: what `GET /api/v3/exchangeInfo` serves and orders are checked against.
struct SimulatedMarkets: Sendable {
    var exchange: PaperExchange.Settings
    var rateLimits: [RateLimit]
    /// The request weight per minute, the limit most requests count against.
    let weightLimit: RateLimit

    var symbols: [ListedSymbol] { exchange.markets.map(\.symbol) }

    func symbol(_ name: String) -> ListedSymbol? { symbols.first { $0.name == name } }

    struct ReplayFileError: Error, CustomStringConvertible {
        var market: String
        var file: String
        var reason: String
        var description: String { "paper_exchange.markets.\(market).replay_file \(file): \(reason)" }
    }

    /// The configured markets; a replay file is read here, and one that cannot be read or
    /// parsed stops start-up naming it.
    init(_ settings: PaperExchangeSettings) throws {
        var markets: [SimulatedMarket] = []
        for market in settings.markets {
            var path = PricePath.Source.randomWalk(
                PricePath.RandomWalk(
                    volatilityPPM: market.volatilityPPM, burstMultiplier: PricePath.RandomWalk.standard.burstMultiplier,
                    trendPPM: PricePath.RandomWalk.standard.trendPPM))
            if let file = market.replayFile {
                do {
                    let csv = try String(contentsOfFile: file, encoding: .utf8)
                    path = .replay(try KlineReplay.path(csv: csv, tickSize: Price(market.tickSize)))
                } catch {
                    throw ReplayFileError(market: market.symbol, file: file, reason: "\(error)")
                }
            }
            markets.append(
                .standard(
                    symbol: market.symbol, baseAsset: market.baseAsset, quoteAsset: market.quoteAsset, tickSize: Price(market.tickSize),
                    stepSize: Quantity(market.stepSize), minNotional: Money(market.minNotional), startPrice: Price(market.startPrice),
                    depthPerLevel: Quantity(market.depthPerLevel), path: path))
        }
        exchange = PaperExchange.Settings(
            markets: markets, balances: settings.balances, makerCommission: settings.makerCommission,
            takerCommission: settings.takerCommission, seed: UInt64(settings.seed),
            stepMilliseconds: settings.step.milliseconds)
        weightLimit = RateLimit(kind: .requestWeight, interval: .minute, intervalNum: 1, limit: settings.requestWeightPerMinute)
        rateLimits = [
            weightLimit,
            RateLimit(kind: .orders, interval: .second, intervalNum: 10, limit: settings.ordersPer10Seconds),
            RateLimit(kind: .orders, interval: .day, intervalNum: 1, limit: settings.ordersPerDay),
            RateLimit(kind: .rawRequests, interval: .minute, intervalNum: 5, limit: 61_000),
        ]
    }

    /// `GET /api/v3/exchangeInfo`, in Binance's shape.
    func exchangeInfo(serverTime: Int64, only wanted: [String]?) -> JSONValue {
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
                symbols.filter { wanted?.contains($0.name) ?? true }.map { symbol in
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
