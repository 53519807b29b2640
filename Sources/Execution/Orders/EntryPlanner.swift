import Binance
import EmergencyStop
import EventBus
import Foundation
import Money
import PolicyStore
import ServiceKit
import VaktConfig

/// What the pre-trade checks know of the world when a signal's turn comes.
public struct PlanningContext: Sendable {
    public var ess: ESSStatus
    public var policy: RiskPolicy?
    public var settings: ExecutionSettings
    public var filters: SymbolFilters?
    public var assets: SymbolAssets?
    /// The last market price of each symbol.
    public var marks: [String: Price]
    /// Assets free to trade, and held in all (free and locked in orders).
    public var free: [String: FixedDecimal]
    public var held: [String: FixedDecimal]
    /// Orders sent in the last minute, and open on the signal's symbol.
    public var ordersInLastMinute: Int
    public var openOrders: Int
    /// Symbols an operator paused.
    public var paused: [String: SymbolPause]

    public init(
        ess: ESSStatus, policy: RiskPolicy?, settings: ExecutionSettings, filters: SymbolFilters?, assets: SymbolAssets?,
        marks: [String: Price], free: [String: FixedDecimal], held: [String: FixedDecimal], ordersInLastMinute: Int, openOrders: Int,
        paused: [String: SymbolPause] = [:]
    ) {
        self.ess = ess
        self.policy = policy
        self.settings = settings
        self.filters = filters
        self.assets = assets
        self.marks = marks
        self.free = free
        self.held = held
        self.ordersInLastMinute = ordersInLastMinute
        self.openOrders = openOrders
        self.paused = paused
    }
}

/// An order the checks let through: a limit order at the signal's price moved by at most the
/// allowed slippage, on the symbol's grid.
public struct OrderPlan: Sendable, Equatable {
    public var symbol: String
    public var side: OrderSide
    public var quantity: Quantity
    public var price: Price
    public var referencePrice: Price
    public var reducesExposure: Bool
}

/// A check's refusal: the rule, and why, for `order.rejected`.
public struct Refusal: Sendable, Equatable, Error {
    public var rule: String
    public var reason: String

    public init(rule: String, reason: String) {
        self.rule = rule
        self.reason = reason
    }
}

/// The pre-trade checks and sizing, pure: a signal and what is known now in, an order or the
/// rule that refused it out. In order: an operator's pause of the symbol, the market price and
/// the price collar, the size (a buy spends `size` × the policy's largest order; a sell, on
/// spot, sells what is held, at most that much), the ESS and the policy's limits
/// (``ExposureRules``), orders per minute, the exchange's filters, then the balance.
public enum EntryPlanner {
    public static func plan(_ signal: SignalGenerated, _ context: PlanningContext) -> Result<OrderPlan, Refusal> {
        Result { () throws(Refusal) in try planOrThrow(signal, context) }
    }

    static func planOrThrow(_ signal: SignalGenerated, _ context: PlanningContext) throws(Refusal) -> OrderPlan {
        let symbol = signal.symbol
        if let pause = context.paused[symbol] {
            throw Refusal(rule: "paused", reason: "\(symbol) is paused since \(pause.since) by \(pause.requester): \(pause.reason)")
        }
        let (filters, assets, last) = try context.listing(of: symbol)
        let price = try exactly("limit price") { () throws(FixedDecimalError) in
            try limitPrice(signal.side, from: signal.referencePrice, slippage: context.settings.maxSlippage, filters: filters)
        }
        if let policy = context.policy, let collar = try? FixedDecimal(parsing: ExactDecimal.text(policy.priceCollar)) {
            let distance = try exactly("price collar") { () throws(FixedDecimalError) in
                try (price.value - last.value).magnitude.divided(by: last.value, scale: 8, rounding: .up)
            }
            if distance > collar {
                throw Refusal(
                    rule: "price_collar",
                    reason: "limit \(price) is \(distance) from the last price \(last), beyond the policy's collar \(collar)")
            }
        }
        let held = context.held[assets.base] ?? .zero
        let reduces = signal.side == .sell && held > .zero
        var quantity: Quantity
        if signal.side == .buy {
            guard let policy = context.policy, let largest = try? Money(parsing: ExactDecimal.text(policy.maxOrderNotional)) else {
                throw Refusal(rule: "policy", reason: "no risk policy loaded yet")
            }
            let size = signal.size ?? context.settings.defaultSize
            quantity = try exactly("size") { () throws(FixedDecimalError) in
                Quantity(try largest.value.multiplied(by: size).divided(by: price.value, scale: 18, rounding: .down))
            }
        } else {
            guard held > .zero else { throw Refusal(rule: "position", reason: "nothing to sell: no \(assets.base) held") }
            quantity = Quantity(held)
            if let policy = context.policy, let largest = try? Money(parsing: ExactDecimal.text(policy.maxOrderNotional)) {
                let most = try exactly("size") { () throws(FixedDecimalError) in
                    Quantity(try largest.value.divided(by: price.value, scale: 18, rounding: .down))
                }
                quantity = min(quantity, most)
            }
            quantity = min(quantity, Quantity(context.free[assets.base] ?? .zero))
        }
        quantity = try PlanningContext.onLotStep(quantity, filters)
        guard quantity > .zero else {
            throw Refusal(rule: "size", reason: "\(signal.side.rawValue) \(symbol) sizes to nothing at \(price)")
        }
        let notional = try exactly("notional") { () throws(FixedDecimalError) in try Money.notional(of: quantity, at: price) }
        let exposure = try exactly("exposure") { () throws(FixedDecimalError) in
            var symbolAfter = Money.zero
            var total = Money.zero
            for (asset, amount) in context.held where asset != assets.quote {
                guard let mark = markOf(asset: asset, quote: assets.quote, context) else { continue }
                var value = try Money.notional(of: Quantity(amount), at: mark)
                if asset == assets.base {
                    value = signal.side == .buy ? try value + notional : try value - notional
                    symbolAfter = value
                }
                total = try total + value
            }
            if context.held[assets.base] == nil, signal.side == .buy {
                symbolAfter = notional
                total = try total + notional
            }
            return (symbolAfter, total)
        }
        let question = ExposureQuestion(
            symbol: symbol, notional: notional, reducesExposure: reduces, symbolExposureAfter: exposure.0, totalExposureAfter: exposure.1)
        try context.checkExposure(question)
        if let policy = context.policy, context.ordersInLastMinute >= policy.maxOrdersPerMinute {
            throw Refusal(
                rule: "orders_per_minute",
                reason: "\(context.ordersInLastMinute) orders in the last minute; the policy allows \(policy.maxOrdersPerMinute)")
        }
        quantity = try context.conformedQuantity(symbol, signal.side, quantity, at: price, filters, referencePrice: last)
        if signal.side == .buy {
            let free = context.free[assets.quote] ?? .zero
            if notional.value > free {
                throw Refusal(rule: "balance", reason: "the order needs \(notional) \(assets.quote); \(free) is free")
            }
        }
        return OrderPlan(
            symbol: symbol, side: signal.side, quantity: quantity, price: price, referencePrice: signal.referencePrice,
            reducesExposure: reduces)
    }

    /// An order's limit: `price` moved by `slippage` against the order (up for a buy, down for
    /// a sell), onto the tick grid on the side that never pays more than that.
    public static func limitPrice(_ side: OrderSide, from price: Price, slippage: FixedDecimal, filters: SymbolFilters)
        throws(FixedDecimalError) -> Price
    {
        let factor = side == .buy ? try FixedDecimal(1) + slippage : try FixedDecimal(1) - slippage
        let raw = Price(try price.value.multiplied(by: factor))
        guard let tick = filters.price?.tickSize else { return raw }
        return try raw.rounded(toTick: tick, rounding: side == .buy ? .down : .up)
    }

    /// The price of an asset in the quote asset, from the marks (`BTC` in `USDT` is
    /// `BTCUSDT`'s).
    static func markOf(asset: String, quote: String, _ context: PlanningContext) -> Price? {
        context.marks[asset + quote]
    }
}
