/// What the user data stream and the polling fallback have delivered, pure: an update passes
/// once (a trade by symbol and trade id, anything else by order and execution type), and
/// polling asks for the trades after the last one seen from either source.
struct UpdateLedger: Sendable {
    private var seen = RecentKeys(capacity: 20_000)
    private var lastTradeIds: [String: Int64] = [:]

    /// Whether `update` is new; a new trade moves the polling start past it.
    mutating func admit(_ update: OrderUpdate) -> Bool {
        if update.tradeId >= 0 { lastTradeIds[update.symbol] = max(lastTradeIds[update.symbol] ?? -1, update.tradeId) }
        return seen.insert(update.key)
    }

    mutating func startPolling(_ symbol: String, after tradeId: Int64) {
        lastTradeIds[symbol] = max(lastTradeIds[symbol] ?? -1, tradeId)
    }

    /// `fromId` for the next poll of `symbol`; nil: from the start of the account's trades.
    func pollFrom(_ symbol: String) -> Int64? { lastTradeIds[symbol].map { $0 + 1 } }
}
