/// Why bytes are not JSON: the reason and the byte offset where it was found.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String
    public var offset: Int
    public var description: String { "\(reason) at byte \(offset)" }
}

extension JSONValue {
    /// Parses one JSON text (RFC 8259, strictly: no trailing commas, comments, bare words,
    /// leading zeros, invalid UTF-8, unpaired surrogates or duplicate keys; whitespace around it).
    ///
    /// Written by hand because it runs for every consumed event: decoding into this enum through
    /// `JSONDecoder` took nearly all of a consumer's time (each value tried as five types in turn),
    /// and no chosen dependency parses JSON into an untyped value.
    public init(parsing bytes: some Collection<UInt8>) throws(JSONParseError) {
        self = try JSONParser.parse(bytes) { parser throws(JSONParseError) in try parser.document() }
    }
}

/// A recursive-descent parser over a byte buffer.
struct JSONParser {
    /// Deeper nesting is refused rather than risking the stack.
    static let maximumDepth = 512

    private let bytes: UnsafeBufferPointer<UInt8>
    private var position = 0
    private var depth = 0
    /// Key, value and the key's offset of the objects being read, innermost last.
    private var members: [(String, JSONValue, Int)] = []

    init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    /// Runs `body` with a parser over `bytes` (copied only if they are not contiguous).
    static func parse<Value>(
        _ bytes: some Collection<UInt8>, _ body: (inout JSONParser) throws(JSONParseError) -> Value
    ) throws(JSONParseError) -> Value {
        func run(_ buffer: UnsafeBufferPointer<UInt8>) -> Result<Value, JSONParseError> {
            var parser = JSONParser(buffer)
            return Result { () throws(JSONParseError) in try body(&parser) }
        }
        return try (bytes.withContiguousStorageIfAvailable(run) ?? Array(bytes).withUnsafeBufferPointer(run)).get()
    }

    mutating func document() throws(JSONParseError) -> JSONValue {
        skipWhitespace()
        let value = try self.value()
        skipWhitespace()
        guard position == bytes.count else { throw fail("unexpected content after the JSON value") }
        return value
    }

    private func fail(_ reason: String) -> JSONParseError { JSONParseError(reason: reason, offset: position) }

    private var current: UInt8? { position < bytes.count ? bytes[position] : nil }

    private mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    private mutating func value() throws(JSONParseError) -> JSONValue {
        guard let byte = current else { throw fail("unexpected end of input") }
        switch byte {
        case UInt8(ascii: "{"): return try object()
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): return try literal("true", .bool(true))
        case UInt8(ascii: "f"): return try literal("false", .bool(false))
        case UInt8(ascii: "n"): return try literal("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        default: throw fail("unexpected character \(Self.describe(byte))")
        }
    }

    private mutating func literal(_ word: String, _ value: JSONValue) throws(JSONParseError) -> JSONValue {
        let expected = word.utf8
        guard bytes.count - position >= expected.count, zip(bytes[position...], expected).allSatisfy({ $0 == $1 }) else {
            throw fail("unexpected word; expected \(word)")
        }
        position += expected.count
        return value
    }

    private mutating func nest() throws(JSONParseError) {
        depth += 1
        guard depth <= Self.maximumDepth else { throw fail("nested deeper than \(Self.maximumDepth) levels") }
        position += 1
        skipWhitespace()
    }

    private mutating func object() throws(JSONParseError) -> JSONValue {
        let first = try readMembers()
        var object = [String: JSONValue](minimumCapacity: members.count - first)
        for (key, member, keyStart) in members[first...] {
            guard object.updateValue(member, forKey: key) == nil else {
                throw JSONParseError(reason: "duplicate key \"\(key)\"", offset: keyStart)
            }
        }
        members.removeSubrange(first...)
        return .object(object)
    }

    /// A document that is one object, as its members in their order, without the dictionary
    /// (for a reader that knows the keys it wants); nil for a document that is another value.
    mutating func objectDocument() throws(JSONParseError) -> [(key: String, value: JSONValue)]? {
        skipWhitespace()
        guard current == UInt8(ascii: "{") else {
            _ = try document()
            return nil
        }
        let first = try readMembers()
        skipWhitespace()
        guard position == bytes.count else { throw fail("unexpected content after the JSON value") }
        for index in first..<members.count {
            for earlier in first..<index where members[earlier].0 == members[index].0 {
                throw JSONParseError(reason: "duplicate key \"\(members[index].0)\"", offset: members[index].2)
            }
        }
        defer { members.removeSubrange(first...) }
        return members[first...].map { (key: $0.0, value: $0.1) }
    }

    /// Reads an object's members onto ``members`` and returns where they start there. They wait
    /// on one stack shared by all objects, so that each dictionary is made at its final size:
    /// growing one key by key rehashed every key several times.
    private mutating func readMembers() throws(JSONParseError) -> Int {
        try nest()
        let first = members.count
        if current == UInt8(ascii: "}") {
            position += 1
            depth -= 1
            return first
        }
        while true {
            guard current == UInt8(ascii: "\"") else { throw fail("expected a string key") }
            let keyStart = position
            let key = try string()
            skipWhitespace()
            guard current == UInt8(ascii: ":") else { throw fail("expected \":\" after the key") }
            position += 1
            skipWhitespace()
            members.append((key, try value(), keyStart))
            skipWhitespace()
            switch current {
            case UInt8(ascii: ",")?:
                position += 1
                skipWhitespace()
            case UInt8(ascii: "}")?:
                position += 1
                depth -= 1
                return first
            default: throw fail("expected \",\" or \"}\" in an object")
            }
        }
    }

    private mutating func array() throws(JSONParseError) -> JSONValue {
        try nest()
        var items: [JSONValue] = []
        if current == UInt8(ascii: "]") {
            position += 1
            depth -= 1
            return .array(items)
        }
        while true {
            items.append(try value())
            skipWhitespace()
            switch current {
            case UInt8(ascii: ",")?:
                position += 1
                skipWhitespace()
            case UInt8(ascii: "]")?:
                position += 1
                depth -= 1
                return .array(items)
            default: throw fail("expected \",\" or \"]\" in an array")
            }
        }
    }

    private mutating func string() throws(JSONParseError) -> String {
        position += 1  // the opening quote
        let start = position
        // Most strings have no escapes: their bytes become the string whole, and most are
        // ASCII, which needs no UTF-8 validation of its own.
        var highBits: UInt8 = 0
        while position < bytes.count {
            let byte = bytes[position]
            highBits |= byte
            if byte == UInt8(ascii: "\"") {
                let slice = UnsafeBufferPointer(rebasing: bytes[start..<position])
                guard highBits < 0x80 || Self.isValidUTF8(slice) else {
                    throw JSONParseError(reason: "invalid UTF-8 in a string", offset: start)
                }
                position += 1
                return String(decoding: slice, as: UTF8.self)
            }
            if byte == UInt8(ascii: "\\") { break }
            guard byte >= 0x20 else { throw fail("unescaped control character in a string") }
            position += 1
        }
        var decoded = Array(bytes[start..<position])
        while position < bytes.count {
            let byte = bytes[position]
            switch byte {
            case UInt8(ascii: "\""):
                let valid = decoded.withUnsafeBufferPointer(Self.isValidUTF8)
                guard valid else { throw JSONParseError(reason: "invalid UTF-8 in a string", offset: start) }
                position += 1
                return String(decoding: decoded, as: UTF8.self)
            case UInt8(ascii: "\\"):
                position += 1
                try escape(into: &decoded)
            case ..<0x20: throw fail("unescaped control character in a string")
            default:
                decoded.append(byte)
                position += 1
            }
        }
        throw fail("unterminated string")
    }

    /// Well-formed UTF-8 (Unicode table 3-7: no overlongs, surrogates or values past U+10FFFF).
    /// By hand: `String(validating:)` is generic and not specialized here, and looked up type
    /// metadata on every call, the larger part of a parse.
    static func isValidUTF8(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var index = 0
        let count = bytes.count
        while index < count {
            let lead = bytes[index]
            if lead < 0x80 {
                index += 1
                continue
            }
            let length: Int
            var low: UInt8 = 0x80
            var high: UInt8 = 0xBF
            switch lead {
            case 0xC2...0xDF: length = 2
            case 0xE0:
                length = 3
                low = 0xA0
            case 0xED:
                length = 3
                high = 0x9F
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xF0:
                length = 4
                low = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4:
                length = 4
                high = 0x8F
            default: return false
            }
            guard count - index >= length, (low...high).contains(bytes[index + 1]) else { return false }
            for offset in 2..<length where !(0x80...0xBF).contains(bytes[index + offset]) { return false }
            index += length
        }
        return true
    }

    /// One escape after its backslash, appended as UTF-8.
    private mutating func escape(into output: inout [UInt8]) throws(JSONParseError) {
        guard let byte = current else { throw fail("unterminated string") }
        position += 1
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): output.append(byte)
        case UInt8(ascii: "b"): output.append(0x08)
        case UInt8(ascii: "f"): output.append(0x0C)
        case UInt8(ascii: "n"): output.append(0x0A)
        case UInt8(ascii: "r"): output.append(0x0D)
        case UInt8(ascii: "t"): output.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = UInt32(try hexQuad())
            if (0xD800...0xDBFF).contains(scalar) {
                guard bytes.count - position >= 2, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u")
                else { throw fail("unpaired surrogate in a \\u escape") }
                position += 2
                let low = UInt32(try hexQuad())
                guard (0xDC00...0xDFFF).contains(low) else { throw fail("unpaired surrogate in a \\u escape") }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00...0xDFFF).contains(scalar) {
                throw fail("unpaired surrogate in a \\u escape")
            }
            output.append(contentsOf: String(Character(Unicode.Scalar(scalar)!)).utf8)
        default:
            position -= 1
            throw fail("invalid escape \\\(Self.describe(byte))")
        }
    }

    private mutating func hexQuad() throws(JSONParseError) -> UInt16 {
        guard bytes.count - position >= 4 else { throw fail("a \\u escape needs four hex digits") }
        var value: UInt16 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw fail("a \\u escape needs four hex digits")
            }
            value = value << 4 | UInt16(digit)
            position += 1
        }
        return value
    }

    private mutating func number() throws(JSONParseError) -> Double {
        let start = position
        if current == UInt8(ascii: "-") { position += 1 }
        // Integers of up to 15 digits are exact in a Double and need no text conversion.
        var integer: Int64 = 0
        let digitsStart = position
        guard let first = current, Self.isDigit(first) else { throw fail("a number needs a digit") }
        while let byte = current, Self.isDigit(byte) {
            if position - digitsStart < 15 { integer = integer * 10 + Int64(byte - UInt8(ascii: "0")) }
            position += 1
        }
        let digitCount = position - digitsStart
        guard first != UInt8(ascii: "0") || digitCount == 1 else {
            throw JSONParseError(reason: "a number has a leading zero", offset: digitsStart)
        }
        var isInteger = digitCount <= 15
        if current == UInt8(ascii: ".") {
            isInteger = false
            position += 1
            guard let byte = current, Self.isDigit(byte) else { throw fail("a number needs a digit after \".\"") }
            while let byte = current, Self.isDigit(byte) { position += 1 }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            isInteger = false
            position += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
            guard let byte = current, Self.isDigit(byte) else { throw fail("a number needs a digit in its exponent") }
            while let byte = current, Self.isDigit(byte) { position += 1 }
        }
        if isInteger { return Double(bytes[start] == UInt8(ascii: "-") ? -integer : integer) }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        guard let number = Double(text), number.isFinite else {
            throw JSONParseError(reason: "number \(text) is out of range", offset: start)
        }
        return number
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    private static func describe(_ byte: UInt8) -> String {
        (0x21..<0x7F).contains(byte) ? "\"\(Character(Unicode.Scalar(byte)))\"" : "0x\(String(byte, radix: 16))"
    }
}
