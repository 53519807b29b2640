/// Binance's request weights (rest-api.md) for the endpoints Vakt uses, some by their
/// parameters; new orders also count against the ORDERS limits. The paper exchange charges
/// these and the adapter reserves them, from this one table.
public enum EndpointWeights {
    /// - Parameters:
    ///   - method: `GET`, `POST`, `DELETE`.
    ///   - path: the endpoint under `/api/v3/` (`order`, `depth`), or the whole path.
    ///   - parameters: the request's parameters (`symbol`, `limit`, `orderId` change some weights).
    public static func cost(method: String, path: String, parameters: [String: String]) -> RateLimitCounter.Cost {
        let endpoint = path.hasPrefix("/api/v3/") ? path.dropFirst("/api/v3/".count) : Substring(path)
        let oneSymbol = parameters["symbol"] != nil
        switch (method, endpoint) {
        case (_, "exchangeInfo"): return RateLimitCounter.Cost(weight: 20)
        case ("POST", "order"): return RateLimitCounter.Cost(weight: 1, orders: 1)
        case ("GET", "order"): return RateLimitCounter.Cost(weight: 4)
        case ("GET", "openOrders"): return RateLimitCounter.Cost(weight: oneSymbol ? 6 : 80)
        case ("GET", "account"), ("GET", "allOrders"): return RateLimitCounter.Cost(weight: 20)
        case ("GET", "myTrades"): return RateLimitCounter.Cost(weight: parameters["orderId"] != nil ? 5 : 20)
        case (_, "klines"), (_, "avgPrice"): return RateLimitCounter.Cost(weight: 2)
        case (_, "ticker/price"), (_, "ticker/bookTicker"): return RateLimitCounter.Cost(weight: oneSymbol ? 2 : 4)
        case (_, "ticker/24hr"): return RateLimitCounter.Cost(weight: oneSymbol ? 2 : 80)
        case (_, "depth"):
            let limit = parameters["limit"].flatMap(Int.init) ?? 100
            return RateLimitCounter.Cost(weight: limit <= 100 ? 5 : limit <= 500 ? 25 : limit <= 1_000 ? 50 : 250)
        default: return RateLimitCounter.Cost(weight: 1)
        }
    }
}
