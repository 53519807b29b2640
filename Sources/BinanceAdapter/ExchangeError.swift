import Binance

/// Why an exchange call did not give its answer, in the terms a caller acts on.
public enum ExchangeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Refused before sending: the symbol's filters would refuse it (-1013 never earned).
    case refusedLocally(FilterFailure)
    /// The request itself is wrong for this adapter (an unknown symbol, a bad client order id).
    case invalidRequest(String)
    /// The exchange answered no, definitively (Binance's code and message).
    case rejected(BinanceError)
    /// 418: the IP is banned; nothing is sent until then (ms on the exchange's clock).
    case banned(until: Int64)
    /// Still over a limit after the pauses allowed; nothing was processed.
    case rateLimited(until: Int64)
    /// A new order's outcome was looked for and it is not at the exchange: it was never
    /// placed, so placing it again is safe.
    case notPlaced(clientOrderId: String)
    /// A new order's outcome could not be learned (the exchange is unreachable or erring);
    /// it may have been placed. Never resend blind: reconcile later.
    case outcomeUnknown(clientOrderId: String, reason: String)
    /// The exchange answered something this adapter cannot read; names the field.
    case malformedReply(endpoint: String, problem: String)
    /// No answer: connection refused, reset, timed out. For a read, nothing happened.
    case unreachable(String)
    /// The adapter has not read `exchangeInfo` yet.
    case notConnected

    public var description: String {
        switch self {
        case .refusedLocally(let failure): "refused before sending: \(failure)"
        case .invalidRequest(let reason): "invalid request: \(reason)"
        case .rejected(let error): "rejected: \(error)"
        case .banned(let until): "IP banned (418) until \(until)"
        case .rateLimited(let until): "rate limited until \(until)"
        case .notPlaced(let id): "order \(id) is not at the exchange: never placed"
        case .outcomeUnknown(let id, let reason): "order \(id): outcome unknown (\(reason))"
        case .malformedReply(let endpoint, let problem): "unreadable reply from \(endpoint): \(problem)"
        case .unreachable(let reason): "exchange unreachable: \(reason)"
        case .notConnected: "not connected: exchangeInfo not read yet"
        }
    }
}

/// Something the operators and the risk service must hear of at once.
public enum ExchangeIncident: Sendable, Equatable {
    /// 418: the IP is banned until then; trading cannot go on.
    case banned(until: Int64, message: String)
    /// A 429 (or -1015): the adapter paused for `retryAfter` ms.
    case rateLimited(code: Int, retryAfter: Int64)
}
