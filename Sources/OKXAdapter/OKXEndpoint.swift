// OKXAdapter: the second venue. OKX's v5 REST API for the market data Vakt falls back to when
// Binance's feed is down or its IP banned: spot instruments (Binance's `BTCUSDT` is OKX's
// `BTC-USDT`) and recent trades. Each endpoint is paced to OKX's own limit, and every reply is
// read strictly: `{code, msg, data}` with code "0", or an error naming the field or OKX's code
// and message. The paper exchange answers the same endpoints (and the server's time).

/// The OKX endpoints Vakt speaks (the client reads instruments and trades; the paper exchange
/// answers all three), each with OKX's limit: requests per two seconds, per IP.
public enum OKXEndpoint: String, Sendable {
    case time = "public/time"
    case instruments = "public/instruments"
    case trades = "market/trades"

    /// The request path: `/api/v5/…`.
    public var path: String { "/api/v5/" + rawValue }

    /// OKX's published limit for the endpoint (requests per ``OKXRequestWindows/window``).
    public var limit: Int {
        switch self {
        case .time: 10
        case .instruments: 20
        case .trades: 100
        }
    }

}

/// OKX's error codes that Vakt tells apart, and their messages as OKX words them.
public enum OKXCode {
    public static let ok = "0"
    public static let tooManyRequests = "50011"
    public static let parameterEmpty = "50014"
    public static let parameterError = "51000"
    public static let instrumentUnknown = "51001"
}
