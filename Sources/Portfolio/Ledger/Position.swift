import Money

/// One symbol's net holding, netted across every fill: signed quantity (negative is short,
/// which a spot account never is, but the rules hold either way), what the open quantity cost,
/// and what closing quantity realized.
///
/// The rules, which `Tests/PortfolioTests/ledger_reference.py` recomputes independently with
/// Python's `decimal` (every amount has 18 places; "round" is half-even to 18 places):
/// - A fill adding to the position (or opening one) adds `delta × price` to the cost.
/// - A fill reducing it closes `c = -delta` (at most the whole position): the cost it takes
///   away is the whole cost when it closes all, otherwise `round(round(cost × c) / quantity)`;
///   realized grows by `c × price − removed`.
/// - A fill larger than the position closes it all and opens the rest at the fill's price.
public struct Position: Sendable, Equatable, Codable {
    public var symbol: String
    /// Base asset held: positive long, negative short.
    public var quantity: FixedDecimal
    /// What the open quantity cost, in the quote asset (negative for a short: what it sold for).
    public var cost: FixedDecimal
    /// Realized by closing, before fees.
    public var realized: FixedDecimal
    /// Every fee paid on this symbol, in the quote asset.
    public var fees: FixedDecimal

    public init(symbol: String) {
        self.symbol = symbol
        quantity = .zero
        cost = .zero
        realized = .zero
        fees = .zero
    }

    /// The cost per unit of the open quantity; none when flat.
    public var averagePrice: Price? {
        guard !quantity.isZero else { return nil }
        return try? Price(cost.divided(by: quantity, scale: FixedDecimal.maxScale, rounding: .halfEven))
    }

    /// What the open quantity would realize at `mark`.
    public func unrealized(at mark: Price) throws(FixedDecimalError) -> FixedDecimal {
        try quantity.multiplied(by: mark.value) - cost
    }

    /// Books `delta` of the base asset bought (positive) or sold (negative) at `price`.
    public mutating func apply(delta: FixedDecimal, price: Price) throws(FixedDecimalError) {
        guard !delta.isZero else { return }
        if quantity.isZero || quantity.isNegative == delta.isNegative {
            cost = try cost + delta.multiplied(by: price.value)
            quantity = try quantity + delta
            return
        }
        // Closing: all of the position at most.
        let closing = delta.magnitude <= quantity.magnitude ? delta : -quantity
        let closed = -closing
        let removed: FixedDecimal
        if closing == -quantity {
            removed = cost
        } else {
            removed = try cost.multiplied(by: closed).divided(by: quantity, scale: FixedDecimal.maxScale, rounding: .halfEven)
        }
        realized = try realized + (closed.multiplied(by: price.value) - removed)
        cost = try cost - removed
        quantity = try quantity + closing
        // Through zero: the rest opens a new position at this price.
        let rest = try delta - closing
        if !rest.isZero {
            cost = try rest.multiplied(by: price.value)
            quantity = rest
        }
    }
}
