import Binance
import EventBus
import Foundation
import HummingbirdWSClient
import Logging
import Synchronization

/// The account's order updates: Binance's user data stream over the WebSocket API
/// (`userDataStream.subscribe.signature`), reconnected with backoff when it drops, and REST
/// polling of the account's trades as the fallback, fast while the stream is down and slow
/// while it is up (a fill the stream missed is still found). Every update is delivered once:
/// trades by symbol and trade id, other updates by order and execution type.
public final class UserDataStream: Sendable {
    public struct Settings: Sendable {
        /// `wss://ws-api.binance.com:443/ws-api/v3`, or the paper exchange's `ws://…/ws-api/v3`.
        public var url: String
        /// The symbols whose trades are polled.
        public var symbols: [String]
        public var pollWhileDown: Duration
        public var pollWhileUp: Duration
        public var reconnectInitial: Duration
        public var reconnectMaximum: Duration

        public init(
            url: String, symbols: [String], pollWhileDown: Duration = .seconds(2), pollWhileUp: Duration = .seconds(30),
            reconnectInitial: Duration = .milliseconds(500), reconnectMaximum: Duration = .seconds(30)
        ) {
            self.url = url
            self.symbols = symbols
            self.pollWhileDown = pollWhileDown
            self.pollWhileUp = pollWhileUp
            self.reconnectInitial = reconnectInitial
            self.reconnectMaximum = reconnectMaximum
        }
    }

    struct State {
        var ledger = UpdateLedger()
        var connected = false
        var connections = 0
    }

    let settings: Settings
    let client: BinanceClient
    let credentials: BinanceClient.Credentials
    let logger: Logger
    private let state = Mutex(State())

    public init(settings: Settings, client: BinanceClient, credentials: BinanceClient.Credentials, logger: Logger) {
        self.settings = settings
        self.client = client
        self.credentials = credentials
        self.logger = logger
    }

    /// Whether the stream is subscribed now, and how many times it has connected.
    public var isConnected: Bool { state.withLock(\.connected) }
    public var connections: Int { state.withLock(\.connections) }

    /// Runs until cancelled, calling `deliver` once per update.
    public func run(_ deliver: @escaping @Sendable (OrderUpdate) async -> Void) async {
        // Polling starts after the account's latest trade: what came before is the caller's
        // start-up reconciliation.
        for symbol in settings.symbols {
            if let last = try? await client.trades(symbol: symbol, fromId: nil, limit: 1).last {
                state.withLock { $0.ledger.startPolling(symbol, after: last.fill.tradeId) }
            }
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.streamForever(deliver) }
            group.addTask { await self.pollForever(deliver) }
            await group.waitForAll()
        }
    }

    private func accept(_ update: OrderUpdate, _ deliver: @Sendable (OrderUpdate) async -> Void) async {
        if state.withLock({ $0.ledger.admit(update) }) { await deliver(update) }
    }

    private func streamForever(_ deliver: @escaping @Sendable (OrderUpdate) async -> Void) async {
        var delay = settings.reconnectInitial
        while !Task.isCancelled {
            do {
                try await WebSocketClient.connect(
                    url: settings.url, configuration: .init(maxFrameSize: 1 << 20, autoPing: .enabled(timePeriod: .seconds(20))),
                    logger: logger
                ) { inbound, outbound, _ in
                    let now = self.client.serverNow
                    let payload = "apiKey=\(self.credentials.apiKey)&timestamp=\(now)"
                    let signature = RequestSignature.sign(payload, secret: self.credentials.secret)
                    let request = JSONValue.object([
                        "id": .string("subscribe"), "method": .string("userDataStream.subscribe.signature"),
                        "params": .object([
                            "apiKey": .string(self.credentials.apiKey), "timestamp": .number(Double(now)), "signature": .string(signature),
                        ]),
                    ])
                    try await outbound.write(.text(String(decoding: request.encoded(), as: UTF8.self)))
                    for try await message in inbound.messages(maxSize: 1 << 20) {
                        guard case .text(let text) = message else { continue }
                        try await self.handle(text, deliver)
                    }
                }
            } catch {
                logger.warning("user data stream failed", metadata: ["error": "\(error)"])
            }
            let wasConnected = state.withLock { state in
                defer { state.connected = false }
                return state.connected
            }
            if wasConnected { delay = settings.reconnectInitial }
            logger.notice("user data stream down; polling trades until it is back", metadata: ["retry_ms": "\(delay.milliseconds)"])
            try? await Task.sleep(for: delay * Double.random(in: 0.8...1.2))
            delay = min(delay * 2, settings.reconnectMaximum)
        }
    }

    struct SubscriptionRefused: Error, CustomStringConvertible {
        var description: String
    }

    private func handle(_ text: String, _ deliver: @Sendable (OrderUpdate) async -> Void) async throws {
        guard case .object(let message) = try JSONValue(parsing: Array(text.utf8)) else { return }
        if case .string("subscribe")? = message["id"] {
            guard case .number(200)? = message["status"] else {
                throw SubscriptionRefused(description: "userDataStream.subscribe.signature refused: \(text.prefix(300))")
            }
            state.withLock {
                $0.connected = true
                $0.connections += 1
            }
            logger.info("user data stream subscribed")
            return
        }
        guard case .object(let event)? = message["event"], case .string("executionReport")? = event["e"] else { return }
        do {
            await accept(try OrderUpdate(executionReport: .object(event)), deliver)
        } catch {
            logger.error("unreadable executionReport skipped", metadata: ["problem": "\(error)"])
        }
    }

    /// Polls the account's trades after the last seen: every `pollWhileDown` while the stream
    /// is down, every `pollWhileUp` while it is up.
    private func pollForever(_ deliver: @escaping @Sendable (OrderUpdate) async -> Void) async {
        var lastPoll = ContinuousClock.now
        while !Task.isCancelled {
            try? await Task.sleep(for: settings.pollWhileDown)
            guard ContinuousClock.now - lastPoll >= (isConnected ? settings.pollWhileUp : settings.pollWhileDown) else { continue }
            lastPoll = .now
            for symbol in settings.symbols {
                let from = state.withLock { $0.ledger.pollFrom(symbol) }
                guard let trades = try? await client.trades(symbol: symbol, fromId: from) else { continue }
                var orders: [Int64: OrderReport] = [:]
                for trade in trades {
                    if orders[trade.orderId] == nil, let order = try? await client.order(symbol: symbol, orderId: trade.orderId) {
                        orders[trade.orderId] = order
                    }
                    await accept(OrderUpdate(fill: trade.fill, trade: trade, order: orders[trade.orderId]), deliver)
                }
            }
        }
    }
}
