// Money: exact amounts for prices, quantities and money. Every amount is a ``FixedDecimal``, a
// signed count of 10^-18 units in an Int128, so adding and comparing are exact integer
// operations; every operation that could lose digits (a product's 36 places, a quotient) takes
// a stated scale and ``RoundingMode``; overflow is an error, never a wrap; amounts travel as
// decimal strings ("0.00010000"), never as JSON numbers. Why fixed point: docs/decisions.md.

/// Why an amount could not be made.
public enum FixedDecimalError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The text is not a plain decimal number (digits, one optional point, an optional minus).
    case malformed(String, reason: String)
    /// Exact, but more decimal places than the type keeps.
    case tooManyPlaces(String)
    /// Outside ±``FixedDecimal/max``.
    case overflow(String)
    case divisionByZero
    /// A scale outside 0...18.
    case invalidScale(Int)
    /// A step or tick that is zero or negative.
    case invalidStep(String)

    public var description: String {
        switch self {
        case .malformed(let text, let reason): "\"\(text.prefix(64))\" is not a decimal number: \(reason)"
        case .tooManyPlaces(let text): "\"\(text.prefix(64))\" has more than \(FixedDecimal.maxScale) decimal places"
        case .overflow(let operation): "\(operation) is out of range (±\(FixedDecimal.max))"
        case .divisionByZero: "division by zero"
        case .invalidScale(let scale): "scale \(scale) is outside 0...\(FixedDecimal.maxScale)"
        case .invalidStep(let step): "step \(step) must be greater than zero"
        }
    }
}

/// How a result with more digits than its scale is brought to it; the names and meanings are
/// those of Python's `decimal` module (and IEEE 754).
public enum RoundingMode: String, Sendable, CaseIterable, Codable {
    /// To nearest; a tie to the even neighbour (banker's rounding): money.
    case halfEven
    /// To nearest; a tie away from zero.
    case halfUp
    /// Toward zero (truncation): quantities to their step.
    case down
    /// Away from zero.
    case up
    /// Toward negative infinity.
    case floor
    /// Toward positive infinity.
    case ceiling
}

/// A signed decimal with 18 fixed places: `units` × 10^-18, in an Int128. Range about ±1.7 × 10^20,
/// which holds any price, quantity or balance a spot exchange quotes (to one wei).
public struct FixedDecimal: Sendable, Hashable, Comparable {
    public static let maxScale = 18
    /// 10^18: the units of 1.
    static let unitsPerOne: UInt128 = 1_000_000_000_000_000_000

    /// The value × 10^18.
    public let units: Int128

    public static let zero = FixedDecimal(units: 0)
    public static let max = FixedDecimal(units: .max)
    public static let min = FixedDecimal(units: -.max)

    /// - Precondition: `units` is not Int128.min, which has no positive twin; keeping it out
    ///   makes negation and magnitude total. Every operation here reports it as an overflow.
    public init(units: Int128) {
        precondition(units != .min, "FixedDecimal units out of range")
        self.units = units
    }

    /// An integer amount; exact for every Int within range.
    public init(_ integer: Int) {
        units = Int128(integer) * Int128(Self.unitsPerOne)
    }

    /// `significand` × 10^-`scale`, exactly: `FixedDecimal(15, scale: 3)` is 0.015.
    /// - Precondition: `scale` is within 0...18.
    public init(_ significand: Int, scale: Int) {
        precondition((0...Self.maxScale).contains(scale), "FixedDecimal scale \(scale) is outside 0...\(Self.maxScale)")
        var power: Int128 = 1
        for _ in 0..<(Self.maxScale - scale) { power *= 10 }
        units = Int128(significand) * power
    }

    public var isNegative: Bool { units < 0 }
    public var isZero: Bool { units == 0 }
    public var magnitude: FixedDecimal { FixedDecimal(units: Int128(units.magnitude)) }

    public static func < (lhs: FixedDecimal, rhs: FixedDecimal) -> Bool { lhs.units < rhs.units }

    public static prefix func - (value: FixedDecimal) -> FixedDecimal { FixedDecimal(units: -value.units) }

    // MARK: - Exact arithmetic

    public static func + (lhs: FixedDecimal, rhs: FixedDecimal) throws(FixedDecimalError) -> FixedDecimal {
        let (sum, overflow) = lhs.units.addingReportingOverflow(rhs.units)
        guard !overflow, sum != .min else { throw .overflow("\(lhs) + \(rhs)") }
        return FixedDecimal(units: sum)
    }

    public static func - (lhs: FixedDecimal, rhs: FixedDecimal) throws(FixedDecimalError) -> FixedDecimal {
        let (difference, overflow) = lhs.units.subtractingReportingOverflow(rhs.units)
        guard !overflow, difference != .min else { throw .overflow("\(lhs) - \(rhs)") }
        return FixedDecimal(units: difference)
    }

    /// The product at `scale` places (18 keeps every digit of two 9-place factors, such as a
    /// price times a quantity on a spot exchange), rounded by `rounding`.
    public func multiplied(by other: FixedDecimal, scale: Int = maxScale, rounding: RoundingMode = .halfEven) throws(FixedDecimalError)
        -> FixedDecimal
    {
        let (high, low) = units.magnitude.multipliedFullWidth(by: other.units.magnitude)
        // The product has 36 places; dividing by 10^(36 - scale) leaves `scale` of them, and
        // multiplying back by 10^(18 - scale) stores it in units.
        let divisor = try Self.powerOfTen(2 * Self.maxScale - scale)
        let negative = isNegative != other.isNegative
        guard let quotient = Self.divide(high: high, low: low, by: divisor, negative: negative, rounding: rounding) else {
            throw .overflow("\(self) × \(other)")
        }
        return try Self.make(magnitude: quotient, scale: scale, negative: negative, operation: "\(self) × \(other)")
    }

    /// The quotient at `scale` places, rounded by `rounding`.
    public func divided(by divisor: FixedDecimal, scale: Int, rounding: RoundingMode) throws(FixedDecimalError) -> FixedDecimal {
        guard !divisor.isZero else { throw .divisionByZero }
        // units_a / units_b is the value's ratio; × 10^scale keeps `scale` places of it.
        let (high, low) = units.magnitude.multipliedFullWidth(by: try Self.powerOfTen(scale))
        let negative = isNegative != divisor.isNegative
        guard let quotient = Self.divide(high: high, low: low, by: divisor.units.magnitude, negative: negative, rounding: rounding)
        else {
            throw .overflow("\(self) ÷ \(divisor)")
        }
        return try Self.make(magnitude: quotient, scale: scale, negative: negative, operation: "\(self) ÷ \(divisor)")
    }

    /// This amount at `scale` places.
    public func rounded(scale: Int, rounding: RoundingMode) throws(FixedDecimalError) -> FixedDecimal {
        let step = try Self.powerOfTen(Self.maxScale - scale)
        return try rounded(toMultipleOfUnits: step, rounding: rounding)
    }

    /// The multiple of `step` (a tick or a lot step) this amount rounds to.
    public func rounded(toMultipleOf step: FixedDecimal, rounding: RoundingMode) throws(FixedDecimalError) -> FixedDecimal {
        guard step.units > 0 else { throw .invalidStep(step.description) }
        return try rounded(toMultipleOfUnits: step.units.magnitude, rounding: rounding)
    }

    /// Whether this amount is a whole multiple of `step`.
    public func isMultiple(of step: FixedDecimal) -> Bool {
        step.units > 0 && units.magnitude % step.units.magnitude == 0
    }

    private func rounded(toMultipleOfUnits step: UInt128, rounding: RoundingMode) throws(FixedDecimalError) -> FixedDecimal {
        let magnitude = units.magnitude
        let quotient = Self.round(
            quotient: magnitude / step, remainder: magnitude % step, divisor: step, negative: isNegative, rounding: rounding)
        let (result, overflow) = quotient.multipliedReportingOverflow(by: step)
        guard !overflow, result <= UInt128(Int128.max) else { throw .overflow("\(self) rounded to a multiple of \(step) units") }
        return FixedDecimal(units: isNegative ? -Int128(result) : Int128(result))
    }

    // MARK: - Helpers

    static func powerOfTen(_ exponent: Int) throws(FixedDecimalError) -> UInt128 {
        guard (0...(2 * maxScale)).contains(exponent) else { throw .invalidScale(maxScale - exponent) }
        var result: UInt128 = 1
        for _ in 0..<exponent { result *= 10 }
        return result
    }

    /// The 256-bit (high, low) divided by `divisor` and rounded, or nil when it does not fit.
    private static func divide(high: UInt128, low: UInt128, by divisor: UInt128, negative: Bool, rounding: RoundingMode) -> UInt128? {
        // The quotient fits in 128 bits exactly when the high half is below the divisor.
        guard high < divisor else { return nil }
        let (quotient, remainder) = divisor.dividingFullWidth((high, low))
        let rounded = round(quotient: quotient, remainder: remainder, divisor: divisor, negative: negative, rounding: rounding)
        return rounded < quotient ? nil : rounded  // wrapped past UInt128.max
    }

    /// `quotient` + 1 when the discarded `remainder / divisor` rounds up (in magnitude) for the sign.
    static func round(quotient: UInt128, remainder: UInt128, divisor: UInt128, negative: Bool, rounding: RoundingMode) -> UInt128 {
        guard remainder != 0 else { return quotient }
        let rest = divisor - remainder  // remainder > rest: past the half; equal: a tie
        let away: Bool
        switch rounding {
        case .down: away = false
        case .up: away = true
        case .floor: away = negative
        case .ceiling: away = !negative
        case .halfUp: away = remainder >= rest
        case .halfEven: away = remainder > rest || (remainder == rest && quotient & 1 == 1)
        }
        return away ? quotient &+ 1 : quotient
    }

    /// A result counted in 10^-scale, stored in 10^-18 units.
    private static func make(magnitude: UInt128, scale: Int, negative: Bool, operation: @autoclosure () -> String)
        throws(FixedDecimalError) -> FixedDecimal
    {
        let (scaled, overflow) = magnitude.multipliedReportingOverflow(by: try powerOfTen(maxScale - scale))
        guard !overflow, scaled <= UInt128(Int128.max) else { throw .overflow(operation()) }
        return FixedDecimal(units: negative ? -Int128(scaled) : Int128(scaled))
    }
}
