import EventBus
import Money

/// Binance's order types the system uses (`type`).
public enum BinanceOrderType: String, Sendable, CaseIterable {
    case limit = "LIMIT"
    case limitMaker = "LIMIT_MAKER"
    case market = "MARKET"
}

/// Binance's order statuses (`X` / `status`) the paper exchange produces.
public enum OrderStatus: String, Sendable, CaseIterable {
    case new = "NEW"
    case partiallyFilled = "PARTIALLY_FILLED"
    case filled = "FILLED"
    case canceled = "CANCELED"
    case rejected = "REJECTED"
    case expired = "EXPIRED"

    /// Still on the book: it can fill and can be canceled.
    public var isOpen: Bool { self == .new || self == .partiallyFilled }
}

/// Binance's `timeInForce`.
public enum TimeInForce: String, Sendable, CaseIterable {
    case gtc = "GTC"
    case ioc = "IOC"
    case fok = "FOK"
}

/// What the exchange filters judge of a new order: its type, side, price and size.
public struct OrderTerms: Sendable, Equatable {
    public var symbol: String
    public var side: OrderSide
    public var type: BinanceOrderType
    /// Base quantity; a MARKET order may instead give ``quoteQuantity``.
    public var quantity: Quantity?
    /// MARKET by quote amount (`quoteOrderQty`).
    public var quoteQuantity: Money?
    /// LIMIT and LIMIT_MAKER only.
    public var price: Price?

    public init(
        symbol: String, side: OrderSide, type: BinanceOrderType, quantity: Quantity?, quoteQuantity: Money? = nil, price: Price? = nil
    ) {
        self.symbol = symbol
        self.side = side
        self.type = type
        self.quantity = quantity
        self.quoteQuantity = quoteQuantity
        self.price = price
    }
}

/// An order a filter refuses: Binance answers `-1013` with `Filter failure: <FILTER>`; the detail
/// says by how much, for the log and the caller.
public struct FilterFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public var filter: String
    public var detail: String

    public init(filter: String, detail: String) {
        self.filter = filter
        self.detail = detail
    }

    /// Binance's message, exactly.
    public var message: String { "Filter failure: \(filter)" }
    public var description: String { "\(message) (\(detail))" }
}

extension SymbolFilters {
    /// Whether Binance would accept `order` as it is: nil, or the first filter it fails, checked
    /// in the order PRICE_FILTER, LOT_SIZE / MARKET_LOT_SIZE, NOTIONAL, MAX_NUM_ORDERS.
    /// - Parameters:
    ///   - referencePrice: what a MARKET order's notional is judged at (Binance: the average
    ///     price over `avgPriceMins`, or the last price); nil skips that check.
    ///   - openOrders: the symbol's open orders now.
    public func failure(of order: OrderTerms, referencePrice: Price?, openOrders: Int) -> FilterFailure? {
        if order.type != .market, let rule = price, let price = order.price {
            if rule.minPrice > .zero, price < rule.minPrice {
                return FilterFailure(filter: "PRICE_FILTER", detail: "price \(price) is below minPrice \(rule.minPrice)")
            }
            if rule.maxPrice > .zero, price > rule.maxPrice {
                return FilterFailure(filter: "PRICE_FILTER", detail: "price \(price) is above maxPrice \(rule.maxPrice)")
            }
            if rule.tickSize > .zero, (try? price.rounded(toTick: rule.tickSize, rounding: .down)) != price {
                return FilterFailure(filter: "PRICE_FILTER", detail: "price \(price) is not a multiple of tickSize \(rule.tickSize)")
            }
        }
        if let quantity = order.quantity {
            let isMarket = order.type == .market
            for (name, rule) in [("LOT_SIZE", lotSize), ("MARKET_LOT_SIZE", isMarket ? marketLotSize : nil)] {
                guard let rule else { continue }
                if rule.minQty > .zero, quantity < rule.minQty {
                    return FilterFailure(filter: name, detail: "quantity \(quantity) is below minQty \(rule.minQty)")
                }
                if rule.maxQty > .zero, quantity > rule.maxQty {
                    return FilterFailure(filter: name, detail: "quantity \(quantity) is above maxQty \(rule.maxQty)")
                }
                if rule.stepSize > .zero, (try? quantity.rounded(downToStep: rule.stepSize)) != quantity {
                    return FilterFailure(filter: name, detail: "quantity \(quantity) is not a multiple of stepSize \(rule.stepSize)")
                }
            }
        }
        if let rule = notional, let value = Self.notional(of: order, referencePrice: referencePrice) {
            let isMarket = order.type == .market
            if rule.minNotional > .zero, !isMarket || rule.applyMinToMarket, value < rule.minNotional {
                return FilterFailure(filter: rule.name, detail: "notional \(value) is below minNotional \(rule.minNotional)")
            }
            if rule.maxNotional > .zero, !isMarket || rule.applyMaxToMarket, value > rule.maxNotional {
                return FilterFailure(filter: rule.name, detail: "notional \(value) is above maxNotional \(rule.maxNotional)")
            }
        }
        if let maxNumOrders, openOrders >= maxNumOrders {
            return FilterFailure(filter: "MAX_NUM_ORDERS", detail: "\(openOrders) orders are open, the most allowed is \(maxNumOrders)")
        }
        return nil
    }

    /// The order an adapter sends: its price moved onto the tick grid (a buy down, a sell up, so
    /// never a worse price than asked) and its quantity down to the step, then checked as
    /// Binance will; a failure is refused here instead of being sent to earn a -1013.
    public func conform(_ order: OrderTerms, referencePrice: Price?, openOrders: Int) -> Result<OrderTerms, FilterFailure> {
        var conformed = order
        if order.type != .market, let tick = price?.tickSize, tick > .zero, let asked = order.price {
            guard let rounded = try? asked.rounded(toTick: tick, rounding: order.side == .buy ? .down : .up) else {
                return .failure(FilterFailure(filter: "PRICE_FILTER", detail: "price \(asked) cannot be put on tickSize \(tick)"))
            }
            conformed.price = rounded
        }
        let step =
            order.type == .market ? (marketLotSize?.stepSize).flatMap { $0 > .zero ? $0 : nil } ?? lotSize?.stepSize : lotSize?.stepSize
        if let step, step > .zero, let quantity = order.quantity {
            guard let rounded = try? quantity.rounded(downToStep: step) else {
                return .failure(FilterFailure(filter: "LOT_SIZE", detail: "quantity \(quantity) cannot be put on stepSize \(step)"))
            }
            conformed.quantity = rounded
        }
        if let failure = failure(of: conformed, referencePrice: referencePrice, openOrders: openOrders) { return .failure(failure) }
        return .success(conformed)
    }

    /// Price × quantity for a limit order; the reference price × quantity, or the quote amount,
    /// for a market order; nil when it cannot be known.
    static func notional(of order: OrderTerms, referencePrice: Price?) -> Money? {
        if let quote = order.quoteQuantity { return quote }
        guard let quantity = order.quantity, let price = order.type == .market ? referencePrice : order.price else { return nil }
        return try? Money.notional(of: quantity, at: price)
    }
}
