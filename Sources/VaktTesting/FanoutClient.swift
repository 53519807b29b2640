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
        /// `topic key` → the newest `data` seen, and its sequence.
        public var latest: [String: (sequence: UInt64, data: JSONValue)] = [:]
        /// Each batch's `t` (the gateway's milliseconds when it left).
        public var batchTimes: [Int64] = []
        public var messages = 0
        public var lastSequence: UInt64 = 0
        public var errors: [String] = []
        /// The gateway's `closing` reason, when it said one.
        public var closingReason: String?
        public var ended = false
        /// Milliseconds between an event's `at` and its arrival, for each message.
        public var latenciesMs: [Double] = []
    }

    public let state = Mutex(Received())
    private let task: Mutex<Task<Void, Never>?> = Mutex(nil)

    public init(
        url: String, token: String, topics: [String]? = nil, resume: (epoch: String, sequence: UInt64)? = nil, stall: Bool = false
    ) {
        var hello: [String: JSONValue] = ["type": .string("hello"), "token": .string(token)]
        if let topics { hello["topics"] = .array(topics.map(JSONValue.string)) }
        if let resume { hello["resume"] = .object(["epoch": .string(resume.epoch), "sequence": .number(Double(resume.sequence))]) }
        let helloText = String(decoding: JSONValue.object(hello).encoded(), as: UTF8.self)
        task.withLock {
            $0 = Task { [self] in
                do {
                    try await WebSocketClient.connect(
                        url: url, configuration: .init(maxFrameSize: 16 << 20), logger: Logger(label: "test.fanout")
                    ) { inbound, outbound, _ in
                        try await outbound.write(.text(helloText))
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
                state.withLock { $0.ended = true }
            }
        }
    }

    /// Records one message; true once the welcome has arrived.
    private func record(_ text: String) -> Bool {
        let received = Date()
        guard case .object(let fields)? = try? JSONValue(parsing: Array(text.utf8)), case .string(let type)? = fields["type"] else {
            state.withLock { $0.errors.append("not a message: \(text.prefix(200))") }
            return false
        }
        return state.withLock { state in
            switch type {
            case "welcome": state.welcome = fields
            case "batch":
                if case .number(let t)? = fields["t"] { state.batchTimes.append(Int64(t)) }
                guard case .array(let messages)? = fields["messages"] else { break }
                for case .object(let message) in messages {
                    guard case .number(let sequence)? = message["seq"], case .string(let topic)? = message["topic"],
                        case .string(let key)? = message["key"], let data = message["data"]
                    else {
                        state.errors.append("malformed message in batch")
                        continue
                    }
                    state.messages += 1
                    state.lastSequence = max(state.lastSequence, UInt64(sequence))
                    let slot = topic + " " + key
                    if (state.latest[slot]?.sequence ?? 0) < UInt64(sequence) { state.latest[slot] = (UInt64(sequence), data) }
                    if case .string(let at)? = message["at"], let time = EventEnvelope.parseTimestamp(at) {
                        state.latenciesMs.append(received.timeIntervalSince(time) * 1000)
                    }
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
