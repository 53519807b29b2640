import Money

/// `position.updated`: a symbol's holding after a fill.
public struct PositionUpdated: EventPayload {
    public static let eventType = EventType.positionUpdated
    public var symbol: String
    /// Base asset held (spot: never negative).
    public var quantity: Quantity
    /// What it cost, per unit, fees included.
    public var averagePrice: Price
    /// Realized on this symbol since 00:00 UTC.
    public var realizedPnl: Money

    public init(symbol: String, quantity: Quantity, averagePrice: Price, realizedPnl: Money) {
        self.symbol = symbol
        self.quantity = quantity
        self.averagePrice = averagePrice
        self.realizedPnl = realizedPnl
    }

    public init?(reading reader: PayloadReader) {
        let symbol = reader.symbol("symbol")
        let quantity: Quantity? = reader.amount("quantity")
        let averagePrice: Price? = reader.amount("averagePrice")
        let realizedPnl: Money? = reader.amount("realizedPnl")
        if let quantity, quantity < .zero { reader.report("quantity", "must not be negative, got \(quantity)") }
        guard let symbol, let quantity, let averagePrice, let realizedPnl, quantity >= .zero else { return nil }
        self.init(symbol: symbol, quantity: quantity, averagePrice: averagePrice, realizedPnl: realizedPnl)
    }

    public var json: JSONValue {
        .object([
            "symbol": .string(symbol), "quantity": .amount(quantity), "averagePrice": .amount(averagePrice),
            "realizedPnl": .amount(realizedPnl),
        ])
    }

    public static let example = PositionUpdated(
        symbol: "BTCUSDT", quantity: Quantity(15, scale: 3), averagePrice: Price(4_200_063, scale: 2), realizedPnl: Money(-125, scale: 1))
}

/// `portfolio.snapshot`: the account's value, as the ESS and the dashboard read it.
public struct PortfolioSnapshot: EventPayload {
    public static let eventType = EventType.portfolioSnapshot
    /// Cash plus positions at market, in the quote currency; never negative.
    public var equity: Money
    /// Equity now against equity at 00:00 UTC.
    public var dailyPnl: Money

    public init(equity: Money, dailyPnl: Money) {
        self.equity = equity
        self.dailyPnl = dailyPnl
    }

    public init?(reading reader: PayloadReader) {
        let equity: Money? = reader.amount("equity")
        let dailyPnl: Money? = reader.amount("dailyPnl")
        if let equity, equity < .zero { reader.report("equity", "must not be negative, got \(equity)") }
        guard let equity, let dailyPnl, equity >= .zero else { return nil }
        self.init(equity: equity, dailyPnl: dailyPnl)
    }

    public var json: JSONValue { .object(["equity": .amount(equity), "dailyPnl": .amount(dailyPnl)]) }

    public static let example = PortfolioSnapshot(equity: Money(1_000_000, scale: 2), dailyPnl: Money(-1_250, scale: 2))
}
