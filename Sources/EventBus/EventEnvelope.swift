import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Every event on the bus: `id` (time-ordered, unique; consumers deduplicate by it), `type`,
/// `source` (the publishing service), `occurredAt`, `schemaVersion`, `payload`.
public struct EventEnvelope: Sendable, Equatable {
    public var id: String
    public var type: EventType
    public var source: String
    public var occurredAt: Date
    public var schemaVersion: Int
    public var payload: JSONValue

    public init(
        id: String = EventID.make(), type: EventType, source: String, occurredAt: Date = Date(), schemaVersion: Int = 1,
        payload: JSONValue
    ) {
        self.id = id
        self.type = type
        self.source = source
        self.occurredAt = occurredAt
        self.schemaVersion = schemaVersion
        self.payload = payload
    }

    /// The JSON stored in the stream entry's `envelope` field, keys sorted.
    public func encoded() -> Data { Data(encodedBytes()) }

    /// The same JSON as bytes, for writers that need no `Data`.
    public func encodedBytes() -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(512)
        output.append(contentsOf: "{\"id\":".utf8)
        JSONValue.write(string: id, into: &output)
        output.append(contentsOf: ",\"occurredAt\":\"".utf8)
        Self.write(timestamp: occurredAt, into: &output)
        output.append(contentsOf: "\",\"payload\":".utf8)
        payload.write(into: &output)
        output.append(contentsOf: ",\"schemaVersion\":".utf8)
        JSONValue.write(integer: Int64(schemaVersion), into: &output)
        output.append(contentsOf: ",\"source\":".utf8)
        JSONValue.write(string: source, into: &output)
        output.append(contentsOf: ",\"type\":".utf8)
        JSONValue.write(string: type.rawValue, into: &output)
        output.append(UInt8(ascii: "}"))
        return output
    }

    static let timeFormat = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    /// An ISO 8601 time with or without fractional seconds.
    public static func parseTimestamp(_ text: String) -> Date? {
        (try? Date(text, strategy: timeFormat)) ?? (try? Date(text, strategy: .iso8601))
    }

    /// `2026-11-27T01:19:01.123Z`.
    public static func timestamp(_ date: Date) -> String {
        var bytes: [UInt8] = []
        write(timestamp: date, into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The same, formatted by hand into the output: this runs for every published event.
    static func write(timestamp date: Date, into output: inout [UInt8]) {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var seconds = time_t(milliseconds.quotientAndRemainder(dividingBy: 1000).quotient)
        var remainder = Int(milliseconds - Int64(seconds) * 1000)
        if remainder < 0 {
            remainder += 1000
            seconds -= 1
        }
        var parts = tm()
        gmtime_r(&seconds, &parts)
        // "yyyy-MM-ddTHH:mm:ss.SSSZ": fixed widths, no intermediate strings.
        func put(_ value: Int, width: Int, then separator: Unicode.Scalar?) {
            var divisor = 1
            for _ in 1..<width { divisor *= 10 }
            var remaining = value
            while divisor > 0 {
                output.append(UInt8(ascii: "0") + UInt8(remaining / divisor % 10))
                remaining %= divisor
                divisor /= 10
            }
            if let separator { output.append(UInt8(ascii: separator)) }
        }
        put(Int(parts.tm_year) + 1900, width: 4, then: "-")
        put(Int(parts.tm_mon) + 1, width: 2, then: "-")
        put(Int(parts.tm_mday), width: 2, then: "T")
        put(Int(parts.tm_hour), width: 2, then: ":")
        put(Int(parts.tm_min), width: 2, then: ":")
        put(Int(parts.tm_sec), width: 2, then: ".")
        put(remainder, width: 3, then: "Z")
    }
}

/// Why bytes are not a valid envelope; the reason names the field.
public struct EnvelopeError: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String
    public var description: String { reason }
}

extension EventEnvelope {
    /// Decodes an envelope, rejecting anything malformed with a reason that names the field.
    public static func decode(_ bytes: some Collection<UInt8>, maximumBytes: Int) throws(EnvelopeError) -> EventEnvelope {
        guard bytes.count <= maximumBytes else {
            throw EnvelopeError(reason: "envelope of \(bytes.count) bytes exceeds the \(maximumBytes)-byte limit")
        }
        let json: JSONValue
        do {
            json = try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
        } catch {
            throw EnvelopeError(reason: "not JSON")
        }
        guard case .object(let object) = json else { throw EnvelopeError(reason: "envelope is not a JSON object") }
        func string(_ key: String) throws(EnvelopeError) -> String {
            guard let value = object[key] else { throw EnvelopeError(reason: "missing field \"\(key)\"") }
            guard case .string(let text) = value, !text.isEmpty else {
                throw EnvelopeError(reason: "field \"\(key)\" is not a non-empty string")
            }
            return text
        }
        let id = try string("id")
        let typeName = try string("type")
        guard let type = EventType(rawValue: typeName) else { throw EnvelopeError(reason: "unknown event type \"\(typeName)\"") }
        let source = try string("source")
        let occurredText = try string("occurredAt")
        guard let occurredAt = parseTimestamp(occurredText) else {
            throw EnvelopeError(reason: "field \"occurredAt\" is not an ISO 8601 time: \"\(occurredText)\"")
        }
        guard let versionValue = object["schemaVersion"] else { throw EnvelopeError(reason: "missing field \"schemaVersion\"") }
        guard case .number(let version) = versionValue, version >= 1, version == version.rounded(), version <= Double(Int32.max) else {
            throw EnvelopeError(reason: "field \"schemaVersion\" is not a positive integer")
        }
        guard let payload = object["payload"] else { throw EnvelopeError(reason: "missing field \"payload\"") }
        return EventEnvelope(id: id, type: type, source: source, occurredAt: occurredAt, schemaVersion: Int(version), payload: payload)
    }
}

/// Time-ordered unique ids: UUIDv7 (RFC 9562), 48 bits of Unix milliseconds then randomness.
public enum EventID {
    public static func make(now: Date = Date()) -> String {
        var bytes = [UInt8](repeating: 0, count: 16)
        let milliseconds = UInt64(max(0, now.timeIntervalSince1970 * 1000))
        for index in 0..<6 { bytes[index] = UInt8((milliseconds >> (8 * (5 - index))) & 0xff) }
        var generator = SystemRandomNumberGenerator()
        for index in 6..<16 { bytes[index] = generator.next() }
        bytes[6] = (bytes[6] & 0x0f) | 0x70
        bytes[8] = (bytes[8] & 0x3f) | 0x80
        let hex = bytes.map { String(format: "%02x", $0) }.joined()
        let characters = Array(hex)
        return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(characters[$0]) }.joined(separator: "-")
    }
}
