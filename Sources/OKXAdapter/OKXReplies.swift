import EventBus
import Money

/// A spot instrument (`GET /api/v5/public/instruments?instType=SPOT`).
public struct OKXInstrument: Sendable, Equatable {
    public var instId: String
    public var baseCcy: String
    public var quoteCcy: String
    /// `live` while it trades.
    public var state: String
    /// The price grid, the size grid and the least size of an order (OKX's `tickSz`, `lotSz`,
    /// `minSz`); nil when OKX leaves them empty.
    public var tickSize: Price?
    public var lotSize: Quantity?
    public var minSize: Quantity?

    public init(
        instId: String, baseCcy: String, quoteCcy: String, state: String, tickSize: Price? = nil, lotSize: Quantity? = nil,
        minSize: Quantity? = nil
    ) {
        self.instId = instId
        self.baseCcy = baseCcy
        self.quoteCcy = quoteCcy
        self.state = state
        self.tickSize = tickSize
        self.lotSize = lotSize
        self.minSize = minSize
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
            // Every operation failed: the first one's own code says why (51008, 51016, …).
            if code == OKXCode.allFailed, case .array(let items)? = object["data"], case .object(let first)? = items.first,
                case .string(let itemCode)? = first["sCode"], case .string(let itemMessage)? = first["sMsg"]
            {
                throw .rejected(code: itemCode, message: itemMessage)
            }
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
            let tick: Price? = reader.contains("tickSz") ? optionalAmount(reader, "tickSz") : nil
            let lot: Quantity? = reader.contains("lotSz") ? optionalAmount(reader, "lotSz") : nil
            let minimum: Quantity? = reader.contains("minSz") ? optionalAmount(reader, "minSz") : nil
            guard let instId, let base, let quote, let state else { return nil }
            return OKXInstrument(
                instId: instId, baseCcy: base, quoteCcy: quote, state: state, tickSize: tick, lotSize: lot, minSize: minimum)
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

extension OKXReplies {
    /// A decimal string that OKX leaves empty when there is none (`avgPx` before a fill, `px`
    /// of a market order): nil for "", the amount otherwise, a report when it is neither.
    static func optionalAmount<Amount: DecimalAmount>(_ reader: PayloadReader, _ key: String) -> Amount? {
        guard let text = reader.possiblyEmptyString(key, maxLength: 64), !text.isEmpty else { return nil }
        do {
            return try Amount(parsing: text)
        } catch {
            reader.report(key, "\(error)")
            return nil
        }
    }

    /// `POST trade/order`'s answer: the order OKX took.
    public static func placement(_ value: JSONValue) throws(OKXError) -> OKXPlacement {
        let items = try each(value, endpoint: .placeOrder) { reader -> OKXPlacement? in
            let ordId = integer(reader, "ordId")
            let clOrdId = reader.possiblyEmptyString("clOrdId", maxLength: 32)
            guard let ordId, let clOrdId else { return nil }
            return OKXPlacement(ordId: ordId, clOrdId: clOrdId)
        }
        guard items.count == 1 else {
            throw .malformedReply(endpoint: OKXEndpoint.placeOrder.rawValue, problem: "data: expected one order, got \(items.count)")
        }
        return items[0]
    }

    /// `GET trade/order`'s answer.
    public static func order(_ value: JSONValue) throws(OKXError) -> OKXOrder {
        let items = try each(value, endpoint: .order) { reader -> OKXOrder? in
            let instId = reader.string("instId", maxLength: 64)
            let ordId = integer(reader, "ordId")
            let clOrdId = reader.possiblyEmptyString("clOrdId", maxLength: 32)
            let side: OKXOrder.Side? = reader.choice("side")
            let state: OKXOrder.State? = reader.choice("state")
            let price: Price? = optionalAmount(reader, "px")
            let size: FixedDecimal? = (reader.amount("sz") as Money?)?.value
            let filled: Quantity? = reader.amount("accFillSz")
            let average: Price? = optionalAmount(reader, "avgPx")
            let fee: Money? = optionalAmount(reader, "fee")
            let feeCcy = reader.string("feeCcy", maxLength: 32)
            let updated = integer(reader, "uTime")
            guard let instId, let ordId, let clOrdId, let side, let state, let size, let filled, let feeCcy, let updated else {
                return nil
            }
            return OKXOrder(
                instId: instId, ordId: ordId, clOrdId: clOrdId, side: side, state: state, price: price, size: size, filled: filled,
                averagePrice: average, fee: fee?.value ?? .zero, feeCcy: feeCcy, updated: updated)
        }
        guard items.count == 1 else {
            throw .malformedReply(endpoint: OKXEndpoint.order.rawValue, problem: "data: expected one order, got \(items.count)")
        }
        return items[0]
    }

    /// `GET trade/fills`'s answer, newest first as OKX sends it.
    public static func fills(_ value: JSONValue) throws(OKXError) -> [OKXFill] {
        try each(value, endpoint: .fills) { reader in
            let instId = reader.string("instId", maxLength: 64)
            let tradeId = integer(reader, "tradeId")
            let ordId = integer(reader, "ordId")
            let clOrdId = reader.possiblyEmptyString("clOrdId", maxLength: 32)
            let price: Price? = reader.amount("fillPx")
            let quantity: Quantity? = reader.amount("fillSz")
            let side: OKXOrder.Side? = reader.choice("side")
            let fee: Money? = reader.amount("fee")
            let feeCcy = reader.string("feeCcy", maxLength: 32)
            let execType = reader.string("execType", maxLength: 2)
            if let execType, execType != "T", execType != "M" { reader.report("execType", "expected T or M, got \"\(execType)\"") }
            let time = integer(reader, "ts")
            guard let instId, let tradeId, let ordId, let clOrdId, let price, let quantity, let side, let fee, let feeCcy,
                let execType, execType == "T" || execType == "M", let time
            else { return nil }
            return OKXFill(
                instId: instId, tradeId: tradeId, ordId: ordId, clOrdId: clOrdId, price: price, quantity: quantity, side: side,
                fee: fee.value, feeCcy: feeCcy, isMaker: execType == "M", time: time)
        }
    }

    /// `GET account/balance`'s answer: each currency's available and frozen amounts.
    public static func balances(_ value: JSONValue) throws(OKXError) -> [OKXBalance] {
        let accounts = try each(value, endpoint: .balance) { reader -> [OKXBalance]? in
            guard let details = reader.objects("details") else { return nil }
            var balances: [OKXBalance] = []
            for item in details {
                let ccy = item.string("ccy", maxLength: 32)
                let available: Money? = item.amount("availBal")
                let frozen: Money? = item.amount("frozenBal")
                if let ccy, let available, let frozen {
                    balances.append(OKXBalance(ccy: ccy, available: available.value, frozen: frozen.value))
                }
            }
            return balances.count == details.count ? balances : nil
        }
        return accounts.flatMap { $0 }
    }
}

/// The order OKX took (`POST trade/order`).
public struct OKXPlacement: Sendable, Equatable {
    public var ordId: Int64
    public var clOrdId: String
}

/// A spot order as OKX reports it (`GET trade/order`), in exact amounts.
public struct OKXOrder: Sendable, Equatable {
    public enum Side: String, Sendable, CaseIterable {
        case buy, sell
    }

    public enum State: String, Sendable, CaseIterable {
        case live
        case partiallyFilled = "partially_filled"
        case filled
        case canceled
        case mmpCanceled = "mmp_canceled"

        /// Filled, or canceled with what had filled: nothing more will happen to it.
        public var isFinal: Bool { self == .filled || self == .canceled || self == .mmpCanceled }
    }

    public var instId: String
    public var ordId: Int64
    public var clOrdId: String
    public var side: Side
    public var state: State
    /// nil for a market order.
    public var price: Price?
    /// In the base currency, or the quote currency for a market buy by amount.
    public var size: FixedDecimal
    public var filled: Quantity
    public var averagePrice: Price?
    /// Negative: what OKX charged, in `feeCcy`.
    public var fee: FixedDecimal
    public var feeCcy: String
    /// ms since 1970.
    public var updated: Int64
}

/// One execution of an order (`GET trade/fills`).
public struct OKXFill: Sendable, Equatable {
    public var instId: String
    public var tradeId: Int64
    public var ordId: Int64
    public var clOrdId: String
    public var price: Price
    public var quantity: Quantity
    public var side: OKXOrder.Side
    /// Negative: what OKX charged, in `feeCcy`.
    public var fee: FixedDecimal
    public var feeCcy: String
    public var isMaker: Bool
    /// ms since 1970.
    public var time: Int64
}

/// One currency of the trading account (`GET account/balance`).
public struct OKXBalance: Sendable, Equatable {
    public var ccy: String
    public var available: FixedDecimal
    /// Held by open orders.
    public var frozen: FixedDecimal
}
