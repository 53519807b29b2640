import ArgumentParser
import EventBus
import Foundation
import ServiceKit
import VaktConfig

/// Where the risk service is and the token for changes.
struct RiskTarget: ParsableArguments {
    @Option(name: .long, help: "The configuration file naming the risk service's address (default: $VAKT_CONFIG, else config/vakt.yaml).")
    var config: String?

    @Option(name: .long, help: "The risk service's base URL, instead of the one in the configuration (e.g. http://127.0.0.1:8003).")
    var url: String?

    func client() throws -> ControlClient {
        let configuration = try loadConfiguration(
            ConfigurationLoader.path(explicit: config, environment: ProcessInfo.processInfo.environment))
        let port = configuration.service(.risk).port ?? ServiceKind.risk.defaultPort
        let secret = configuration.ess.controlTokenSecret
        return ControlClient(
            baseURL: url ?? "http://\(configuration.http.host):\(port)", token: SecretStore().secret(named: secret), tokenSecret: secret)
    }

    /// Runs a request, turning a refusal into the command's error message.
    func request(_ body: (ControlClient) async throws -> Data) async throws -> JSONValue {
        do {
            let data = try await body(try client())
            return try JSONDecoder().decode(JSONValue.self, from: data)
        } catch let error as ControlClient.ClientError {
            throw ValidationError(error.description)
        }
    }
}

struct ESSCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ess", abstract: "Shows and steers the Emergency Stop System (on the risk service).",
        discussion: """
            trip, reduce and reset need the control token: VAKT_SECRET_CONTROL_TOKEN, or the systemd
            credential named by ess.control_token_secret; every change needs a reason and is logged.
            """,
        subcommands: [Status.self, Change<TripChange>.self, Change<ReduceChange>.self, Change<ResetChange>.self])

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Prints the state, since when and why, the cooldown left, the evaluator inputs and recent transitions.")

        @OptionGroup var target: RiskTarget

        @Flag(help: "Print the risk service's JSON instead of text.")
        var json = false

        func run() async throws {
            let answer = try await target.request { try await $0.get("/api/ess") }
            print(json ? String(decoding: answer.encoded(), as: UTF8.self) : Self.describe(answer))
        }

        static func describe(_ answer: JSONValue) -> String {
            guard case .object(let fields) = answer, case .object(let status)? = fields["status"] else {
                return String(decoding: answer.encoded(), as: UTF8.self)
            }
            func text(_ object: [String: JSONValue], _ key: String) -> String {
                switch object[key] {
                case .string(let value)?: value
                case .number(let value)?: String(Int(value))
                default: "-"
                }
            }
            var lines = [
                "ESS \(text(status, "state").uppercased()) since \(text(status, "since")) (\(text(status, "trigger")), by \(text(status, "source")))",
                "  reason: \(text(status, "reason"))",
            ]
            if fields["cooldownRemainingSeconds"] != nil { lines.append("  cooldown: \(text(fields, "cooldownRemainingSeconds")) s left") }
            if case .object(let inputs)? = fields["inputs"] {
                lines.append(
                    "  inputs: "
                        + inputs.keys.sorted().map { "\($0)=\(String(decoding: inputs[$0]!.encoded(), as: UTF8.self))" }.joined(
                            separator: " "))
            }
            if case .array(let recent)? = fields["recent"], !recent.isEmpty {
                lines.append("recent transitions (newest first):")
                for case .object(let transition) in recent {
                    lines.append(
                        "  \(text(transition, "at"))  \(text(transition, "from")) -> \(text(transition, "to"))  [\(text(transition, "trigger"))] \(text(transition, "reason"))"
                    )
                }
            }
            return lines.joined(separator: "\n")
        }
    }

    /// `vakt ess trip|reduce|reset --reason TEXT`.
    struct Change<Kind: ControlAction>: AsyncParsableCommand {
        static var configuration: CommandConfiguration {
            CommandConfiguration(commandName: Kind.name, abstract: Kind.abstract)
        }

        @Option(help: "Why; recorded with the transition and in the log.")
        var reason: String

        @Option(help: "Who asks, recorded as the transition's source.")
        var source = "cli:\(ProcessInfo.processInfo.environment["USER"] ?? "operator")"

        @OptionGroup var target: RiskTarget

        func run() async throws {
            let answer = try await target.request {
                try await $0.send(.POST, "/api/ess/\(Kind.name)", body: .object(["reason": .string(reason), "source": .string(source)]))
            }
            guard case .object(let fields) = answer, case .string(let outcome)? = fields["outcome"] else {
                print(String(decoding: answer.encoded(), as: UTF8.self))
                return
            }
            let state: String =
                if case .object(let status)? = fields["status"], case .string(let state)? = status["state"] { state } else { "?" }
            print(outcome == "transitioned" ? "ESS is now \(state)" : "ESS unchanged: \(state)")
        }
    }
}

enum TripChange: ControlAction {
    static let name = "trip"
    static let abstract = "Trips the ESS: no new orders until an operator resets it."
}

enum ReduceChange: ControlAction {
    static let name = "reduce"
    static let abstract = "Allows only orders that reduce exposure, until an operator resets it."
}

enum ResetChange: ControlAction {
    static let name = "reset"
    static let abstract = "Clears manual and supervisor trips and any cooldown; refused while a measured limit is still breached."
}
