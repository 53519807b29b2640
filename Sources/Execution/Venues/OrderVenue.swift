import BinanceAdapter
import EventBus

/// Where execution's orders go, in Binance's terms: Binance itself, or the second venue
/// through a translation of it (``OKXOrderVenue``). Every order is placed under the caller's
/// client order id, and found again by it; an order whose placement got no answer is
/// reconciled by it, never sent again.
protocol OrderVenue: Sendable {
    var venue: TradingVenue { get }
    func place(_ intent: OrderIntent) async throws(ExchangeError) -> OrderReport
    /// What became of an order whose placement went unanswered: found (with its fills),
    /// ``ExchangeError/notPlaced(clientOrderId:)``, or
    /// ``ExchangeError/outcomeUnknown(clientOrderId:reason:)``.
    func reconcile(symbol: String, clientOrderId: String) async throws(ExchangeError) -> OrderReport
    /// An order by client order id, with its fills; nil when the venue does not know it.
    func orderWithFills(symbol: String, clientOrderId: String) async throws(ExchangeError) -> OrderReport?
    func fills(symbol: String, orderId: Int64) async throws(ExchangeError) -> [FillReport]
    func cancel(symbol: String, clientOrderId: String) async throws(ExchangeError) -> OrderReport
    func balances() async throws(ExchangeError) -> [BalanceReport]
}

extension BinanceClient: OrderVenue {
    var venue: TradingVenue { .binance }

    func orderWithFills(symbol: String, clientOrderId: String) async throws(ExchangeError) -> OrderReport? {
        guard var found = try await order(symbol: symbol, clientOrderId: clientOrderId) else { return nil }
        // An order that filled nothing has no trades to read.
        if found.executedQty > .zero { found.fills = try await fills(symbol: symbol, orderId: found.orderId) }
        return found
    }
}
