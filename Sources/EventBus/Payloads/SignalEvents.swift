import Foundation
import Money

/// `signal.generated`: the AI engine's view that a symbol should be bought or sold.
public struct SignalGenerated: EventPayload {
    public static let eventType = EventType.signalGenerated
    public var symbol: String
    public var side: OrderSide
    /// How sure the model is, from 0 to 1.
    public var confidence: FixedDecimal
    /// The model version that produced it.
    public var model: String
    /// The price the signal was computed at.
    public var referencePrice: Price
    /// Why, for people: the features that decided it.
    public var reason: String
    /// The share (0 to 1) of the policy's largest order the engine sizes it at; absent: the
    /// executor decides.
    public var size: FixedDecimal?
    /// After this the signal is stale and must not be traded; absent: it does not expire.
    public var expiresAt: Date?

    public init(
        symbol: String, side: OrderSide, confidence: FixedDecimal, model: String, referencePrice: Price, reason: String,
        size: FixedDecimal? = nil, expiresAt: Date? = nil
    ) {
        self.symbol = symbol
        self.side = side
        self.confidence = confidence
        self.model = model
        self.referencePrice = referencePrice
        self.reason = reason
        self.size = size
        self.expiresAt = expiresAt
    }

    public init?(reading reader: PayloadReader) {
        let symbol = reader.symbol("symbol")
        let side: OrderSide? = reader.choice("side")
        let confidence: Ratio? = reader.amount("confidence")
        let model = reader.string("model", maxLength: 128)
        let referencePrice: Price? = reader.amount("referencePrice")
        let reason = reader.string("reason", maxLength: 1000)
        let size: Ratio? = reader.optionalAmount("size")
        let expiresAt = reader.optionalDate("expiresAt")
        for (key, ratio) in [("confidence", confidence), ("size", size)] {
            if let ratio, ratio.value < .zero || ratio.value > FixedDecimal(1) { reader.report(key, "\(ratio) is outside 0...1") }
        }
        guard let symbol, let side, let confidence, let model, let referencePrice, let reason,
            confidence.value >= .zero, confidence.value <= FixedDecimal(1),
            size.map({ $0.value >= .zero && $0.value <= FixedDecimal(1) }) ?? true
        else { return nil }
        self.init(
            symbol: symbol, side: side, confidence: confidence.value, model: model, referencePrice: referencePrice, reason: reason,
            size: size?.value, expiresAt: expiresAt)
    }

    public var json: JSONValue {
        var fields: [String: JSONValue] = [
            "symbol": .string(symbol), "side": .string(side.rawValue), "confidence": .string(confidence.description),
            "model": .string(model), "referencePrice": .amount(referencePrice), "reason": .string(reason),
        ]
        if let size { fields["size"] = .string(size.description) }
        if let expiresAt { fields["expiresAt"] = .time(expiresAt) }
        return .object(fields)
    }

    public static let example = SignalGenerated(
        symbol: "BTCUSDT", side: .buy, confidence: FixedDecimal(72, scale: 2), model: "momentum-2026-12-01",
        referencePrice: Price(42_000), reason: "1m return above its 30m band", size: FixedDecimal(5, scale: 1),
        expiresAt: Date(timeIntervalSince1970: 1_796_000_120))
}

/// `signal.dropped`: execution's signal queue dropped signals it could not trade, counted by
/// reason since the previous such event (published at most once a second while it drops).
public struct SignalsDropped: EventPayload {
    public static let eventType = EventType.signalDropped
    /// A newer signal for the same symbol took its place.
    public var replaced: Int
    /// Past its time to live.
    public var expired: Int
    /// The queue was full and it was the least confident.
    public var overflow: Int
    /// The latest dropped signal's symbol, for people.
    public var lastSymbol: String
    public var since: Date

    public init(replaced: Int, expired: Int, overflow: Int, lastSymbol: String, since: Date) {
        self.replaced = replaced
        self.expired = expired
        self.overflow = overflow
        self.lastSymbol = lastSymbol
        self.since = since
    }

    public init?(reading reader: PayloadReader) {
        let replaced = reader.int("replaced")
        let expired = reader.int("expired")
        let overflow = reader.int("overflow")
        let lastSymbol = reader.symbol("lastSymbol")
        let since = reader.date("since")
        for (key, count) in [("replaced", replaced), ("expired", expired), ("overflow", overflow)] {
            if let count, count < 0 { reader.report(key, "must not be negative, got \(count)") }
        }
        guard let replaced, let expired, let overflow, let lastSymbol, let since, min(replaced, expired, overflow) >= 0 else {
            return nil
        }
        self.init(replaced: replaced, expired: expired, overflow: overflow, lastSymbol: lastSymbol, since: since)
    }

    public var json: JSONValue {
        .object([
            "replaced": .number(Double(replaced)), "expired": .number(Double(expired)), "overflow": .number(Double(overflow)),
            "lastSymbol": .string(lastSymbol), "since": .time(since),
        ])
    }

    public static let example = SignalsDropped(
        replaced: 40, expired: 3, overflow: 12, lastSymbol: "BTCUSDT", since: Date(timeIntervalSince1970: 1_796_000_000))
}

/// A number from 0 to 1 read as a decimal string, like an amount (a confidence, a fraction).
struct Ratio: DecimalAmount {
    let value: FixedDecimal
    init(_ value: FixedDecimal) { self.value = value }
}
