import Binance
import EventBus
import Money
import ServiceKit

/// The steps an entry and a close take alike, each pure and refusing with its rule.
extension PlanningContext {
    /// What the exchange lists of `symbol` and its last price, or why it cannot be traded now.
    func listing(of symbol: String) throws(Refusal) -> (filters: SymbolFilters, assets: SymbolAssets, mark: Price) {
        guard let filters, let assets else {
            throw Refusal(rule: "symbol", reason: "the exchange does not list \(symbol)")
        }
        guard let mark = marks[symbol] else {
            throw Refusal(rule: "market_price", reason: "no market price for \(symbol) yet")
        }
        return (filters, assets, mark)
    }

    /// `quantity` rounded down onto the symbol's lot step (never up: that could sell what is
    /// not held or spend what is not free).
    static func onLotStep(_ quantity: Quantity, _ filters: SymbolFilters) throws(Refusal) -> Quantity {
        guard let step = filters.lotSize?.stepSize else { return quantity }
        return try exactly("quantity") { () throws(FixedDecimalError) in try quantity.rounded(downToStep: step) }
    }

    /// The ESS and the policy's limits (``ExposureRules``) on the order.
    func checkExposure(_ question: ExposureQuestion) throws(Refusal) {
        if case .refused(let rule, let reason) = ExposureRules.decide(question, ess: ess, policy: policy) {
            throw Refusal(rule: rule, reason: reason)
        }
    }

    /// The limit order through the exchange's filters: the quantity they settle on.
    func conformedQuantity(
        _ symbol: String, _ side: OrderSide, _ quantity: Quantity, at price: Price, _ filters: SymbolFilters, referencePrice: Price
    ) throws(Refusal) -> Quantity {
        let terms = OrderTerms(symbol: symbol, side: side, type: .limit, quantity: quantity, price: price)
        switch filters.conform(terms, referencePrice: referencePrice, openOrders: openOrders) {
        case .success(let conformed): return conformed.quantity ?? quantity
        case .failure(let failure): throw Refusal(rule: "filter", reason: "\(failure)")
        }
    }
}

/// `body`'s exact arithmetic, an overflow or a bad scale refused as rule `arithmetic` naming
/// `what` was being computed.
func exactly<T>(_ what: String, _ body: () throws(FixedDecimalError) -> T) throws(Refusal) -> T {
    do {
        return try body()
    } catch {
        throw Refusal(rule: "arithmetic", reason: "\(what): \(error)")
    }
}
