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
        let secret = configuration.ess.controlTokenSecret
        return ControlClient(
            baseURL: url ?? configuration.baseURL(of: .risk), token: SecretStore().secret(named: secret), tokenSecret: secret)
    }

    /// Runs a request, turning a refusal or an unexpected answer into the command's error message.
    func request<Answer>(_ body: (ControlClient) async throws -> Answer) async throws -> Answer {
        do {
            return try await body(try client())
        } catch let error as ControlClient.ClientError {
            throw ValidationError(error.description)
        } catch let error as PayloadError {
            throw ValidationError("unexpected answer from the risk service: \(error)")
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
            let report = try await target.request { try await RiskClient($0).ess() }
            print(json ? String(decoding: report.json.encoded(), as: UTF8.self) : Self.describe(report))
        }

        static func describe(_ report: RiskClient.Report) -> String {
            let status = report.status
            var lines = [
                "ESS \(status.state.rawValue.uppercased()) since \(EventEnvelope.timestamp(status.since)) (\(status.trigger.rawValue), by \(status.source))",
                "  reason: \(status.reason)",
            ]
            if let seconds = report.cooldownRemainingSeconds { lines.append("  cooldown: \(seconds) s left") }
            if !report.inputs.isEmpty {
                lines.append(
                    "  inputs: "
                        + report.inputs.keys.sorted().map { "\($0)=\(String(decoding: report.inputs[$0]!.encoded(), as: UTF8.self))" }
                        .joined(separator: " "))
            }
            if !report.recent.isEmpty {
                lines.append("recent transitions (newest first):")
                for transition in report.recent {
                    lines.append(
                        "  \(EventEnvelope.timestamp(transition.at))  \(transition.from.rawValue) -> \(transition.to.rawValue)  [\(transition.trigger.rawValue)] \(transition.reason)"
                    )
                }
            }
            return lines.joined(separator: "\n")
        }
    }

    /// `vakt ess trip|reduce|reset --reason TEXT`.
    struct Change<Kind: ESSAction>: AsyncParsableCommand {
        static var configuration: CommandConfiguration {
            CommandConfiguration(commandName: Kind.name, abstract: Kind.abstract)
        }

        @Option(help: "Why; recorded with the transition and in the log.")
        var reason: String

        @Option(help: "Who asks, recorded as the transition's source.")
        var source = "cli:\(ProcessInfo.processInfo.environment["USER"] ?? "operator")"

        @OptionGroup var target: RiskTarget

        func run() async throws {
            let outcome = try await target.request { try await RiskClient($0).change(Kind.change, reason: reason, source: source) }
            switch outcome {
            case .transitioned(_, let now): print("ESS is now \(now.state.rawValue)")
            case .unchanged(let status): print("ESS unchanged: \(status.state.rawValue)")
            }
        }
    }
}

/// A change of the ESS, as `vakt ess trip|reduce|reset`.
protocol ESSAction: ControlAction {
    static var change: RiskClient.Change { get }
}

enum TripChange: ESSAction {
    static let name = "trip"
    static let change = RiskClient.Change.trip
    static let abstract = "Trips the ESS: no new orders until an operator resets it."
}

enum ReduceChange: ESSAction {
    static let name = "reduce"
    static let change = RiskClient.Change.reduce
    static let abstract = "Allows only orders that reduce exposure, until an operator resets it."
}

enum ResetChange: ESSAction {
    static let name = "reset"
    static let change = RiskClient.Change.reset
    static let abstract = "Clears manual and supervisor trips and any cooldown; refused while a measured limit is still breached."
}
