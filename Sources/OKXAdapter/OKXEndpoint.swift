// OKXAdapter: the second venue. OKX's v5 REST API for the market data Vakt falls back to when
// Binance's feed is down or its IP banned: the server's time, spot instruments (Binance's
// `BTCUSDT` is OKX's `BTC-USDT`), recent trades. Each endpoint is paced to OKX's own limit,
// and every reply is read strictly: `{code, msg, data}` with code "0", or an error naming the
// field or OKX's code and message.

/// The OKX endpoints Vakt calls, each with OKX's limit: requests per two seconds, per IP.
public enum OKXEndpoint: String, Sendable, CaseIterable {
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

    /// The endpoint a request path names, if it is one of these.
    public init?(path: String) {
        guard path.hasPrefix("/api/v5/"), let endpoint = OKXEndpoint(rawValue: String(path.dropFirst("/api/v5/".count))) else {
            return nil
        }
        self = endpoint
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
