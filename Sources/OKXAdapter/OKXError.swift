/// Why an OKX call did not give its answer.
public enum OKXError: Error, Sendable, Equatable, CustomStringConvertible {
    /// OKX answered with an error code (`code` other than "0") and its message.
    case rejected(code: String, message: String)
    /// Over OKX's limit for the endpoint (429 / 50011); nothing is sent to it until then (ms).
    case rateLimited(until: Int64)
    /// The reply cannot be read; names the field.
    case malformedReply(endpoint: String, problem: String)
    /// No answer: refused, reset, timed out, or a 5xx.
    case unreachable(String)

    public var description: String {
        switch self {
        case .rejected(let code, let message): "OKX error \(code): \(message)"
        case .rateLimited(let until): "OKX rate limit: paused until \(until)"
        case .malformedReply(let endpoint, let problem): "unreadable reply from OKX \(endpoint): \(problem)"
        case .unreachable(let reason): "OKX unreachable: \(reason)"
        }
    }
}
