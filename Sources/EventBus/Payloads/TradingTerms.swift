/// Which way an order trades (Binance's `side`).
public enum OrderSide: String, Sendable, CaseIterable, Codable {
    case buy = "BUY"
    case sell = "SELL"
}

/// The kinds of order the system places (Binance's `type`).
public enum OrderKind: String, Sendable, CaseIterable, Codable {
    case market = "MARKET"
    case limit = "LIMIT"
}
