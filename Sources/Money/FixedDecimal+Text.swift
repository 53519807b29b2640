extension FixedDecimal: CustomStringConvertible, LosslessStringConvertible {
    /// Parses a plain decimal as Binance writes amounts: an optional minus, digits, and an
    /// optional point followed by digits ("0.00010000", "-12.5", "42"). Trailing zeros past 18
    /// places are accepted; any other digit past them is an error, never rounded away. No
    /// exponents, signs other than a leading minus, spaces, or separators.
    public init(parsing text: String) throws(FixedDecimalError) {
        var bytes = Substring(text).utf8[...]
        var negative = false
        if bytes.first == UInt8(ascii: "-") {
            negative = true
            bytes = bytes.dropFirst()
        }
        var whole: UInt128 = 0
        var places = 0
        var fraction: UInt128 = 0
        var sawPoint = false
        var wholeDigits = 0
        var fractionDigits = 0
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                let digit = UInt128(byte - UInt8(ascii: "0"))
                if sawPoint {
                    fractionDigits += 1
                    if places < Self.maxScale {
                        fraction = fraction * 10 + digit
                        places += 1
                    } else if digit != 0 {
                        throw .tooManyPlaces(text)
                    }
                } else {
                    wholeDigits += 1
                    let (shifted, overflowA) = whole.multipliedReportingOverflow(by: 10)
                    let (sum, overflowB) = shifted.addingReportingOverflow(digit)
                    guard !overflowA, !overflowB else { throw .overflow("\"\(text.prefix(64))\"") }
                    whole = sum
                }
            case UInt8(ascii: "."):
                guard !sawPoint else { throw .malformed(text, reason: "more than one decimal point") }
                sawPoint = true
            default:
                let character = String(decoding: [byte], as: UTF8.self)
                throw .malformed(text, reason: "unexpected character \"\(character.isEmpty ? "?" : character)\"")
            }
        }
        guard wholeDigits > 0 else { throw .malformed(text, reason: text.isEmpty ? "empty" : "no digit before the point") }
        guard !sawPoint || fractionDigits > 0 else { throw .malformed(text, reason: "no digit after the point") }
        let fractionUnits = fraction * (try Self.powerOfTen(Self.maxScale - places))
        let (wholeUnits, overflowA) = whole.multipliedReportingOverflow(by: Self.unitsPerOne)
        let (total, overflowB) = wholeUnits.addingReportingOverflow(fractionUnits)
        guard !overflowA, !overflowB, total <= UInt128(Int128.max) else { throw .overflow("\"\(text.prefix(64))\"") }
        self.init(units: negative ? -Int128(total) : Int128(total))
    }

    /// Nil for anything ``init(parsing:)`` refuses.
    public init?(_ description: String) {
        guard let value = try? FixedDecimal(parsing: description) else { return nil }
        self = value
    }

    /// The shortest exact text: no trailing zeros, no point for a whole number ("0.0001", "12").
    public var description: String {
        let (fraction, places) = significantFraction
        let text = (isNegative ? "-" : "") + String(units.magnitude / Self.unitsPerOne)
        guard places > 0 else { return text }
        let digits = String(fraction)
        return text + "." + String(repeating: "0", count: places - digits.count) + digits
    }

    /// Exactly `places` decimal places, as an exchange wants a quantity at its step's precision
    /// ("0.00100000"); an amount with more places must be rounded first.
    public func text(places: Int) throws(FixedDecimalError) -> String {
        guard (0...Self.maxScale).contains(places) else { throw .invalidScale(places) }
        guard try rounded(scale: places, rounding: .down) == self else {
            throw .tooManyPlaces("\(self) at \(places) places")
        }
        let magnitude = units.magnitude
        var text = (isNegative ? "-" : "") + String(magnitude / Self.unitsPerOne)
        guard places > 0 else { return text }
        let fraction = String(magnitude % Self.unitsPerOne)
        let padded = String(repeating: "0", count: Self.maxScale - fraction.count) + fraction
        text += "." + padded.prefix(places)
        return text
    }

    /// How many decimal places the amount needs (a tick of "0.01000000" needs 2).
    public var places: Int { significantFraction.places }

    /// The fractional part without its trailing zeros, and how many places it takes.
    private var significantFraction: (digits: UInt128, places: Int) {
        var fraction = units.magnitude % Self.unitsPerOne
        guard fraction != 0 else { return (0, 0) }
        var places = Self.maxScale
        while fraction % 10 == 0 {
            fraction /= 10
            places -= 1
        }
        return (fraction, places)
    }
}

extension FixedDecimal: Codable {
    /// Amounts are JSON strings: a JSON number may already have passed through a binary double.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        guard let text = try? container.decode(String.self) else {
            throw DecodingError.typeMismatch(
                String.self,
                .init(
                    codingPath: decoder.codingPath, debugDescription: "an amount must be a decimal string such as \"0.001\", not a number"))
        }
        do {
            self = try FixedDecimal(parsing: text)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
