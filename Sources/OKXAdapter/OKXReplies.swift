import EventBus
import Money

/// A spot instrument (`GET /api/v5/public/instruments?instType=SPOT`).
public struct OKXInstrument: Sendable, Equatable {
    public var instId: String
    public var baseCcy: String
    public var quoteCcy: String
    /// `live` while it trades.
    public var state: String

    public init(instId: String, baseCcy: String, quoteCcy: String, state: String) {
        self.instId = instId
        self.baseCcy = baseCcy
        self.quoteCcy = quoteCcy
        self.state = state
    }

    /// Binance's name for the same pair: the assets run together (`BTC-USDT` is `BTCUSDT`).
    public var binanceSymbol: String { baseCcy + quoteCcy }

    /// Each of `symbols` (Binance's names) paired with its live OKX instrument id; a symbol OKX
    /// does not list (or not live) is left out.
    public static func ids(for symbols: [String], in instruments: [OKXInstrument]) -> [String: String] {
        let live = Dictionary(
            instruments.filter { $0.state == "live" }.map { ($0.binanceSymbol, $0.instId) }, uniquingKeysWith: { first, _ in first })
        return symbols.reduce(into: [:]) { ids, symbol in ids[symbol] = live[symbol] }
    }
}

/// A public trade (`GET /api/v5/market/trades`), in exact amounts.
public struct OKXTrade: Sendable, Equatable {
    public var instId: String
    public var tradeId: Int64
    public var price: Price
    public var quantity: Quantity
    /// The taker's side: `buy` or `sell`.
    public var side: String
    /// ms since 1970.
    public var time: Int64

    public init(instId: String, tradeId: Int64, price: Price, quantity: Quantity, side: String, time: Int64) {
        self.instId = instId
        self.tradeId = tradeId
        self.price = price
        self.quantity = quantity
        self.side = side
        self.time = time
    }
}

/// Reads OKX's replies: the `{code, msg, data}` envelope, then each `data` item.
public enum OKXReplies {
    /// The `data` list of a reply whose `code` is "0"; OKX's error otherwise.
    public static func data(_ value: JSONValue, endpoint: OKXEndpoint) throws(OKXError) -> [JSONValue] {
        let name = endpoint.rawValue
        guard case .object(let object) = value else { throw .malformedReply(endpoint: name, problem: "expected a JSON object") }
        guard case .string(let code)? = object["code"] else {
            throw .malformedReply(endpoint: name, problem: "code: expected a string")
        }
        guard code == OKXCode.ok else {
            let message = if case .string(let text)? = object["msg"] { text } else { "" }
            throw .rejected(code: code, message: message)
        }
        guard case .array(let items)? = object["data"] else { throw .malformedReply(endpoint: name, problem: "data: expected a list") }
        return items
    }

    /// Reads each `data` item with `read`; the first unreadable one names its index and field.
    static func each<Item>(
        _ value: JSONValue, endpoint: OKXEndpoint, _ read: (PayloadReader) -> Item?
    ) throws(OKXError) -> [Item] {
        var items: [Item] = []
        for (index, item) in try data(value, endpoint: endpoint).enumerated() {
            do throws(PayloadError) {
                let reader = try PayloadReader(item, name: "data[\(index)]")
                let parsed = read(reader)
                try reader.finish(allowing: true)
                guard let parsed else { throw PayloadError(problems: ["data[\(index)]: incomplete"]) }
                items.append(parsed)
            } catch {
                throw .malformedReply(endpoint: endpoint.rawValue, problem: "data[\(index)]: \(error)")
            }
        }
        return items
    }

    /// A decimal string OKX sends for an integer (ids, times).
    static func integer(_ reader: PayloadReader, _ key: String) -> Int64? {
        guard let text = reader.string(key, maxLength: 20) else { return nil }
        guard let value = Int64(text), value >= 0 else {
            reader.report(key, "expected a whole number as a string, got \"\(text)\"")
            return nil
        }
        return value
    }

    public static func instruments(_ value: JSONValue) throws(OKXError) -> [OKXInstrument] {
        try each(value, endpoint: .instruments) { reader in
            let instId = reader.string("instId", maxLength: 64)
            let base = reader.string("baseCcy", maxLength: 32)
            let quote = reader.string("quoteCcy", maxLength: 32)
            let state = reader.string("state", maxLength: 32)
            guard let instId, let base, let quote, let state else { return nil }
            return OKXInstrument(instId: instId, baseCcy: base, quoteCcy: quote, state: state)
        }
    }

    public static func trades(_ value: JSONValue) throws(OKXError) -> [OKXTrade] {
        try each(value, endpoint: .trades) { reader in
            let instId = reader.string("instId", maxLength: 64)
            let tradeId = integer(reader, "tradeId")
            let price: Price? = reader.amount("px")
            let quantity: Quantity? = reader.amount("sz")
            let side = reader.string("side", maxLength: 8)
            if let side, side != "buy", side != "sell" { reader.report("side", "expected buy or sell, got \"\(side)\"") }
            let time = integer(reader, "ts")
            guard let instId, let tradeId, let price, let quantity, let side, side == "buy" || side == "sell", let time else {
                return nil
            }
            return OKXTrade(instId: instId, tradeId: tradeId, price: price, quantity: quantity, side: side, time: time)
        }
    }
}
