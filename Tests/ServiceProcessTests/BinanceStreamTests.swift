import Binance
import BinanceAdapter
import EventBus
import Foundation
import Logging
import Money
import Synchronization
import Testing
import VaktTesting

/// The adapter's streams against the paper exchange's WebSockets: order updates from the user
/// data stream, each delivered once through a disconnect (REST polling covers the gap); market
/// streams that resume after a stall.
@Suite struct BinanceStreamTests {
    /// What a stream delivered, shared with the task that runs it.
    final class Received<Item: Sendable>: Sendable {
        private let items = Mutex<[Item]>([])
        func append(_ item: Item) { items.withLock { $0.append(item) } }
        var all: [Item] { items.withLock { $0 } }
    }

    static func webSocketURL(_ exchange: BinanceAdapterTests.Exchange, _ path: String) -> String {
        exchange.simulator.url(path).replacingOccurrences(of: "http://", with: "ws://")
    }

    @Test func everyFillArrivesOnceThroughADisconnect() async throws {
        let exchange = try await BinanceAdapterTests.start()
        defer {
            exchange.redis.stop()
            Task { await BinanceAdapterTests.stop(exchange) }
        }
        let client = exchange.client
        let stream = UserDataStream(
            // Polling runs beside the stream too, so both report every fill and only the
            // deduplication keeps each to one.
            settings: .init(
                url: Self.webSocketURL(exchange, "/ws-api/v3"), symbols: ["BTCUSDT"], pollWhileDown: .milliseconds(100),
                pollWhileUp: .milliseconds(300)),
            client: client, credentials: .init(apiKey: ExchangeSimulatorTests.apiKey, secret: ExchangeSimulatorTests.secret),
            logger: Logger(label: "test.user-stream"))
        let updates = Received<OrderUpdate>()
        let task = Task { await stream.run { update in updates.append(update) } }
        defer { task.cancel() }
        #expect(await TestEnvironment.eventually { stream.isConnected })

        // 0.6 BTC takes two levels: two fills, on the stream.
        let first = try await client.place(
            OrderIntent(symbol: "BTCUSDT", side: .buy, type: .market, quantity: Quantity(6, scale: 1), clientOrderId: "vakt-stream-1"))
        #expect(first.fills.count == 2)
        #expect(await TestEnvironment.eventually { updates.all.filter { $0.executionType == "TRADE" }.count == 2 })
        let streamed = updates.all
        #expect(streamed.allSatisfy { $0.clientOrderId == "vakt-stream-1" })
        // Only the stream reports a NEW.
        #expect(streamed.first?.executionType == "NEW" && streamed.first?.source == .stream)
        #expect(Set(streamed.compactMap { $0.tradeId >= 0 ? $0.tradeId : nil }) == Set(first.fills.map(\.tradeId)))

        // The exchange drops every WebSocket; orders go on meanwhile.
        try await BinanceAdapterTests.faults(exchange, #"{"disconnect_streams": true}"#)
        var placed = first.fills.count
        for index in 2...4 {
            let order = try await client.place(
                OrderIntent(
                    symbol: "BTCUSDT", side: .buy, type: .market, quantity: Quantity(2, scale: 1), clientOrderId: "vakt-stream-\(index)"))
            placed += order.fills.count
        }
        let all = try await client.trades(symbol: "BTCUSDT", fromId: nil)
        #expect(all.count == placed)
        #expect(
            await TestEnvironment.eventually {
                Set(updates.all.filter { $0.tradeId >= 0 }.map(\.tradeId)) == Set(all.map(\.fill.tradeId))
            })
        #expect(await TestEnvironment.eventually { stream.connections >= 2 })
        // Both sources have had their turn at every fill by now.
        try await Task.sleep(for: .milliseconds(700))
        let trades = updates.all.filter { $0.tradeId >= 0 }
        #expect(trades.count == all.count, "every fill once: \(trades.map(\.tradeId))")
        #expect(trades.allSatisfy { $0.clientOrderId?.hasPrefix("vakt-stream-") == true })
    }

    @Test func aStalledMarketStreamIsReconnectedAndFlowsAgain() async throws {
        // Ten exchange steps a second: a second without a message is a stall.
        let exchange = try await BinanceAdapterTests.start(clockRate: 10)
        defer {
            exchange.redis.stop()
            Task { await BinanceAdapterTests.stop(exchange) }
        }
        let stream = MarketStream(
            settings: .init(
                baseURL: Self.webSocketURL(exchange, ""), streams: ["btcusdt@trade", "btcusdt@kline_1s", "btcusdt@bookTicker"],
                staleAfter: .seconds(1), reconnectInitial: .milliseconds(100)),
            logger: Logger(label: "test.market-stream"))
        let events = Received<MarketStreamEvent>()
        let task = Task { await stream.run { event in events.append(event) } }
        defer { task.cancel() }
        func count(_ kind: String) -> Int {
            events.all.filter {
                switch $0 {
                case .trade: kind == "trade"
                case .kline: kind == "kline"
                case .bookTicker: kind == "book"
                }
            }.count
        }
        #expect(await TestEnvironment.eventually { count("trade") >= 3 && count("kline") >= 3 && count("book") >= 1 })
        if case .trade(let symbol, _, let price, _, _, _)? = events.all.first(where: { if case .trade = $0 { true } else { false } }) {
            #expect(symbol == "BTCUSDT" && price > .zero)
        }
        // Stalled until the stream has reconnected, however late a loaded machine notices the
        // silence (a 2.5 s stall once ended before a busy run's watcher woke to see it), then
        // ended by a stall of 1 ms in its place.
        try await BinanceAdapterTests.faults(exchange, #"{"stall_streams_ms": 600000}"#)
        #expect(await TestEnvironment.eventually { stream.connections >= 2 })
        try await BinanceAdapterTests.faults(exchange, #"{"stall_streams_ms": 1}"#)
        let before = count("trade")
        #expect(await TestEnvironment.eventually { count("trade") > before + 3 })
    }
}
