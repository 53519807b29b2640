import Binance
import EventBus
import Money

/// An order's change as the user data stream reports it (`executionReport`), or as REST
/// polling reconstructs a fill while the stream is down.
public struct OrderUpdate: Sendable, Equatable {
    public enum Source: String, Sendable {
        case stream
        case polling
    }

    public var symbol: String
    public var orderId: Int64
    public var clientOrderId: String?
    /// `NEW`, `TRADE`, `CANCELED`, `EXPIRED`, `REJECTED`, …
    public var executionType: String
    public var status: OrderStatus?
    public var side: OrderSide
    public var lastQty: Quantity
    public var lastPrice: Price
    public var commission: FixedDecimal
    public var commissionAsset: String?
    /// -1 when the update is not a trade.
    public var tradeId: Int64
    public var isMaker: Bool
    public var eventTime: Int64
    public var source: Source

    /// Reads an `executionReport`; for a cancel, `c` is the cancel's own id and `C` the order's.
    init(executionReport value: JSONValue) throws(PayloadError) {
        let reader = try PayloadReader(value, name: "executionReport")
        let symbol = reader.string("s", maxLength: 32)
        let orderId = reader.int("i")
        let own = reader.string("c", maxLength: 64)
        // The cancelled order's own id; "" when the update is not a cancel.
        let original = reader.reading("C") { value throws(PayloadError) in
            guard case .string(let text) = value, text.utf8.count <= 64 else {
                throw PayloadError(problems: ["C: expected a client order id"])
            }
            return text
        }
        let execution = reader.string("x", maxLength: 32)
        let status: OrderStatus? = reader.choice("X")
        let side: OrderSide? = reader.choice("S")
        let lastQty: Quantity? = reader.amount("l")
        let lastPrice: Price? = reader.amount("L")
        let commission = reader.exactDecimal("n")
        let asset = reader.optionalString("N", maxLength: 16)
        let tradeId = reader.int("t")
        let isMaker = reader.bool("m")
        let eventTime = reader.int("E")
        try reader.finish(allowing: true)
        guard let symbol, let orderId, let own, let execution, let side, let lastQty, let lastPrice, let commission, let tradeId,
            let isMaker, let eventTime
        else { throw PayloadError(problems: ["executionReport: incomplete"]) }
        self.symbol = symbol
        self.orderId = Int64(orderId)
        clientOrderId = (original?.isEmpty == false) ? original : own
        executionType = execution
        self.status = status
        self.side = side
        self.lastQty = lastQty
        self.lastPrice = lastPrice
        self.commission = commission
        commissionAsset = asset
        self.tradeId = Int64(tradeId)
        self.isMaker = isMaker
        self.eventTime = Int64(eventTime)
        source = .stream
    }

    /// A fill read from `myTrades` (with its order's id and status from a lookup).
    init(fill: FillReport, trade: TradeReport, order: OrderReport?) {
        symbol = trade.symbol
        orderId = trade.orderId
        clientOrderId = order?.clientOrderId
        executionType = "TRADE"
        status = order?.status
        side = trade.isBuyer ? .buy : .sell
        lastQty = fill.qty
        lastPrice = fill.price
        commission = fill.commission
        commissionAsset = fill.commissionAsset
        tradeId = fill.tradeId
        isMaker = trade.isMaker
        eventTime = trade.time
        source = .polling
    }

    /// What identifies the update for deduplication: a trade by symbol and trade id; anything
    /// else by order and execution type (an order is NEW, CANCELED… once).
    var key: String { tradeId >= 0 ? "\(symbol)/t\(tradeId)" : "\(symbol)/o\(orderId)/\(executionType)" }
}

/// One of the account's trades as `myTrades` lists it.
public struct TradeReport: Sendable, Equatable {
    public var symbol: String
    public var orderId: Int64
    public var fill: FillReport
    public var isBuyer: Bool
    public var isMaker: Bool
    public var time: Int64

    init(_ value: JSONValue, name: String) throws(PayloadError) {
        let fill = try FillReport(value, name: name)
        let reader = try PayloadReader(value, name: name)
        let symbol = reader.string("symbol", maxLength: 32)
        let orderId = reader.int("orderId")
        let isBuyer = reader.bool("isBuyer")
        let isMaker = reader.bool("isMaker")
        let time = reader.int("time")
        try reader.finish(allowing: true)
        guard let symbol, let orderId, let isBuyer, let isMaker, let time else { throw PayloadError(problems: ["\(name): incomplete"]) }
        self.symbol = symbol
        self.orderId = Int64(orderId)
        self.fill = fill
        self.isBuyer = isBuyer
        self.isMaker = isMaker
        self.time = Int64(time)
    }
}

/// A market stream's message, typed.
public enum MarketStreamEvent: Sendable, Equatable {
    /// `<symbol>@trade`.
    case trade(symbol: String, tradeId: Int64, price: Price, qty: Quantity, time: Int64, buyerIsMaker: Bool)
    /// `<symbol>@kline_<interval>`: the kline so far, or closed.
    case kline(symbol: String, interval: String, kline: Kline, closed: Bool)
    /// `<symbol>@bookTicker`.
    case bookTicker(symbol: String, top: BookTop)

    /// Reads a raw stream message, or a combined one's `data`.
    init(_ value: JSONValue) throws(PayloadError) {
        let reader = try PayloadReader(value, name: "stream")
        if reader.contains("e"), reader.optionalString("e", maxLength: 32) == "trade" {
            let symbol = reader.string("s", maxLength: 32)
            let id = reader.int("t")
            let price: Price? = reader.amount("p")
            let qty: Quantity? = reader.amount("q")
            let time = reader.int("T")
            let maker = reader.bool("m")
            try reader.finish(allowing: true)
            guard let symbol, let id, let price, let qty, let time, let maker else { throw PayloadError(problems: ["trade: incomplete"]) }
            self = .trade(symbol: symbol, tradeId: Int64(id), price: price, qty: qty, time: Int64(time), buyerIsMaker: maker)
        } else if reader.contains("k") {
            let symbol = reader.string("s", maxLength: 32)
            var parsed: (String, Kline, Bool)?
            if let kline = reader.object("k") {
                let interval = kline.string("i", maxLength: 8)
                let open: Price? = kline.amount("o")
                let high: Price? = kline.amount("h")
                let low: Price? = kline.amount("l")
                let close: Price? = kline.amount("c")
                let volume: Quantity? = kline.amount("v")
                let openTime = kline.int("t")
                let closeTime = kline.int("T")
                let trades = kline.int("n")
                let closed = kline.bool("x")
                if let interval, let open, let high, let low, let close, let volume, let openTime, let closeTime, let trades, let closed {
                    parsed = (
                        interval,
                        Kline(
                            openTime: Int64(openTime), open: open, high: high, low: low, close: close, volume: volume,
                            closeTime: Int64(closeTime), trades: trades), closed
                    )
                }
            }
            try reader.finish(allowing: true)
            guard let symbol, let parsed else { throw PayloadError(problems: ["kline: incomplete"]) }
            self = .kline(symbol: symbol, interval: parsed.0, kline: parsed.1, closed: parsed.2)
        } else {
            let symbol = reader.string("s", maxLength: 32)
            let bid: Price? = reader.amount("b")
            let bidQty: Quantity? = reader.amount("B")
            let ask: Price? = reader.amount("a")
            let askQty: Quantity? = reader.amount("A")
            try reader.finish(allowing: true)
            guard let symbol, let bid, let bidQty, let ask, let askQty else { throw PayloadError(problems: ["bookTicker: incomplete"]) }
            self = .bookTicker(symbol: symbol, top: BookTop(bidPrice: bid, bidQty: bidQty, askPrice: ask, askQty: askQty))
        }
    }
}

/// The last `capacity` keys seen, to drop repeats: memory stays bounded however long it runs.
struct RecentKeys: Sendable {
    private var order: [String] = []
    private var members: Set<String> = []
    private var start = 0
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    /// Whether `key` is new (and remembers it).
    mutating func insert(_ key: String) -> Bool {
        guard members.insert(key).inserted else { return false }
        order.append(key)
        if order.count - start > capacity {
            members.remove(order[start])
            start += 1
            if start > capacity {
                order.removeFirst(start)
                start = 0
            }
        }
        return true
    }
}
