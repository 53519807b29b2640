import Binance
import EventBus
import Foundation
import HTTPTypes
import HummingbirdWebSocket
import PaperExchange

/// The paper exchange's WebSockets, at Binance's paths: the WebSocket API (`/ws-api/v3`, for
/// the user data stream by `userDataStream.subscribe.signature`) and the market streams, raw
/// (`/ws/btcusdt@trade`) or combined (`/stream?streams=btcusdt@trade/btcusdt@kline_1m`), with
/// `SUBSCRIBE` / `UNSUBSCRIBE` on an open connection.
struct WebSocketRoutes: Sendable {
    let hub: StreamHub
    let desk: ExchangeDesk
    let markets: SimulatedMarkets
    let credentials: SignedRequest.Credentials?

    typealias Handler = WebSocketDataHandler<HTTP1WebSocketUpgradeChannel.Context>

    /// The streams a subscriber may name: trades, 1s and 1m klines, and the best bid and ask
    /// of every listed symbol.
    func isStream(_ name: String) -> Bool {
        let parts = name.split(separator: "@", maxSplits: 1).map(String.init)
        guard parts.count == 2, markets.symbol(parts[0].uppercased()) != nil else { return false }
        return ["trade", "bookTicker"].contains(parts[1]) || MarketPump.klineIntervals.contains { parts[1] == "kline_\($0)" }
    }

    func upgrade(_ request: HTTPRequest) -> ShouldUpgradeResult<Handler> {
        let target = request.path ?? ""
        let path = String(target.split(separator: "?", maxSplits: 1).first ?? "")
        let query = target.contains("?") ? SignedRequest.decode(String(target.split(separator: "?", maxSplits: 1)[1])) : [:]
        if path == "/ws-api/v3" {
            return .upgrade([:]) { inbound, outbound, _ in try await webSocketAPI(inbound, outbound) }
        }
        let streams: [String]
        let combined: Bool
        if path.hasPrefix("/ws/") {
            streams = path.dropFirst("/ws/".count).split(separator: "/").map(String.init)
            combined = false
        } else if path == "/stream" {
            streams = (query["streams"] ?? "").split(separator: "/").map(String.init)
            combined = true
        } else if path == "/ws" {
            streams = []
            combined = false
        } else {
            return .dontUpgrade
        }
        guard streams.allSatisfy(isStream) else { return .dontUpgrade }
        let subscribed = Set(streams)
        return .upgrade([:]) { inbound, outbound, _ in
            try await marketStreams(subscribed, combined: combined, inbound, outbound)
        }
    }

    /// Sends the subscribed streams until the client leaves or the hub closes the connection,
    /// and answers `SUBSCRIBE`, `UNSUBSCRIBE` and `LIST_SUBSCRIPTIONS`.
    private func marketStreams(
        _ streams: Set<String>, combined: Bool, _ inbound: WebSocketInboundStream, _ outbound: WebSocketOutboundWriter
    ) async throws {
        try await serve(
            streams, wrap: { channel, data in combined ? #"{"stream":"\#(channel)","data":\#(data)}"# : data }, inbound, outbound,
            answer: answerStreamRequest)
    }

    /// One connection: what the hub sends its subscription goes out, each text request is
    /// answered with `answer`, until either side ends (the hub ends it for a disconnect fault).
    private func serve(
        _ channels: Set<String>, wrap: @escaping @Sendable (_ channel: String, _ data: String) -> String,
        _ inbound: WebSocketInboundStream, _ outbound: WebSocketOutboundWriter,
        answer: @escaping @Sendable (_ request: String, _ subscriber: Int) -> String
    ) async throws {
        let (id, messages) = hub.subscribe(channels, wrap: wrap)
        defer { hub.unsubscribe(id) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { for await message in messages { try await outbound.write(.text(message)) } }
            group.addTask {
                for try await message in inbound.messages(maxSize: 1 << 16) {
                    guard case .text(let text) = message else { continue }
                    try await outbound.write(.text(answer(text, id)))
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }

    private func answerStreamRequest(_ text: String, subscriber: Int) -> String {
        guard case .object(let request)? = try? JSONValue(parsing: Array(text.utf8)), case .string(let method)? = request["method"] else {
            return #"{"error":{"code":3,"msg":"Invalid JSON: expected an object with a method"},"id":null}"#
        }
        let id = request["id"] ?? .null
        func reply(_ fields: [String: JSONValue]) -> String {
            String(decoding: JSONValue.object(fields.merging(["id": id]) { $1 }).encoded(), as: UTF8.self)
        }
        var names: [String] = []
        if case .array(let items)? = request["params"] {
            names = items.compactMap { if case .string(let name) = $0 { name } else { nil } }
        }
        switch method {
        case "SUBSCRIBE", "UNSUBSCRIBE":
            guard let bad = names.first(where: { !isStream($0) }) else {
                if method == "SUBSCRIBE" {
                    hub.change(subscriber, adding: Set(names))
                } else {
                    hub.change(subscriber, removing: Set(names))
                }
                return reply(["result": .null])
            }
            return reply(["error": .object(["code": .number(2), "msg": .string("Invalid request: unknown stream '\(bad)'")])])
        default:
            return reply(["error": .object(["code": .number(2), "msg": .string("Invalid request: unknown method '\(method)'")])])
        }
    }

    /// Binance's WebSocket API, the methods the adapter uses: `ping`, `time`,
    /// `userDataStream.subscribe.signature` (then the account's events arrive as
    /// `{"subscriptionId": 0, "event": …}`) and `userDataStream.unsubscribe`.
    private func webSocketAPI(_ inbound: WebSocketInboundStream, _ outbound: WebSocketOutboundWriter) async throws {
        try await serve([], wrap: { _, data in data }, inbound, outbound, answer: answerAPIRequest)
    }

    private func answerAPIRequest(_ text: String, subscriber: Int) -> String {
        let parsed = try? JSONValue(parsing: Array(text.utf8))
        guard case .object(let request)? = parsed else {
            return Self.apiError(
                .null, BinanceError(code: -1102, msg: "Mandatory parameter 'method' was not sent, was empty/null, or malformed."))
        }
        let id = request["id"] ?? .null
        guard case .string(let method)? = request["method"] else {
            return Self.apiError(id, .mandatory("method"))
        }
        var parameters: [String: String] = [:]
        if case .object(let fields)? = request["params"] {
            for (name, value) in fields {
                switch value {
                case .string(let text): parameters[name] = text
                case .number(let number): parameters[name] = number == number.rounded() ? String(Int64(number)) : String(number)
                case .bool(let flag): parameters[name] = String(flag)
                default: break
                }
            }
        }
        let now = desk.clock.now()
        switch method {
        case "ping":
            return Self.apiResult(id, .object([:]))
        case "time":
            return Self.apiResult(id, .object(["serverTime": .number(Double(now))]))
        case "userDataStream.subscribe.signature":
            if let error = verify(parameters, now: now) { return Self.apiError(id, error) }
            hub.change(subscriber, adding: [StreamHub.userChannel])
            return Self.apiResult(id, .object(["subscriptionId": .number(0)]))
        case "userDataStream.unsubscribe":
            hub.change(subscriber, removing: [StreamHub.userChannel])
            return Self.apiResult(id, .object([:]))
        default:
            return Self.apiError(id, BinanceError(code: -1020, msg: "This operation is not supported."))
        }
    }

    /// A signed WebSocket API request: every parameter but `signature`, sorted by name, is
    /// the signed payload.
    private func verify(_ parameters: [String: String], now: Int64) -> BinanceError? {
        guard let credentials, let key = parameters["apiKey"], credentials.apiKey.matches(key) else {
            return .badAPIKey
        }
        guard let signature = parameters["signature"] else { return .mandatory("signature") }
        let payload = parameters.filter { $0.key != "signature" }.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            .joined(separator: "&")
        guard RequestSignature.isValid(signature, for: payload, secret: credentials.secret) else { return .badSignature }
        return SignedRequest.untimely(parameters, now: now)
    }

    static func apiResult(_ id: JSONValue, _ result: JSONValue) -> String {
        String(
            decoding: JSONValue.object(["id": id, "status": .number(200), "result": result, "rateLimits": .array([])]).encoded(),
            as: UTF8.self)
    }

    static func apiError(_ id: JSONValue, _ error: BinanceError) -> String {
        String(
            decoding: JSONValue.object([
                "id": id, "status": .number(Double(error.httpStatus)),
                "error": .object(["code": .number(Double(error.code)), "msg": .string(error.msg)]),
            ]).encoded(), as: UTF8.self)
    }
}
