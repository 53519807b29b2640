#if canImport(Glibc)
    import Glibc
#endif

/// Reads one line of an exposition byte by byte.
struct Cursor {
    let bytes: UnsafeBufferPointer<UInt8>
    var position = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    var atEnd: Bool { position >= bytes.count }
    var peek: UInt8 { bytes[position] }
    var rest: ArraySlice<UInt8> { Array(bytes[position...])[...] }

    mutating func advance() { position += 1 }

    /// FNV-1a over the bytes in `range`, from `seed`.
    func hash(_ range: Range<Int>, seed: UInt64) -> UInt64 {
        var hash = seed
        for index in range {
            hash ^= UInt64(bytes[index])
            hash &*= 0x100_0000_01b3
        }
        return hash
    }

    mutating func take(_ byte: UInt8) -> Bool {
        guard !atEnd, bytes[position] == byte else { return false }
        position += 1
        return true
    }

    @discardableResult
    mutating func skipSpaces() -> Int {
        let start = position
        while !atEnd, bytes[position] == 0x20 || bytes[position] == 0x09 { position += 1 }
        return position - start
    }

    /// Bytes up to the next space or the end.
    mutating func token() -> UnsafeBufferPointer<UInt8> {
        let start = position
        while !atEnd, bytes[position] != 0x20, bytes[position] != 0x09 { position += 1 }
        return UnsafeBufferPointer(rebasing: bytes[start..<position])
    }

    mutating func word() -> String {
        String(decoding: token(), as: UTF8.self)
    }

    /// `[a-zA-Z_:][a-zA-Z0-9_:]*`
    mutating func metricName() -> String? {
        metricNameRange().map { String(decoding: UnsafeBufferPointer(rebasing: bytes[$0]), as: UTF8.self) }
    }

    /// Where a metric name is, without making a string of it.
    mutating func metricNameRange() -> Range<Int>? {
        let start = position
        while !atEnd {
            let byte = bytes[position]
            let letter = (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z")
            let digit = byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
            guard letter || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ":") || (digit && position > start) else { break }
            position += 1
        }
        return position > start ? start..<position : nil
    }

    func equals(_ range: Range<Int>, _ other: [UInt8]) -> Bool {
        range.count == other.count && memcmp(bytes.baseAddress! + range.lowerBound, other, range.count) == 0
    }

    /// `[a-zA-Z_][a-zA-Z0-9_]*`
    mutating func labelName() -> String? {
        let start = position
        while !atEnd {
            let byte = bytes[position]
            let letter = (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z")
            let digit = byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
            guard letter || byte == UInt8(ascii: "_") || (digit && position > start) else { break }
            position += 1
        }
        guard position > start else { return nil }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
    }

    /// A label value after its opening quote, through the closing one: `\\`, `\"` and `\n`
    /// are the only escapes; the value must be valid UTF-8.
    mutating func labelValue(line: Int) throws(ExpositionError) -> String {
        let start = position
        var escaped = false
        while !atEnd {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\\") {
                escaped = true
                position += 2
                continue
            }
            if byte == UInt8(ascii: "\"") { break }
            position += 1
        }
        guard position < bytes.count else { throw ExpositionError(line: line, reason: "label value not closed by a quote") }
        let raw = UnsafeBufferPointer(rebasing: bytes[start..<position])
        position += 1
        if !escaped {
            if !raw.contains(where: { $0 >= 0x80 }) { return String(decoding: raw, as: UTF8.self) }
            guard let text = String(validating: raw, as: UTF8.self) else {
                throw ExpositionError(line: line, reason: "label value is not valid UTF-8")
            }
            return text
        }
        return try Self.unescape(raw, quotes: true, line: line, what: "label value")
    }

    /// The rest of a `# HELP` line: `\\` and `\n` are the escapes (OpenMetrics also `\"`).
    mutating func helpText(openMetrics: Bool, line: Int) throws(ExpositionError) -> String {
        let raw = UnsafeBufferPointer(rebasing: bytes[position...])
        position = bytes.count
        return try Self.unescape(raw, quotes: openMetrics, line: line, what: "help text")
    }

    static func unescape(_ raw: UnsafeBufferPointer<UInt8>, quotes: Bool, line: Int, what: String) throws(ExpositionError) -> String {
        var output: [UInt8] = []
        output.reserveCapacity(raw.count)
        var index = 0
        while index < raw.count {
            let byte = raw[index]
            guard byte == UInt8(ascii: "\\") else {
                output.append(byte)
                index += 1
                continue
            }
            guard index + 1 < raw.count else { throw ExpositionError(line: line, reason: "\(what) ends in a lone backslash") }
            switch raw[index + 1] {
            case UInt8(ascii: "\\"): output.append(UInt8(ascii: "\\"))
            case UInt8(ascii: "n"): output.append(0x0A)
            case UInt8(ascii: "\"") where quotes: output.append(UInt8(ascii: "\""))
            default:
                if what == "help text" {
                    // 0.0.4 help text keeps any other backslash as it is.
                    output.append(contentsOf: [byte, raw[index + 1]])
                } else {
                    throw ExpositionError(line: line, reason: "invalid escape \\\(Character(UnicodeScalar(raw[index + 1]))) in \(what)")
                }
            }
            index += 2
        }
        if !output.contains(where: { $0 >= 0x80 }) { return String(decoding: output, as: UTF8.self) }
        guard let text = String(validating: output, as: UTF8.self) else {
            throw ExpositionError(line: line, reason: "\(what) is not valid UTF-8")
        }
        return text
    }
}
