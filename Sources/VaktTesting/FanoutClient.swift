import EventBus
import Foundation
import HummingbirdWSClient
import Logging
import Synchronization

/// A WebSocket client of the gateway as a test drives it: it says hello (with a token, topics and
/// optionally where to resume), then records what arrives: each key's latest data, each batch's
/// send time, errors and the close reason. It can stall (stop reading after the welcome, as a
/// frozen browser tab would) to be cut off.
public final class FanoutClient: Sendable {
    public struct Received: Sendable {
        public var welcome: [String: JSONValue]?
        /// `topic key` → the newest `data` seen (its JSON text, as the gateway wrote it), and its
        /// sequence.
        public var latest: [String: (sequence: UInt64, text: Substring)] = [:]

        /// The newest `data` of `slot` (`topic key`), parsed.
        public func data(_ slot: String) -> JSONValue? {
            latest[slot].flatMap { try? JSONValue(parsing: Array($0.text.utf8)) }
        }
        /// Each batch's `t` (the gateway's milliseconds when it left).
        public var batchTimes: [Int64] = []
        public var messages = 0
        public var lastSequence: UInt64 = 0
        public var errors: [String] = []
        /// The gateway's `closing` reason, when it said one.
        public var closingReason: String?
        public var ended = false
        /// For every eighth message: when its event occurred, and the milliseconds from then to
        /// its arrival here.
        public var latencies: [(at: Date, milliseconds: Double)] = []
        /// Welcomes received (one per connection that got as far), and, reconnecting, each gap
        /// from a connection's end to the next welcome, with the connection attempts it took.
        public var welcomes = 0
        public var outages: [(attempts: Int, duration: Duration)] = []
        var droppedAt: ContinuousClock.Instant?
        var attemptsSinceDrop = 0
        var welcomedOnThisConnection = false
    }

    public let state = Mutex(Received())
    private let task: Mutex<Task<Void, Never>?> = Mutex(nil)

    /// - Parameter reconnect: when the connection ends, connect again as the dashboard does
    ///   (0.5 s doubling to 15 s, from the first try after a welcome), resuming from the last
    ///   welcome's epoch and the last sequence seen; ``Received/outages`` records each gap.
    public init(
        url: String, token: String, topics: [String]? = nil, resume: (epoch: String, sequence: UInt64)? = nil, stall: Bool = false,
        reconnect: Bool = false
    ) {
        func hello(_ resume: (epoch: String, sequence: UInt64)?) -> String {
            var hello: [String: JSONValue] = ["type": .string("hello"), "token": .string(token)]
            if let topics { hello["topics"] = .array(topics.map(JSONValue.string)) }
            if let resume { hello["resume"] = .object(["epoch": .string(resume.epoch), "sequence": .number(Double(resume.sequence))]) }
            return String(decoding: JSONValue.object(hello).encoded(), as: UTF8.self)
        }
        task.withLock {
            $0 = Task { [self] in
                var resume = resume
                var delay = Duration.milliseconds(500)
                while true {
                    state.withLock { state in
                        state.welcomedOnThisConnection = false
                        if state.droppedAt != nil { state.attemptsSinceDrop += 1 }
                    }
                    await connectOnce(url: url, hello: hello(resume), stall: stall)
                    guard reconnect, !Task.isCancelled else { break }
                    let welcomed = state.withLock { state in
                        if state.droppedAt == nil {
                            state.droppedAt = .now
                            state.attemptsSinceDrop = 0
                        }
                        return state.welcomedOnThisConnection
                    }
                    if welcomed { delay = .milliseconds(500) }
                    try? await Task.sleep(for: delay)
                    delay = min(delay * 2, .seconds(15))
                    resume = state.withLock { state in
                        guard case .string(let epoch)? = state.welcome?["epoch"] else { return resume }
                        return (epoch, state.lastSequence)
                    }
                }
                state.withLock { $0.ended = true }
            }
        }
    }

    private func connectOnce(url: String, hello: String, stall: Bool) async {
        do {
            try await WebSocketClient.connect(
                url: url, configuration: .init(maxFrameSize: 16 << 20), logger: Logger(label: "test.fanout")
            ) { inbound, outbound, _ in
                try await outbound.write(.text(hello))
                for try await message in inbound.messages(maxSize: 16 << 20) {
                    guard case .text(let text) = message else { continue }
                    let stalled = self.record(text)
                    if stall && stalled {
                        // Read nothing more: the gateway's writes back up until it cuts us off.
                        while !Task.isCancelled { try await Task.sleep(for: .seconds(3600)) }
                    }
                }
            }
        } catch {
            state.withLock { $0.errors.append("connection: \(error)") }
        }
    }

    /// Records one message; true once the welcome has arrived.
    private func record(_ text: String) -> Bool {
        if text.hasPrefix(#"{"type":"batch""#) {
            recordBatch(text)
            return true
        }
        guard case .object(let fields)? = try? JSONValue(parsing: Array(text.utf8)), case .string(let type)? = fields["type"] else {
            state.withLock { $0.errors.append("not a message: \(text.prefix(200))") }
            return false
        }
        return state.withLock { state in
            switch type {
            case "welcome":
                state.welcome = fields
                state.welcomes += 1
                state.welcomedOnThisConnection = true
                if let dropped = state.droppedAt {
                    state.outages.append((state.attemptsSinceDrop, .now - dropped))
                    state.droppedAt = nil
                }
            case "error":
                if case .string(let error)? = fields["error"] { state.errors.append(error) }
            case "closing":
                if case .string(let reason)? = fields["reason"] { state.closingReason = reason }
            default: state.errors.append("unknown message type \(type)")
            }
            return state.welcome != nil
        }
    }

    /// A batch, read by its fixed layout rather than parsed whole: a thousand clients parsing
    /// every frame in full would measure themselves, not the gateway. Each message is
    /// `{"seq":N,"topic":"…","key":"…","id":"…","at":"…","data":…}`.
    private func recordBatch(_ text: String) {
        let received = Date()
        let t = Self.field(#""t":"#, in: text[...], until: ",").flatMap { Int64($0) }
        var messages: [(sequence: UInt64, slot: String, at: Substring?, data: Substring)] = []
        var rest = text[...]
        var malformed = false
        while let start = rest.range(of: #"{"seq":"#) {
            let next = rest[start.upperBound...].range(of: #"{"seq":"#)?.lowerBound ?? rest.endIndex
            let chunk = rest[start.lowerBound..<next]
            rest = rest[next...]
            guard let sequence = Self.field(#"{"seq":"#, in: chunk, until: ",").flatMap({ UInt64($0) }),
                let topic = Self.field(#""topic":""#, in: chunk, until: "\""), let key = Self.field(#""key":""#, in: chunk, until: "\""),
                let dataStart = chunk.range(of: #""data":"#)?.upperBound
            else {
                malformed = true
                continue
            }
            // The data runs to the message's closing brace: the chunk ends "}," or, last, "}]}".
            let data = chunk[dataStart...].dropLast(chunk.hasSuffix("}]}") ? 3 : 2)
            messages.append((sequence, topic + " " + key, Self.field(#""at":""#, in: chunk, until: "\""), data))
        }
        state.withLock { state in
            if let t { state.batchTimes.append(t) }
            if malformed { state.errors.append("malformed message in batch: \(text.prefix(200))") }
            for message in messages {
                state.messages += 1
                state.lastSequence = max(state.lastSequence, message.sequence)
                if (state.latest[message.slot]?.sequence ?? 0) < message.sequence {
                    state.latest[message.slot] = (message.sequence, message.data)
                }
                // Every eighth message's latency: parsing every time would make this client,
                // not the gateway, what a thousand of them measure.
                if state.messages % 8 == 1, let at = message.at, let time = EventEnvelope.parseTimestamp(String(at)) {
                    state.latencies.append((time, received.timeIntervalSince(time) * 1000))
                }
            }
        }
    }

    /// The text after `prefix` up to `end`.
    private static func field(_ prefix: String, in text: Substring, until end: Character) -> Substring? {
        guard let start = text.range(of: prefix)?.upperBound else { return nil }
        let value = text[start...]
        return value.firstIndex(of: end).map { value[..<$0] }
    }

    /// Waits until `condition` holds of what arrived, or `timeout` passes; whether it held.
    public func waitUntil(timeout: Duration = .seconds(60), _ condition: (Received) -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if state.withLock({ condition($0) }) { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return state.withLock { condition($0) }
    }

    /// The greatest number of batches that left within any one second, by the gateway's times.
    public var mostBatchesInOneSecond: Int {
        let times = state.withLock { $0.batchTimes }.sorted()
        var most = 0
        var first = 0
        for (index, time) in times.enumerated() {
            while times[first] <= time - 1000 { first += 1 }
            most = max(most, index - first + 1)
        }
        return most
    }

    public func close() {
        task.withLock { $0?.cancel() }
    }

    deinit { task.withLock { $0?.cancel() } }
}
