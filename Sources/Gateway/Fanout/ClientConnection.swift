import EventBus
import HummingbirdWebSocket
import Logging
import ServiceKit
import Synchronization

/// One dashboard's WebSocket at `/ws`: it says hello with its read token, the topics it wants
/// and, after a reconnect, where it left off; then it gets batches from the ``FanoutHub`` until
/// it leaves or is cut off for being too slow. Bad client messages are answered with an error
/// naming the field, and change nothing.
///
/// Client → gateway (text, JSON):
/// - `{"type":"hello","token":"…","topics":["position.updated",…],"resume":{"epoch":"…","sequence":N}}`
///   (topics default to all; resume is optional)
/// - `{"type":"subscribe","topics":[…]}`, `{"type":"unsubscribe","topics":[…]}`
///
/// Gateway → client: `welcome` (epoch, sequence, whether the resume worked or a snapshot is
/// needed), `batch` (`t` in ms, `messages` each `{"seq","topic","key","id","at","data"}`),
/// `error`, and `closing` with the reason before a cut.
struct ClientConnection: Sendable {
    let hub: FanoutHub
    let access: ControlAuthenticator
    /// A write that has not finished by then cuts the client off.
    let stallTimeout: Duration
    /// A connection that has not said hello by then is closed.
    let helloTimeout: Duration
    let logger: Logger

    /// A client message that is not what the protocol says; the description names the field.
    struct ProtocolError: Error, CustomStringConvertible {
        var description: String
        static func invalid(_ description: String) -> ProtocolError { ProtocolError(description: description) }
    }

    struct Hello: Equatable {
        var token: String
        var topics: Set<String>
        var resume: FanoutHub.ResumePoint?
    }

    func serve(_ inbound: WebSocketInboundStream, _ outbound: WebSocketOutboundWriter) async throws {
        var messages = inbound.messages(maxSize: 1 << 16).makeAsyncIterator()
        // Closing the connection ends the wait for hello.
        let helloTimer = Task {
            try await Task.sleep(for: helloTimeout)
            try await Self.send(outbound, error: "no hello within \(helloTimeout)")
            try await outbound.close(.policyViolation, reason: "no hello")
        }
        let first = try await messages.next()
        helloTimer.cancel()
        guard let first else { return }
        let hello: Hello
        do {
            hello = try Self.parseHello(first)
        } catch {
            try await Self.send(outbound, error: error.description)
            try await outbound.close(.policyViolation, reason: "expected hello")
            return
        }
        if let rejection = access.rejection(of: hello.token[...], action: "WebSocket /ws") {
            try await Self.send(outbound, error: rejection.message)
            try await outbound.close(.policyViolation, reason: "unauthorized")
            return
        }
        guard let (id, wakes, resume) = hub.connect(topics: hello.topics, resumingFrom: hello.resume) else {
            try await Self.send(outbound, error: "the gateway serves \(hub.maxClients) clients already; retry later")
            try await outbound.close(.unknown(1013), reason: "too many clients")
            return
        }
        defer { hub.disconnect(id) }
        try await outbound.write(.text(welcome(topics: hello.topics, resume: resume)))
        // The reader task takes the iterator over; nothing here touches it again.
        let remaining = Handover(messages)
        let watch = WriteWatch()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await write(id, wakes: wakes, outbound, watch: watch) }
            group.addTask {
                var messages = remaining.value
                while let message = try await messages.next() {
                    guard case .text(let text) = message else { continue }
                    if let reply = handle(text, client: id) { try await outbound.write(.text(reply)) }
                }
            }
            // One watchdog per connection rather than a deadline per write: a write in progress
            // for longer than the limit ends the connection (its cancellation ends the write).
            group.addTask {
                while true {
                    try await Task.sleep(for: stallTimeout / 4)
                    if let started = watch.startedAt.withLock({ $0 }), ContinuousClock.now - started > stallTimeout {
                        hub.stalled(id, after: stallTimeout)
                        logger.warning("WebSocket client cut off: a write did not finish", metadata: ["client": "\(id)"])
                        return
                    }
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }

    /// Sends the client's batches as the hub releases them; returns when it is cut off.
    private func write(_ id: Int, wakes: AsyncStream<Void>, _ outbound: WebSocketOutboundWriter, watch: WriteWatch) async throws {
        let startedAt = ContinuousClock.now
        var wakeups = wakes.makeAsyncIterator()
        while !Task.isCancelled {
            switch hub.next(id) {
            case .send(let batch, let takenAt):
                let frame = hub.batchFrame(batch, takenAt: takenAt, startedAt: startedAt)
                watch.startedAt.withLock { $0 = .now }
                try await outbound.write(.text(frame))
                watch.startedAt.withLock { $0 = nil }
            case .wait(let until):
                try await Task.sleep(until: until, clock: .continuous)
            case .idle:
                guard await wakeups.next() != nil else { return }
            case .cut(let reason):
                logger.warning("WebSocket client cut off", metadata: ["client": "\(id)", "reason": "\(reason)"])
                let notice = JSONValue.object(["type": .string("closing"), "reason": .string(reason)])
                watch.startedAt.withLock { $0 = .now }
                try await outbound.write(.text(String(decoding: notice.encoded(), as: UTF8.self)))
                try await outbound.close(.policyViolation, reason: String(reason.prefix(120)))
                return
            }
        }
    }

    private func welcome(topics: Set<String>, resume: FanoutHub.Resume?) -> String {
        var fields: [String: JSONValue] = [
            "type": .string("welcome"), "epoch": .string(hub.epoch), "sequence": .number(Double(hub.sequence)),
            "topics": .array(topics.sorted().map(JSONValue.string)),
            "limits": .object([
                "batchWindowMs": .number(Double(hub.limits.batchWindow.milliseconds)),
                "maxMessagesPerSecond": .number(Double(hub.limits.maxMessagesPerSecond)),
                "queue": .number(Double(hub.limits.capacity)),
            ]),
        ]
        switch resume {
        case nil: fields["resume"] = .string("none")
        case .resumed(let count)?:
            fields["resume"] = .string("resumed")
            fields["resumed"] = .number(Double(count))
        case .snapshotNeeded(let reason)?:
            fields["resume"] = .string("snapshot")
            fields["reason"] = .string(reason)
        }
        return String(decoding: JSONValue.object(fields).encoded(), as: UTF8.self)
    }

    /// Answers a message after hello; nil when there is nothing to say.
    func handle(_ text: String, client id: Int) -> String? {
        do {
            let request = try Self.object(text)
            guard case .string(let type)? = request["type"] else { throw ProtocolError.invalid("type: expected a string") }
            switch type {
            case "subscribe": hub.subscribe(id, try Self.topics(request["topics"]) ?? [])
            case "unsubscribe": hub.unsubscribe(id, try Self.topics(request["topics"]) ?? [])
            default: throw ProtocolError.invalid("type: expected subscribe or unsubscribe, got \"\(type)\"")
            }
            return nil
        } catch {
            return Self.errorText("\(error)")
        }
    }

    static func parseHello(_ message: WebSocketMessage) throws(ProtocolError) -> Hello {
        guard case .text(let text) = message else { throw .invalid("expected a text message with hello") }
        let request = try object(text)
        guard case .string("hello")? = request["type"] else { throw .invalid("type: the first message must be hello") }
        guard case .string(let token)? = request["token"] else { throw .invalid("token: expected the read token as a string") }
        let topics = try topics(request["topics"]) ?? FanoutTopics.all
        var resume: FanoutHub.ResumePoint?
        switch request["resume"] {
        case nil, .null?: break
        case .object(let fields)?:
            guard case .string(let epoch)? = fields["epoch"] else { throw .invalid("resume.epoch: expected a string") }
            guard case .number(let number)? = fields["sequence"], number >= 0, number == number.rounded(), number < 9e15 else {
                throw .invalid("resume.sequence: expected a whole number not below 0")
            }
            resume = .init(epoch: epoch, sequence: UInt64(number))
        default: throw .invalid("resume: expected an object with epoch and sequence")
        }
        return Hello(token: token, topics: topics, resume: resume)
    }

    static func object(_ text: String) throws(ProtocolError) -> [String: JSONValue] {
        guard let value = try? JSONValue(parsing: Array(text.utf8)) else { throw .invalid("not JSON: \(text.prefix(80))") }
        guard case .object(let fields) = value else { throw .invalid("expected a JSON object") }
        return fields
    }

    static func topics(_ value: JSONValue?) throws(ProtocolError) -> Set<String>? {
        guard let value else { return nil }
        guard case .array(let items) = value else { throw .invalid("topics: expected an array of event types") }
        var topics: Set<String> = []
        for (index, item) in items.enumerated() {
            guard case .string(let topic) = item, FanoutTopics.all.contains(topic) else {
                throw .invalid("topics[\(index)]: unknown topic; expected one of \(FanoutTopics.all.sorted().joined(separator: ", "))")
            }
            topics.insert(topic)
        }
        return topics
    }

    static func errorText(_ message: String) -> String {
        String(decoding: JSONValue.object(["type": .string("error"), "error": .string(message)]).encoded(), as: UTF8.self)
    }

    static func send(_ outbound: WebSocketOutboundWriter, error: String) async throws {
        try await outbound.write(.text(errorText(error)))
    }
}

/// Hands a value that is not `Sendable` to one other task, when the giver never uses it again.
private struct Handover<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// When the write in progress began, if one is.
private final class WriteWatch: Sendable {
    let startedAt = Mutex<ContinuousClock.Instant?>(nil)
}
