import Foundation
import RedisClient
import Synchronization
import VaktConfig

/// The `XADD` commands that publish envelopes, each trimming its stream by the stream's
/// retention, and the `WAIT` for replicas after them when the settings ask for replicas. A
/// stream trimmed by length always starts its command with the same arguments, so they are
/// encoded once per stream; trimming by age names a time and is encoded per send.
final class XAddEncoder: Sendable {
    private let settings: EventBusSettings
    /// One entry per stream published to: bounded by the event types.
    private let lengthTrimmed = Mutex<[String: RedisCommandBuffer.Arguments]>([:])

    init(settings: EventBusSettings) { self.settings = settings }

    func commands(for entries: [(stream: String, envelope: [UInt8])]) -> RedisCommandBuffer {
        var commands = RedisCommandBuffer(capacity: entries.reduce(0) { $0 + $1.envelope.count + 96 })
        var now: Int64?
        var previous: (stream: String, arguments: RedisCommandBuffer.Arguments)?
        for entry in entries {
            let leading: RedisCommandBuffer.Arguments
            if let previous, previous.stream == entry.stream {
                leading = previous.arguments
            } else {
                leading = leadingArguments(of: entry.stream, now: &now)
                previous = (entry.stream, leading)
            }
            commands.append(leading, entry.envelope)
        }
        if settings.replicaAcks > 0 {
            commands.append(["WAIT", String(settings.replicaAcks), String(settings.replicaAckTimeout.milliseconds)].map { Array($0.utf8) })
        }
        return commands
    }

    private func leadingArguments(of stream: String, now: inout Int64?) -> RedisCommandBuffer.Arguments {
        switch settings.retention(of: stream) {
        case .maxLength(let length):
            return lengthTrimmed.withLock { cache in
                if let cached = cache[stream] { return cached }
                let arguments = RedisCommandBuffer.Arguments(["XADD", stream, "MAXLEN", "~", String(length), "*", "envelope"])
                cache[stream] = arguments
                return arguments
            }
        case .maxAge(let age):
            let milliseconds = now ?? Int64(Date().timeIntervalSince1970 * 1000)
            now = milliseconds
            return RedisCommandBuffer.Arguments(["XADD", stream, "MINID", "~", "\(milliseconds - age.milliseconds)-0", "*", "envelope"])
        }
    }
}
