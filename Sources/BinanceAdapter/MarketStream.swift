import Binance
import EventBus
import Foundation
import HummingbirdWSClient
import Logging
import Synchronization

/// Market streams (trade, kline, bookTicker) over one combined connection
/// (`/stream?streams=a/b`), reconnected with backoff when it drops or goes quiet for
/// `staleAfter` (a stalled stream is as bad as a closed one).
public final class MarketStream: Sendable {
    public struct Settings: Sendable {
        /// `wss://stream.binance.com:9443`, or the paper exchange's `ws://127.0.0.1:9100`.
        public var baseURL: String
        /// Binance's stream names: `btcusdt@trade`, `btcusdt@kline_1m`, `btcusdt@bookTicker`.
        public var streams: [String]
        public var staleAfter: Duration
        public var reconnectInitial: Duration
        public var reconnectMaximum: Duration

        public init(
            baseURL: String, streams: [String], staleAfter: Duration = .seconds(10), reconnectInitial: Duration = .milliseconds(500),
            reconnectMaximum: Duration = .seconds(30)
        ) {
            self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
            self.streams = streams
            self.staleAfter = staleAfter
            self.reconnectInitial = reconnectInitial
            self.reconnectMaximum = reconnectMaximum
        }
    }

    struct State {
        var connections = 0
        var lastMessage = ContinuousClock.now
    }

    struct Stale: Error, CustomStringConvertible {
        var description: String
    }

    let settings: Settings
    let logger: Logger
    private let state = Mutex(State())

    public init(settings: Settings, logger: Logger) {
        self.settings = settings
        self.logger = logger
    }

    /// How many times it has connected (a reconnect counts).
    public var connections: Int { state.withLock(\.connections) }

    /// Runs until cancelled, calling `deliver` for each message.
    public func run(_ deliver: @escaping @Sendable (MarketStreamEvent) async -> Void) async {
        let url = settings.baseURL + "/stream?streams=" + settings.streams.joined(separator: "/")
        var delay = settings.reconnectInitial
        while !Task.isCancelled {
            state.withLock { $0.lastMessage = .now }
            do {
                try await WebSocketClient.connect(
                    url: url, configuration: .init(maxFrameSize: 1 << 20, autoPing: .enabled(timePeriod: .seconds(20))), logger: logger
                ) { inbound, _, _ in
                    self.state.withLock { $0.connections += 1 }
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask {
                            for try await message in inbound.messages(maxSize: 1 << 20) {
                                guard case .text(let text) = message else { continue }
                                self.state.withLock { $0.lastMessage = .now }
                                await self.handle(text, deliver)
                            }
                        }
                        group.addTask {
                            while true {
                                try await Task.sleep(for: self.settings.staleAfter / 4)
                                let quiet = ContinuousClock.now - self.state.withLock(\.lastMessage)
                                if quiet > self.settings.staleAfter { throw Stale(description: "no message for \(quiet)") }
                            }
                        }
                        try await group.next()
                        group.cancelAll()
                    }
                }
                delay = settings.reconnectInitial
            } catch {
                logger.warning("market stream dropped; reconnecting", metadata: ["error": "\(error)", "retry_ms": "\(delay.milliseconds)"])
            }
            try? await Task.sleep(for: delay * Double.random(in: 0.8...1.2))
            delay = min(delay * 2, settings.reconnectMaximum)
        }
    }

    private func handle(_ text: String, _ deliver: @Sendable (MarketStreamEvent) async -> Void) async {
        guard case .object(let message)? = try? JSONValue(parsing: Array(text.utf8)), let data = message["data"] else { return }
        do {
            await deliver(try MarketStreamEvent(data))
        } catch {
            logger.error("unreadable stream message skipped", metadata: ["problem": "\(error)"])
        }
    }
}

extension Duration {
    var milliseconds: Int64 { components.seconds * 1_000 + components.attoseconds / 1_000_000_000_000_000 }
}
