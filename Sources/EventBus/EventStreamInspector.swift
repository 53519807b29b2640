import Foundation
import RedisClient

/// What `vakt events stats|tail|replay` shows of the streams.
public struct EventStreamInspector: Sendable {
    let redis: RedisConnection

    public init(redis: RedisConnection) {
        self.redis = redis
    }

    public struct GroupStats: Sendable, Equatable, Codable {
        public var name: String
        public var consumers: Int
        public var pending: Int
        public var lastDeliveredID: String
        public var entriesRead: Int?
        /// Entries not yet delivered to the group; Redis 7 reports none when it cannot tell.
        public var lag: Int?
    }

    public struct StreamStats: Sendable, Equatable, Codable {
        public var stream: String
        public var length: Int
        public var deadLetters: Int
        public var groups: [GroupStats]
    }

    public func stats(_ types: [EventType] = EventType.allCases) async throws -> [StreamStats] {
        var result: [StreamStats] = []
        for type in types {
            let replies = try await redis.pipeline([
                ["XLEN", type.stream], ["XLEN", type.deadLetterStream], ["XINFO", "GROUPS", type.stream],
            ])
            let groups: [GroupStats]
            if case .array(let items) = replies[2] {
                groups = items.compactMap(Self.group)
            } else {
                groups = []  // no such stream yet: XINFO answers with an error
            }
            result.append(
                StreamStats(
                    stream: type.stream, length: Int(replies[0].integer ?? 0), deadLetters: Int(replies[1].integer ?? 0), groups: groups))
        }
        return result
    }

    static func group(_ reply: RedisReply) -> GroupStats? {
        let fields = reply.fields
        guard let name = fields["name"]?.string else { return nil }
        return GroupStats(
            name: name, consumers: Int(fields["consumers"]?.integer ?? 0), pending: Int(fields["pending"]?.integer ?? 0),
            lastDeliveredID: fields["last-delivered-id"]?.string ?? "0-0", entriesRead: fields["entries-read"]?.integer.map(Int.init),
            lag: fields["lag"]?.integer.map(Int.init))
    }

    /// A stream position from an entry id (`1700000000000-0`) or an ISO 8601 time.
    public static func position(_ text: String) -> String? {
        if text == "-" || text == "+" { return text }
        let parts = text.split(separator: "-")
        if parts.count <= 2, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isNumber) }) { return text }
        guard
            let date = (try? Date(text, strategy: .iso8601))
                ?? (try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)))
        else { return nil }
        return String(Int64(date.timeIntervalSince1970 * 1000))
    }

    /// Entries of `type` from `start` to `end` (inclusive), oldest first, as raw envelope JSON.
    public func range(_ type: EventType, from start: String, to end: String, limit: Int) async throws -> [(id: String, envelope: String)] {
        var result: [(id: String, envelope: String)] = []
        var cursor = start
        while result.count < limit {
            let reply = try await redis.command(["XRANGE", type.stream, cursor, end, "COUNT", String(min(1000, limit - result.count))])
            if case .error(let message) = reply { throw RedisError.server(message) }
            let items = reply.array ?? []
            guard !items.isEmpty else { break }
            for item in items {
                guard case .array(let parts) = item, parts.count == 2, let id = parts[0].string else { continue }
                let fields = parts[1].array ?? []
                let envelope = stride(from: 0, to: fields.count - 1, by: 2).first { fields[$0].string == "envelope" }.flatMap {
                    fields[$0 + 1].string
                }
                result.append((id, envelope ?? "{}"))
                cursor = "(" + id
            }
        }
        return result
    }

    /// Points `group` back so it reads `type` again from `start`; with `forgetHandled`, the
    /// replayed events' ids leave the group's dedup window so their handlers run again.
    ///
    /// The ids are forgotten before the group is pointed back: a live consumer reads the replayed
    /// entries the moment it is, and would drop as duplicates any whose id it still found.
    public func rewind(group: String, type: EventType, to start: String, forgetHandled: Bool, until end: String) async throws -> Int {
        // Checked first, so that a mistyped group forgets nothing.
        guard try await stats([type]).first?.groups.contains(where: { $0.name == group }) == true else {
            throw UnknownGroup(group: group, stream: type.stream)
        }
        let previous = start == "-" ? "0" : try await previousID(type, before: start)
        var forgotten = 0
        if forgetHandled {
            let ids = try await range(type, from: start, to: end, limit: .max).compactMap { entry in
                entry.envelope.data(using: .utf8).flatMap { try? EventEnvelope.decode(Array($0), maximumBytes: .max).id }
            }
            var remaining = ids[...]
            while !remaining.isEmpty {
                let chunk = remaining.prefix(500)
                remaining = remaining.dropFirst(chunk.count)
                forgotten += Int(try await redis.command(["HDEL", EventConsumer.eventsKey(group: group)] + chunk).integer ?? 0)
            }
        }
        let reply = try await redis.command(["XGROUP", "SETID", type.stream, group, previous])
        if case .error(let message) = reply { throw RedisError.server(message) }
        return forgotten
    }

    public struct UnknownGroup: Error, CustomStringConvertible {
        public var group: String
        public var stream: String
        public var description: String { "stream \(stream) has no consumer group \"\(group)\"" }
    }

    private func previousID(_ type: EventType, before start: String) async throws -> String {
        let reply = try await redis.command(["XREVRANGE", type.stream, "(" + start, "-", "COUNT", "1"])
        if case .array(let items) = reply, case .array(let parts)? = items.first, let id = parts.first?.string { return id }
        return "0"
    }

    /// The id of the newest entry of each stream (`0-0` when empty): where tailing starts.
    public func ends(_ types: [EventType]) async throws -> [String: String] {
        var ends: [String: String] = [:]
        for type in types {
            let reply = try await redis.command(["XREVRANGE", type.stream, "+", "-", "COUNT", "1"])
            if case .array(let items) = reply, case .array(let parts)? = items.first, let id = parts.first?.string {
                ends[type.stream] = id
            } else {
                ends[type.stream] = "0-0"
            }
        }
        return ends
    }

    /// Waits for new entries on `types` and returns them (envelope JSON), advancing `cursor`.
    public func next(_ types: [EventType], after cursor: inout [String: String], block: Duration) async throws -> [(
        stream: String, envelope: String
    )] {
        let ids = types.map { cursor[$0.stream] ?? "$" }
        let reply = try await redis.command(
            ["XREAD", "COUNT", "100", "BLOCK", String(block.components.seconds * 1000), "STREAMS"] + types.map(\.stream) + ids,
            blocking: true)
        var result: [(stream: String, envelope: String)] = []
        for stream in reply.array ?? [] {
            guard case .array(let pair) = stream, pair.count == 2, let name = pair[0].string else { continue }
            for item in pair[1].array ?? [] {
                guard case .array(let parts) = item, parts.count == 2, let id = parts[0].string else { continue }
                cursor[name] = id
                let fields = parts[1].array ?? []
                let envelope = stride(from: 0, to: fields.count - 1, by: 2).first { fields[$0].string == "envelope" }.flatMap {
                    fields[$0 + 1].string
                }
                result.append((name, envelope ?? "{}"))
            }
        }
        return result
    }
}
