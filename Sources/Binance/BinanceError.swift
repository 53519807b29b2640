/// An error as Binance answers it: `{"code": -1121, "msg": "Invalid symbol."}` with its HTTP
/// status. The messages are Binance's own (errors.md), so clients that match on them (ccxt
/// does) behave against the paper exchange as against Binance.
public struct BinanceError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: Int
    public var msg: String
    public var httpStatus: Int

    public init(code: Int, msg: String, httpStatus: Int = 400) {
        self.code = code
        self.msg = msg
        self.httpStatus = httpStatus
    }

    public var description: String { "Binance error \(code): \(msg)" }

    public static func mandatory(_ parameter: String) -> BinanceError {
        BinanceError(code: -1102, msg: "Mandatory parameter '\(parameter)' was not sent, was empty/null, or malformed.")
    }

    public static func notRequired(_ parameter: String) -> BinanceError {
        BinanceError(code: -1106, msg: "Parameter '\(parameter)' sent when not required.")
    }

    public static func illegalCharacters(_ parameter: String) -> BinanceError {
        BinanceError(
            code: -1100, msg: "Illegal characters found in parameter '\(parameter)'; legal range is '^([0-9]{1,20})(\\.[0-9]{1,20})?$'.")
    }

    public static let badSymbol = BinanceError(code: -1121, msg: "Invalid symbol.")
    public static let badSide = BinanceError(code: -1117, msg: "Invalid side.")
    public static let badOrderType = BinanceError(code: -1116, msg: "Invalid orderType.")
    public static let badTimeInForce = BinanceError(code: -1115, msg: "Invalid timeInForce.")
    public static let badSignature = BinanceError(code: -1022, msg: "Signature for this request is not valid.")
    public static let badAPIKey = BinanceError(code: -2015, msg: "Invalid API-key, IP, or permissions for action.", httpStatus: 401)
    public static let timestampAhead = BinanceError(code: -1021, msg: "Timestamp for this request was 1000ms ahead of the server's time.")
    public static let outsideRecvWindow = BinanceError(code: -1021, msg: "Timestamp for this request is outside of the recvWindow.")

    public static func filter(_ failure: FilterFailure) -> BinanceError {
        BinanceError(code: -1013, msg: failure.message)
    }
}

/// Exact arithmetic in Binance's terms: amounts that overflow (out of any real order's range)
/// are refused as Binance refuses an impossible amount, never trapped.
public func exact<T>(_ body: () throws -> T) throws(BinanceError) -> T {
    do {
        return try body()
    } catch {
        throw BinanceError(code: -1013, msg: "Price * QTY is zero or less.")
    }
}

extension BinanceError {
    /// -1001: the server failed before processing (HTTP 5xx).
    public static let internalError = BinanceError(
        code: -1001, msg: "Internal error; unable to process your request. Please try again.", httpStatus: 503)
    /// -1007: the backend did not answer in time; the order may or may not have executed.
    public static let statusUnknown = BinanceError(
        code: -1007, msg: "Timeout waiting for response from backend server. Send status unknown; execution status unknown.",
        httpStatus: 503)
}
