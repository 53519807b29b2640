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

    public init(symbol: String, side: OrderSide, confidence: FixedDecimal, model: String, referencePrice: Price, reason: String) {
        self.symbol = symbol
        self.side = side
        self.confidence = confidence
        self.model = model
        self.referencePrice = referencePrice
        self.reason = reason
    }

    public init?(reading reader: PayloadReader) {
        let symbol = reader.symbol("symbol")
        let side: OrderSide? = reader.choice("side")
        let confidence: Ratio? = reader.amount("confidence")
        let model = reader.string("model", maxLength: 128)
        let referencePrice: Price? = reader.amount("referencePrice")
        let reason = reader.string("reason", maxLength: 1000)
        if let confidence, confidence.value < .zero || confidence.value > FixedDecimal(1) {
            reader.report("confidence", "\(confidence) is outside 0...1")
        }
        guard let symbol, let side, let confidence, let model, let referencePrice, let reason,
            confidence.value >= .zero, confidence.value <= FixedDecimal(1)
        else { return nil }
        self.init(symbol: symbol, side: side, confidence: confidence.value, model: model, referencePrice: referencePrice, reason: reason)
    }

    public var json: JSONValue {
        .object([
            "symbol": .string(symbol), "side": .string(side.rawValue), "confidence": .string(confidence.description),
            "model": .string(model), "referencePrice": .amount(referencePrice), "reason": .string(reason),
        ])
    }

    public static let example = SignalGenerated(
        symbol: "BTCUSDT", side: .buy, confidence: FixedDecimal(72, scale: 2), model: "momentum-2026-12-01",
        referencePrice: Price(42_000), reason: "1m return above its 30m band")
}

/// A number from 0 to 1 read as a decimal string, like an amount (a confidence, a fraction).
struct Ratio: DecimalAmount {
    let value: FixedDecimal
    init(_ value: FixedDecimal) { self.value = value }
}
