import ArgumentParser
import EventBus
import Foundation
import RedisClient
import ServiceKit
import VaktConfig

struct EventsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events", abstract: "Inspects the event bus: stream statistics, live tail, replay.",
        subcommands: [Stats.self, Tail.self, Replay.self])

    struct Target: ParsableArguments {
        @Option(name: .long, help: "The configuration file naming Redis (default: $VAKT_CONFIG, else config/vakt.yaml).")
        var config: String?

        func inspector(blockingFor block: Duration = .zero) throws -> EventStreamInspector {
            let configuration = try loadConfiguration(
                ConfigurationLoader.path(explicit: config, environment: ProcessInfo.processInfo.environment))
            var endpoint = ServiceRuntime.redisEndpoint(configuration.redis, secrets: SecretStore())
            endpoint.commandTimeout += block
            return EventStreamInspector(redis: RedisConnection(endpoint: endpoint, label: "cli"))
        }
    }

    static func types(_ names: [String]) throws -> [EventType] {
        guard !names.isEmpty else { return EventType.allCases }
        return try names.map { name in
            guard let type = EventType(rawValue: name) else {
                throw ValidationError(
                    "unknown event type \"\(name)\"; known: \(EventType.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return type
        }
    }

    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Lists every stream: length, dead letters, and per consumer group its consumers, pending entries and lag.")

        @OptionGroup var target: Target
        @Flag(help: "Print JSON instead of a table.") var json = false
        @Argument(help: "Event types to show (default: all).") var types: [String] = []

        func run() async throws {
            let stats = try await target.inspector().stats(try EventsCommand.types(types))
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                print(String(decoding: try encoder.encode(stats), as: UTF8.self))
                return
            }
            print("STREAM                   LENGTH  DEAD  GROUP            CONSUMERS  PENDING  LAG")
            for stream in stats {
                let head =
                    "\(stream.stream.padding(toLength: 24, withPad: " ", startingAt: 0)) \(String(stream.length).leftPadded(6))  \(String(stream.deadLetters).leftPadded(4))"
                if stream.groups.isEmpty { print(head + "  -") }
                for (index, group) in stream.groups.enumerated() {
                    let prefix = index == 0 ? head : String(repeating: " ", count: head.count)
                    let lag = group.lag.map(String.init) ?? "unknown"
                    print(
                        "\(prefix)  \(group.name.padding(toLength: 16, withPad: " ", startingAt: 0)) \(String(group.consumers).leftPadded(9))  \(String(group.pending).leftPadded(7))  \(lag)"
                    )
                }
            }
        }
    }

    struct Tail: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Prints new events as they are published, one JSON envelope per line, until Ctrl-C.")

        @OptionGroup var target: Target
        @Argument(help: "Event types to follow (default: all).") var types: [String] = []

        func run() async throws {
            let types = try EventsCommand.types(types)
            let inspector = try target.inspector(blockingFor: .seconds(1))
            var cursor = try await inspector.ends(types)
            // On stderr, so that stdout stays one envelope per line.
            FileHandle.standardError.write(Data("following \(types.count) streams from their ends\n".utf8))
            while !Task.isCancelled {
                for entry in try await inspector.next(types, after: &cursor, block: .seconds(1)) {
                    // One line at once, also through a pipe.
                    FileHandle.standardOutput.write(Data((entry.envelope + "\n").utf8))
                }
            }
        }
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replays one stream by id or time range: to stdout, or into a consumer group.",
            discussion: """
                --from and --to take an entry id (1732665600000-0) or an ISO 8601 time. Without --group,
                the entries are printed as JSON envelopes, one per line. With --group, the group is
                pointed back to --from so its consumers read the stream again from there; events they
                already handled are then dropped by their dedup window unless --reprocess removes them
                from it.
                """)

        @OptionGroup var target: Target
        @Argument(help: "The event type (stream) to replay.") var type: String
        @Option(help: "Start: entry id or ISO 8601 time (default: the beginning).") var from = "-"
        @Option(help: "End: entry id or ISO 8601 time (default: the end).") var to = "+"
        @Option(help: "Most entries to print.") var limit = 100_000
        @Option(help: "Replay into this consumer group instead of printing.") var group: String?
        @Flag(help: "With --group: let the group's handlers run again for events they already handled.") var reprocess = false

        func run() async throws {
            guard let type = try EventsCommand.types([type]).first else { return }
            guard let start = EventStreamInspector.position(from) else {
                throw ValidationError("--from \"\(from)\" is neither an entry id nor an ISO 8601 time")
            }
            guard let end = EventStreamInspector.position(to) else {
                throw ValidationError("--to \"\(to)\" is neither an entry id nor an ISO 8601 time")
            }
            let inspector = try target.inspector()
            if let group {
                let forgotten = try await inspector.rewind(group: group, type: type, to: start, forgetHandled: reprocess, until: end)
                print("\(type.stream): group \(group) rewound to \(from)" + (reprocess ? "; \(forgotten) handled ids forgotten" : ""))
                return
            }
            for entry in try await inspector.range(type, from: start, to: end, limit: limit) { print(entry.envelope) }
        }
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
