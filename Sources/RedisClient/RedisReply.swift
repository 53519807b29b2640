/// A reply from Redis, in RESP2 terms.
public enum RedisReply: Sendable, Equatable {
    case status(String)
    case bulk([UInt8])
    case integer(Int64)
    case array([RedisReply])
    case null
    case error(String)

    /// The reply as text, for status and bulk replies.
    public var string: String? {
        switch self {
        case .status(let text): text
        case .bulk(let bytes): String(decoding: bytes, as: UTF8.self)
        default: nil
        }
    }

    public var integer: Int64? {
        if case .integer(let value) = self { value } else { nil }
    }

    public var array: [RedisReply]? {
        if case .array(let items) = self { items } else { nil }
    }

    /// A flat `[key, value, ...]` array reply (`XINFO`) as a dictionary.
    public var fields: [String: RedisReply] {
        guard case .array(let flat) = self else { return [:] }
        var fields: [String: RedisReply] = [:]
        for index in stride(from: 0, to: flat.count - 1, by: 2) {
            if let key = flat[index].string { fields[key] = flat[index + 1] }
        }
        return fields
    }
}

public enum RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No connection; the next reconnect attempt is not due yet.
    case unavailable(reason: String, retryIn: Duration)
    /// The connection failed during the command; it will be re-established.
    case connectionLost(String)
    /// Redis answered with an error reply.
    case server(String)
    /// The reply did not have the shape the caller expected.
    case unexpectedReply(String)

    public var description: String {
        switch self {
        case .unavailable(let reason, let retryIn):
            "Redis unavailable: \(reason) (next reconnect attempt in \(retryIn.formatted(.units(allowed: [.milliseconds]))))"
        case .connectionLost(let reason): "Redis connection lost: \(reason)"
        case .server(let message): "Redis error: \(message)"
        case .unexpectedReply(let detail): "unexpected Redis reply: \(detail)"
        }
    }
}
