// Binance: what Binance Spot and the paper exchange agree on, as pure values and functions: a
// symbol's trading rules (exchange filters) and the check of an order against them, request
// signing, the rate limits and how they are counted and enforced, and Binance's error codes and
// messages. The adapter and the simulator both use it, so the order an adapter sends and the
// order the simulator accepts are judged by one code.

import EventBus
import Money

/// A symbol's exchange filters, as `exchangeInfo` lists them (`docs`: filters.md). A rule whose
/// value is zero is disabled, as on Binance.
public struct SymbolFilters: Sendable, Equatable {
    public struct PriceFilter: Sendable, Equatable {
        public var minPrice: Price
        public var maxPrice: Price
        public var tickSize: Price

        public init(minPrice: Price, maxPrice: Price, tickSize: Price) {
            self.minPrice = minPrice
            self.maxPrice = maxPrice
            self.tickSize = tickSize
        }
    }

    public struct LotSize: Sendable, Equatable {
        public var minQty: Quantity
        public var maxQty: Quantity
        public var stepSize: Quantity

        public init(minQty: Quantity, maxQty: Quantity, stepSize: Quantity) {
            self.minQty = minQty
            self.maxQty = maxQty
            self.stepSize = stepSize
        }
    }

    /// NOTIONAL (and the older MIN_NOTIONAL, read into the same rule): price × quantity bounds.
    public struct Notional: Sendable, Equatable {
        public var minNotional: Money
        public var applyMinToMarket: Bool
        /// Zero: no maximum.
        public var maxNotional: Money
        public var applyMaxToMarket: Bool
        /// The filter's type as listed: `NOTIONAL` or `MIN_NOTIONAL` (its failure names it).
        public var name: String

        public init(minNotional: Money, applyMinToMarket: Bool, maxNotional: Money, applyMaxToMarket: Bool, name: String = "NOTIONAL") {
            self.minNotional = minNotional
            self.applyMinToMarket = applyMinToMarket
            self.maxNotional = maxNotional
            self.applyMaxToMarket = applyMaxToMarket
            self.name = name
        }
    }

    public var price: PriceFilter?
    public var lotSize: LotSize?
    /// LOT_SIZE's rules for MARKET orders only.
    public var marketLotSize: LotSize?
    public var notional: Notional?
    /// Open orders allowed on the symbol.
    public var maxNumOrders: Int?

    public init(
        price: PriceFilter? = nil, lotSize: LotSize? = nil, marketLotSize: LotSize? = nil, notional: Notional? = nil,
        maxNumOrders: Int? = nil
    ) {
        self.price = price
        self.lotSize = lotSize
        self.marketLotSize = marketLotSize
        self.notional = notional
        self.maxNumOrders = maxNumOrders
    }
}

extension SymbolFilters {
    /// Reads a symbol's `filters` array. Unknown filter types are skipped (Binance adds new ones;
    /// they are not this code's to enforce); a known one with a missing or malformed field is an
    /// error naming it (`filters[0].tickSize: ...`).
    public init(json: JSONValue) throws(PayloadError) {
        guard case .array(let items) = json else { throw PayloadError(problems: ["filters: expected a list, got \(json.kindName)"]) }
        var filters = SymbolFilters()
        var problems: [String] = []
        for (index, item) in items.enumerated() {
            let reader: PayloadReader
            do {
                reader = try PayloadReader(item, name: "filters[\(index)]")
            } catch {
                problems += error.problems
                continue
            }
            switch reader.optionalString("filterType", maxLength: 64) {
            case "PRICE_FILTER"?:
                let minPrice: Price? = reader.amount("minPrice")
                let maxPrice: Price? = reader.amount("maxPrice")
                let tickSize: Price? = reader.amount("tickSize")
                if let minPrice, let maxPrice, let tickSize {
                    filters.price = PriceFilter(minPrice: minPrice, maxPrice: maxPrice, tickSize: tickSize)
                }
            case let type? where type == "LOT_SIZE" || type == "MARKET_LOT_SIZE":
                let minQty: Quantity? = reader.amount("minQty")
                let maxQty: Quantity? = reader.amount("maxQty")
                let stepSize: Quantity? = reader.amount("stepSize")
                if let minQty, let maxQty, let stepSize {
                    let lot = LotSize(minQty: minQty, maxQty: maxQty, stepSize: stepSize)
                    if type == "LOT_SIZE" { filters.lotSize = lot } else { filters.marketLotSize = lot }
                }
            case "NOTIONAL"?:
                let minNotional: Money? = reader.amount("minNotional")
                let applyMin = reader.bool("applyMinToMarket")
                let maxNotional: Money? = reader.amount("maxNotional")
                let applyMax = reader.bool("applyMaxToMarket")
                if let minNotional, let applyMin, let maxNotional, let applyMax {
                    filters.notional = Notional(
                        minNotional: minNotional, applyMinToMarket: applyMin, maxNotional: maxNotional, applyMaxToMarket: applyMax)
                }
            case "MIN_NOTIONAL"?:
                let minNotional: Money? = reader.amount("minNotional")
                let applyToMarket = reader.bool("applyToMarket")
                if let minNotional, let applyToMarket {
                    filters.notional = Notional(
                        minNotional: minNotional, applyMinToMarket: applyToMarket, maxNotional: .zero, applyMaxToMarket: false,
                        name: "MIN_NOTIONAL")
                }
            case "MAX_NUM_ORDERS"?:
                filters.maxNumOrders = reader.int("maxNumOrders")
            case nil:
                reader.report("filterType", "missing")
            default:
                break
            }
            do {
                try reader.finish(allowing: true)
            } catch {
                problems += error.problems.map { "filters[\(index)].\($0)" }
            }
        }
        guard problems.isEmpty else { throw PayloadError(problems: problems) }
        self = filters
    }

    /// The `filters` array as Binance lists it, amounts as decimal strings.
    public var json: JSONValue {
        var items: [JSONValue] = []
        if let price {
            items.append(
                .object([
                    "filterType": .string("PRICE_FILTER"), "minPrice": .amount(price.minPrice), "maxPrice": .amount(price.maxPrice),
                    "tickSize": .amount(price.tickSize),
                ]))
        }
        for (type, lot) in [("LOT_SIZE", lotSize), ("MARKET_LOT_SIZE", marketLotSize)] {
            guard let lot else { continue }
            items.append(
                .object([
                    "filterType": .string(type), "minQty": .amount(lot.minQty), "maxQty": .amount(lot.maxQty),
                    "stepSize": .amount(lot.stepSize),
                ]))
        }
        if let notional {
            if notional.name == "MIN_NOTIONAL" {
                items.append(
                    .object([
                        "filterType": .string("MIN_NOTIONAL"), "minNotional": .amount(notional.minNotional),
                        "applyToMarket": .bool(notional.applyMinToMarket), "avgPriceMins": .number(5),
                    ]))
            } else {
                items.append(
                    .object([
                        "filterType": .string("NOTIONAL"), "minNotional": .amount(notional.minNotional),
                        "applyMinToMarket": .bool(notional.applyMinToMarket), "maxNotional": .amount(notional.maxNotional),
                        "applyMaxToMarket": .bool(notional.applyMaxToMarket), "avgPriceMins": .number(5),
                    ]))
            }
        }
        if let maxNumOrders {
            items.append(.object(["filterType": .string("MAX_NUM_ORDERS"), "maxNumOrders": .number(Double(maxNumOrders))]))
        }
        return .array(items)
    }
}
