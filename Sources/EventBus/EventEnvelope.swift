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

    /// 2001-01-01, where `Date` counts from, in Unix milliseconds.
    static let referenceDateMilliseconds = Int64(Date.timeIntervalBetween1970AndReferenceDate * 1000)

    static let timeFormat = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    /// An ISO 8601 time with or without fractional seconds.
    public static func parseTimestamp(_ text: String) -> Date? {
        parseWrittenTimestamp(text) ?? (try? Date(text, strategy: timeFormat)) ?? (try? Date(text, strategy: .iso8601))
    }

    /// The shape ``write(timestamp:into:)`` writes, `yyyy-MM-ddTHH:mm:ss.SSSZ`, read by hand: it
    /// is on every consumed event, and the format styles took longer than the rest of the decode.
    static func parseWrittenTimestamp(_ text: String) -> Date? {
        var text = text
        return text.withUTF8 { bytes -> Date? in
            guard bytes.count == 24, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"), bytes[10] == UInt8(ascii: "T"),
                bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"), bytes[19] == UInt8(ascii: "."),
                bytes[23] == UInt8(ascii: "Z")
            else { return nil }
            func digits(_ range: Range<Int>) -> Int? {
                var value = 0
                for index in range {
                    let digit = Int(bytes[index]) - Int(UInt8(ascii: "0"))
                    guard (0...9).contains(digit) else { return nil }
                    value = value * 10 + digit
                }
                return value
            }
            guard let year = digits(0..<4), let month = digits(5..<7), let day = digits(8..<10), let hour = digits(11..<13),
                let minute = digits(14..<16), let second = digits(17..<19), let millisecond = digits(20..<23),
                (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day), hour < 24, minute < 60,
                second < 60
            else { return nil }
            let seconds = ((daysSinceEpoch(year: year, month: month, day: day) * 24 + hour) * 60 + minute) * 60 + second
            let sinceReference = seconds * 1000 + millisecond - Int(referenceDateMilliseconds)
            return Date(timeIntervalSinceReferenceDate: Double(sinceReference) / 1000)
        }
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
    private static func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int {
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// `2026-11-27T01:19:01.123Z`.
    public static func timestamp(_ date: Date) -> String {
        var bytes: [UInt8] = []
        write(timestamp: date, into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The same, formatted by hand into the output: this runs for every published event.
    static func write(timestamp date: Date, into output: inout [UInt8]) {
        // Date counts from 2001: from there, with a microsecond of slack, so that a time read
        // back from its own text (k/1000 s, inexact in binary) writes the same millisecond.
        let sinceReference = Int64((date.timeIntervalSinceReferenceDate * 1000 + 0.001).rounded(.down))
        let milliseconds = sinceReference + referenceDateMilliseconds
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
        // The envelope's own keys are looked up in its members as read: no dictionary for them.
        let object: [(key: String, value: JSONValue)]?
        do {
            object = try JSONParser.parse(bytes) { parser throws(JSONParseError) in try parser.objectDocument() }
        } catch {
            throw EnvelopeError(reason: "not JSON: \(error)")
        }
        guard let members = object else { throw EnvelopeError(reason: "envelope is not a JSON object") }
        func field(_ key: String) -> JSONValue? { members.first { $0.key == key }?.value }
        func string(_ key: String) throws(EnvelopeError) -> String {
            guard let value = field(key) else { throw EnvelopeError(reason: "missing field \"\(key)\"") }
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
        guard let versionValue = field("schemaVersion") else { throw EnvelopeError(reason: "missing field \"schemaVersion\"") }
        guard case .number(let version) = versionValue, version >= 1, version == version.rounded(), version <= Double(Int32.max) else {
            throw EnvelopeError(reason: "field \"schemaVersion\" is not a positive integer")
        }
        guard let payload = field("payload") else { throw EnvelopeError(reason: "missing field \"payload\"") }
        return EventEnvelope(id: id, type: type, source: source, occurredAt: occurredAt, schemaVersion: Int(version), payload: payload)
    }
}

/// Time-ordered unique ids: UUIDv7 (RFC 9562), 48 bits of Unix milliseconds then randomness.
public enum EventID {
    public static func make(now: Date = Date()) -> String {
        var bytes = [UInt8](repeating: 0, count: 16)
        let milliseconds = UInt64(max(0, now.timeIntervalSince1970 * 1000))
        for index in 0..<6 { bytes[index] = UInt8((milliseconds >> (8 * (5 - index))) & 0xff) }
        // Two draws for the ten random bytes: each draw is a system call.
        var generator = SystemRandomNumberGenerator()
        let random = [generator.next() as UInt64, generator.next() as UInt64]
        for index in 6..<16 { bytes[index] = UInt8(truncatingIfNeeded: random[index / 8] >> (8 * (index % 8))) }
        bytes[6] = (bytes[6] & 0x0f) | 0x70
        bytes[8] = (bytes[8] & 0x3f) | 0x80
        // By hand: String(format:) per byte took a third of a publisher's time.
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(36)
        for (index, byte) in bytes.enumerated() {
            if index == 4 || index == 6 || index == 8 || index == 10 { text.append(UInt8(ascii: "-")) }
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
