// OKXAdapter: the second venue. OKX's v5 REST API for the market data Vakt falls back to when
// Binance's feed is down or its IP banned: spot instruments (Binance's `BTCUSDT` is OKX's
// `BTC-USDT`) and recent trades. Each endpoint is paced to OKX's own limit, and every reply is
// read strictly: `{code, msg, data}` with code "0", or an error naming the field or OKX's code
// and message. The paper exchange answers the same endpoints (and the server's time), and
// OKX's private trading and account endpoints, signed as OKX signs them (``OKXSignature``).

/// The OKX endpoints Vakt speaks, each with OKX's limit: requests per two seconds (per IP for
/// the public ones, per account for the private ones). The raw value names the endpoint in
/// logs and errors; a POST says so, as OKX has a GET on the same path.
public enum OKXEndpoint: String, Sendable, CaseIterable {
    case time = "public/time"
    case instruments = "public/instruments"
    case trades = "market/trades"
    case placeOrder = "POST trade/order"
    case cancelOrder = "POST trade/cancel-order"
    case order = "trade/order"
    case balance = "account/balance"
    case fills = "trade/fills"
    case fillsHistory = "trade/fills-history"

    static let postPrefix = "POST "

    /// GET or POST.
    public var method: String { rawValue.hasPrefix(Self.postPrefix) ? "POST" : "GET" }

    /// The path under `/api/v5/`.
    public var route: String { rawValue.hasPrefix(Self.postPrefix) ? String(rawValue.dropFirst(Self.postPrefix.count)) : rawValue }

    /// The request path: `/api/v5/…`.
    public var path: String { "/api/v5/" + route }

    /// Whether OKX asks for the account's signature (`OK-ACCESS-*` headers).
    public var isPrivate: Bool {
        switch self {
        case .time, .instruments, .trades: false
        case .placeOrder, .cancelOrder, .order, .balance, .fills, .fillsHistory: true
        }
    }

    /// OKX's published limit for the endpoint (requests per ``OKXRequestWindows/window``).
    public var limit: Int {
        switch self {
        case .time, .balance, .fillsHistory: 10
        case .instruments: 20
        case .placeOrder, .cancelOrder, .order, .fills: 60
        case .trades: 100
        }
    }
}

/// OKX's error codes that Vakt tells apart, and their messages as OKX words them.
public enum OKXCode {
    public static let ok = "0"
    /// A request of several operations (one order is one) where every one failed: each item's
    /// `sCode` and `sMsg` say why.
    public static let allFailed = "1"
    public static let jsonFormat = "50002"
    public static let tooManyRequests = "50011"
    public static let parameterEmpty = "50014"
    public static let timestampExpired = "50102"
    public static let keyEmpty = "50103"
    public static let passphraseEmpty = "50104"
    public static let passphraseWrong = "50105"
    public static let signEmpty = "50106"
    public static let timestampEmpty = "50107"
    public static let keyInvalid = "50111"
    public static let timestampInvalid = "50112"
    public static let signInvalid = "50113"
    public static let parameterError = "51000"
    public static let instrumentUnknown = "51001"
    public static let priceOutOfLimit = "51006"
    public static let insufficientBalance = "51008"
    public static let duplicateClientOrderId = "51016"
    public static let belowMinimum = "51020"
    public static let notLotSizeMultiple = "51121"
    public static let cancelFailed = "51400"
    public static let orderUnknown = "51603"
}
