import Binance

/// Where the ``RequestBudget`` lives that every process calling the exchange from one public IP
/// reserves from: a file on one host (``SharedRequestBudget``), or a store the hosts behind one
/// IP share.
public protocol RequestBudgetStore: Sendable {
    /// The limits `exchangeInfo` announced: the budget takes them, keeping its pauses, its ban
    /// and the counts of the limits that stayed.
    func adopt(_ limits: [RateLimit])

    /// Runs `body` on the budget, with no other process's change between its read and its
    /// write, and stores what it leaves. `body` may run more than once (a store that detects a
    /// concurrent change runs it again on the newer budget); only the last run's result and
    /// budget count.
    func update<T: Sendable>(_ body: (inout RequestBudget) -> T) async -> T
}
