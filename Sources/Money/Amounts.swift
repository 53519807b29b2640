/// What ``Price``, ``Quantity`` and ``Money`` share: an exact ``FixedDecimal`` of one meaning,
/// read and written as a decimal string, added and subtracted only with its own kind, so a
/// price is never added to a quantity by mistake.
public protocol DecimalAmount: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    var value: FixedDecimal { get }
    init(_ value: FixedDecimal)
}

extension DecimalAmount {
    public init(parsing text: String) throws(FixedDecimalError) {
        self.init(try FixedDecimal(parsing: text))
    }

    public static var zero: Self { Self(.zero) }

    /// `significand` × 10^-`scale`: `Quantity(15, scale: 3)` is 0.015.
    public init(_ significand: Int, scale: Int = 0) { self.init(FixedDecimal(significand, scale: scale)) }

    public var description: String { value.description }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.value < rhs.value }

    public static func + (lhs: Self, rhs: Self) throws(FixedDecimalError) -> Self { Self(try lhs.value + rhs.value) }

    public static func - (lhs: Self, rhs: Self) throws(FixedDecimalError) -> Self { Self(try lhs.value - rhs.value) }

    public static prefix func - (amount: Self) -> Self { Self(-amount.value) }

    public init(from decoder: any Decoder) throws {
        self.init(try FixedDecimal(from: decoder))
    }

    public func encode(to encoder: any Encoder) throws {
        try value.encode(to: encoder)
    }
}

/// A price: quote currency per unit of the base asset ("BTCUSDT" at "64250.01").
public struct Price: DecimalAmount {
    public let value: FixedDecimal
    public init(_ value: FixedDecimal) { self.value = value }

    /// The price on the exchange's grid of `tick` (PRICE_FILTER's tickSize). Which way is the
    /// caller's to say: down for a buy that must not pay more, up for a sell, to nearest
    /// (half-even) for a reference.
    public func rounded(toTick tick: Price, rounding: RoundingMode) throws(FixedDecimalError) -> Price {
        Price(try value.rounded(toMultipleOf: tick.value, rounding: rounding))
    }
}

/// An amount of the base asset ("0.00100000" BTC).
public struct Quantity: DecimalAmount {
    public let value: FixedDecimal
    public init(_ value: FixedDecimal) { self.value = value }

    /// The largest multiple of `step` (LOT_SIZE's stepSize) not above this quantity: what an
    /// order may ask for without asking for more than was meant.
    public func rounded(downToStep step: Quantity) throws(FixedDecimalError) -> Quantity {
        Quantity(try value.rounded(toMultipleOf: step.value, rounding: .down))
    }
}

/// An amount of money in one asset (a balance, a fee, a PnL, a notional).
public struct Money: DecimalAmount {
    public let value: FixedDecimal
    public init(_ value: FixedDecimal) { self.value = value }

    /// What `quantity` at `price` costs, exactly (two amounts of up to 9 places each multiply
    /// into 18 places without loss; further places are rounded half-even).
    public static func notional(of quantity: Quantity, at price: Price) throws(FixedDecimalError) -> Money {
        Money(try quantity.value.multiplied(by: price.value, rounding: .halfEven))
    }

    /// This amount at `scale` places, half-even (banker's rounding) unless told otherwise.
    public func rounded(scale: Int, rounding: RoundingMode = .halfEven) throws(FixedDecimalError) -> Money {
        Money(try value.rounded(scale: scale, rounding: rounding))
    }
}
