import Binance
import Money
import ServiceKit

/// An operator's close of a position, pure: a symbol and what is known now in, the sell or the
/// rule that refused it out. It sells everything of the base asset that is free (what open
/// sells lock is already leaving), at the market less `max_slippage`, on the symbol's grid.
/// A close reduces exposure, so the policy's limits do not hold it back, and a pause does not
/// either; the ESS does when tripped or cooling down (reduce-only lets it through).
public enum ClosePlanner {
    public static func plan(symbol: String, _ context: PlanningContext) -> Result<OrderPlan, Refusal> {
        Result { () throws(Refusal) in try planOrThrow(symbol: symbol, context) }
    }

    static func planOrThrow(symbol: String, _ context: PlanningContext) throws(Refusal) -> OrderPlan {
        let (filters, assets, mark) = try context.listing(of: symbol)
        let free = context.free[assets.base] ?? .zero
        var quantity = try PlanningContext.onLotStep(Quantity(free), filters)
        guard quantity > .zero else {
            let held = context.held[assets.base] ?? .zero
            throw Refusal(
                rule: "position",
                reason:
                    "nothing to sell: \(free) \(assets.base) free of \(held) held (the rest is locked in open sells or below the lot step)")
        }
        let price = try exactly("limit price") { () throws(FixedDecimalError) in
            try EntryPlanner.limitPrice(.sell, from: mark, slippage: context.settings.maxSlippage, filters: filters)
        }
        let notional = try exactly("notional") { () throws(FixedDecimalError) in try Money.notional(of: quantity, at: price) }
        let question = ExposureQuestion(symbol: symbol, notional: notional, reducesExposure: true)
        try context.checkExposure(question)
        quantity = try context.conformedQuantity(symbol, .sell, quantity, at: price, filters, referencePrice: mark)
        return OrderPlan(symbol: symbol, side: .sell, quantity: quantity, price: price, referencePrice: mark, reducesExposure: true)
    }
}
