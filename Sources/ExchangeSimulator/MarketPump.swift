import Binance
import EventBus
import Foundation
import PaperExchange
import Synchronization

/// Moves the paper exchange's market every step, so resting orders fill and streams flow
/// without a request, and sends what happened to the WebSocket subscribers: execution reports
/// and balances on the user data stream, and each market's trades, klines (1s, 1m) and best
/// bid and ask on its streams.
final class MarketPump: Sendable {
    struct Cursor {
        /// Execution reports sent so far (their sequence numbers start at 1).
        var reports = 0
        var trades: [String: Int64] = [:]
        /// Per `<symbol>@kline_<interval>`: the open time of the kline last sent.
        var klines: [String: Int64] = [:]
        var books: [String: PaperExchange.Book] = [:]
    }

    struct Batch: Sendable {
        var messages: [(channel: String, data: JSONValue)] = []
    }

    let desk: ExchangeDesk
    let hub: StreamHub
    let markets: SimulatedMarkets
    private let cursor = Mutex(Cursor())

    static let klineIntervals = ["1s", "1m"]

    init(desk: ExchangeDesk, hub: StreamHub, markets: SimulatedMarkets) {
        self.desk = desk
        self.hub = hub
        self.markets = markets
        // Reports from before the first pump are not news.
        _ = desk.at { exchange, _ in
            let seen = exchange.reportsDropped + exchange.reports.count
            self.cursor.withLock { $0.reports = seen }
            return 0
        }
    }

    /// Sends what happened since the last pump; `marketData: false` sends only the account's
    /// execution reports (after an order, so they need not wait for the next step).
    func pump(marketData: Bool = true) {
        let batch = desk.at { exchange, now throws(BinanceError) in try self.collect(&exchange, now: now, marketData: marketData) }
        guard case .success(let batch) = batch else { return }
        for message in batch.messages {
            hub.publish(message.channel, String(decoding: message.data.encoded(), as: UTF8.self))
        }
    }

    private func collect(_ exchange: inout PaperExchange, now: Int64, marketData: Bool) throws(BinanceError) -> Batch {
        var batch = Batch()
        try cursor.withLock { cursor throws(BinanceError) in
            let reports = exchange.reports(after: cursor.reports)
            var sequence = cursor.reports
            let userWanted = hub.isWanted(StreamHub.userChannel)
            for report in reports where userWanted {
                sequence += 1
                batch.messages.append(
                    (StreamHub.userChannel, StreamMessages.userEvent(StreamMessages.executionReport(report, sequence: sequence))))
            }
            if !reports.isEmpty, userWanted {
                batch.messages.append(
                    (StreamHub.userChannel, StreamMessages.userEvent(StreamMessages.accountPosition(exchange.accountBalances, at: now))))
            }
            cursor.reports = exchange.reportsDropped + exchange.reports.count
            guard marketData else { return }
            for symbol in markets.symbols {
                let name = symbol.name
                let prefix = name.lowercased()
                let tape = try exchange.tape(symbol: name, after: cursor.trades[name] ?? Int64.max)
                if cursor.trades[name] == nil {
                    // The first pump starts from the present.
                    cursor.trades[name] = try exchange.tape(symbol: name, after: 0).last?.id ?? 0
                } else {
                    if hub.isWanted(prefix + "@trade") {
                        for trade in tape { batch.messages.append((prefix + "@trade", StreamMessages.trade(trade, symbol: name))) }
                    }
                    if let last = tape.last { cursor.trades[name] = last.id }
                }
                for interval in Self.klineIntervals {
                    let channel = "\(prefix)@kline_\(interval)"
                    guard hub.isWanted(channel) else { continue }
                    let candles = try exchange.klines(symbol: name, interval: interval, startTime: nil, endTime: nil, limit: 2)
                    guard let current = candles.last else { continue }
                    // A kline that just closed goes out once more, closed.
                    if let previous = candles.dropLast().last, let sent = cursor.klines[channel], sent == previous.openTime {
                        batch.messages.append(
                            (
                                channel,
                                StreamMessages.kline(
                                    previous, symbol: name, interval: interval, tickSize: symbol.tickSize, closed: true, at: now)
                            ))
                    }
                    batch.messages.append(
                        (
                            channel,
                            StreamMessages.kline(
                                current, symbol: name, interval: interval, tickSize: symbol.tickSize, closed: false, at: now)
                        ))
                    cursor.klines[channel] = current.openTime
                }
                guard hub.isWanted(prefix + "@bookTicker") else { continue }
                let book = try exchange.book(symbol: name, limit: 1)
                if cursor.books[name].map({ $0.bids != book.bids || $0.asks != book.asks }) ?? true {
                    batch.messages.append((prefix + "@bookTicker", StreamMessages.bookTicker(book, symbol: name)))
                    cursor.books[name] = book
                }
            }
        }
        return batch
    }
}
