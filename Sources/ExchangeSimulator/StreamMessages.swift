import Binance
import EventBus
import Money
import PaperExchange

/// The paper exchange's stream payloads in Binance's shapes (web-socket-streams.md,
/// user-data-stream.md): single-letter keys, amounts as decimal strings.
enum StreamMessages {
    typealias Replies = BinanceReplies

    /// `executionReport`, as the user data stream sends it (wrapped by the caller).
    static func executionReport(_ report: ExecutionReport, sequence: Int) -> JSONValue {
        let order = report.order
        let trade = report.trade
        let lastQuote = trade?.quoteQty.value ?? .zero
        return .object([
            "e": .string("executionReport"), "E": Replies.integer(report.eventTime), "s": .string(order.symbol),
            "c": .string(report.cancelClientOrderId ?? order.clientOrderId), "S": .string(order.side.rawValue),
            "o": .string(order.type.rawValue), "f": .string(order.timeInForce.rawValue), "q": Replies.amount(order.origQty),
            "p": Replies.amount(order.price), "P": Replies.amount(FixedDecimal.zero), "F": Replies.amount(FixedDecimal.zero),
            "g": .number(-1), "C": .string(report.cancelClientOrderId == nil ? "" : order.clientOrderId),
            "x": .string(report.kind.rawValue),
            "X": .string(order.status.rawValue), "r": .string("NONE"), "i": Replies.integer(order.id),
            "l": Replies.amount(trade?.qty ?? .zero), "z": Replies.amount(order.executedQty), "L": Replies.amount(trade?.price ?? .zero),
            "n": Replies.amount(trade?.commission ?? .zero), "N": trade.map { .string($0.commissionAsset) } ?? .null,
            "T": Replies.integer(report.eventTime), "t": Replies.integer(trade?.id ?? -1), "I": .number(Double(sequence)),
            "w": .bool(order.status.isOpen), "m": .bool(trade?.isMaker ?? false), "M": .bool(false), "O": Replies.integer(order.time),
            "Z": Replies.amount(order.cumulativeQuoteQty), "Y": Replies.amount(lastQuote), "Q": Replies.amount(order.origQuoteOrderQty),
            "W": Replies.integer(order.time), "V": .string("NONE"),
        ])
    }

    /// `outboundAccountPosition`: the balances after a change.
    static func accountPosition(_ balances: [(asset: String, balance: Balances.Balance)], at time: Int64) -> JSONValue {
        .object([
            "e": .string("outboundAccountPosition"), "E": Replies.integer(time), "u": Replies.integer(time),
            "B": .array(
                balances.map {
                    .object(["a": .string($0.asset), "f": Replies.amount($0.balance.free), "l": Replies.amount($0.balance.locked)])
                }),
        ])
    }

    /// The user data stream's wrapping of an event for subscription 0.
    static func userEvent(_ event: JSONValue) -> JSONValue {
        .object(["subscriptionId": .number(0), "event": event])
    }

    static func trade(_ trade: MarketTrade, symbol: String) -> JSONValue {
        .object([
            "e": .string("trade"), "E": Replies.integer(trade.time), "s": .string(symbol), "t": Replies.integer(trade.id),
            "p": Replies.amount(trade.price), "q": Replies.amount(trade.qty), "T": Replies.integer(trade.time),
            "m": .bool(trade.buyerIsMaker), "M": .bool(true),
        ])
    }

    static func kline(_ candle: Candle, symbol: String, interval: String, tickSize: Price, closed: Bool, at time: Int64) -> JSONValue {
        func price(_ ticks: Int) -> JSONValue { Replies.amount(Tick.price(ticks, tickSize: tickSize)) }
        return .object([
            "e": .string("kline"), "E": Replies.integer(time), "s": .string(symbol),
            "k": .object([
                "t": Replies.integer(candle.openTime), "T": Replies.integer(candle.closeTime), "s": .string(symbol), "i": .string(interval),
                "f": .number(-1), "L": .number(-1), "o": price(candle.open), "c": price(candle.close), "h": price(candle.high),
                "l": price(candle.low), "v": Replies.amount(candle.volume), "n": .number(Double(candle.trades)), "x": .bool(closed),
                "q": Replies.amount(candle.quoteVolume), "V": Replies.amount(candle.takerBuyVolume),
                "Q": Replies.amount(candle.takerBuyQuoteVolume), "B": .string("0"),
            ]),
        ])
    }

    static func bookTicker(_ book: PaperExchange.Book, symbol: String) -> JSONValue {
        .object([
            "u": Replies.integer(book.lastUpdateId), "s": .string(symbol),
            "b": Replies.amount(book.bids.first?.price ?? .zero), "B": Replies.amount(book.bids.first?.qty ?? .zero),
            "a": Replies.amount(book.asks.first?.price ?? .zero), "A": Replies.amount(book.asks.first?.qty ?? .zero),
        ])
    }
}
