import ArgumentParser
import EventBus
import Foundation
import ServiceKit
import Supervisor
import VaktConfig

struct SupervisorTarget: ParsableArguments {
    @Option(name: .long, help: "The configuration file naming the supervisor's address (default: $VAKT_CONFIG, else config/vakt.yaml).")
    var config: String?

    @Option(name: .long, help: "The supervisor's base URL, instead of the one in the configuration (e.g. http://127.0.0.1:8005).")
    var url: String?

    func client() throws -> SupervisorClient {
        try clientAndConfiguration().client
    }

    func clientAndConfiguration() throws -> (client: SupervisorClient, configuration: VaktConfiguration) {
        let configuration = try loadConfiguration(
            ConfigurationLoader.path(explicit: config, environment: ProcessInfo.processInfo.environment))
        let client = SupervisorClient(configuration: configuration)
        return (url.map(client.at) ?? client, configuration)
    }
}

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract:
            "Shows every supervised service (state, readiness, pid, uptime, restarts, last exit, status), the consumer groups' lag verdicts, the health mesh (each node's effective status with its root cause, single points of failure, fired safety rules and firing alerts), and trading: the ESS, the signal accounting, open orders and paused symbols, fills, PnL and positions, read from risk, execution and the portfolio."
    )

    struct StatusJSON: Encodable {
        var services: [ChildSnapshot]
        var mesh: MeshReport?
        var trading: JSONValue
    }

    @OptionGroup var target: SupervisorTarget

    @Flag(help: "Print the supervisor's JSON instead of a table.")
    var json = false

    func run() async throws {
        let (client, configuration) = try target.clientAndConfiguration()
        do {
            let (summary, services, groups) = try await client.services()
            // The mesh is evaluated a moment after start-up; the services table stands alone until then.
            let mesh = try? await client.mesh()
            let trading = await TradingStatus.read(configuration)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                encoder.dateEncodingStrategy = .iso8601
                print(
                    String(
                        decoding: try encoder.encode(StatusJSON(services: services, mesh: mesh, trading: trading.json)), as: UTF8.self))
            } else {
                print(SupervisorClient.table(summary: summary, services: services))
                print(SupervisorClient.lagTable(groups))
                print(mesh.map(MeshReport.table) ?? "health mesh: not evaluated yet")
                print(trading.table)
            }
        } catch let error as ControlClient.ClientError {
            throw ValidationError(error.description)
        }
    }
}

/// `vakt start|stop|restart NAME`: one control action, authenticated with the control token.
struct ControlCommand<Action: ControlAction>: AsyncParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: Action.name,
            abstract: Action.abstract,
            discussion:
                "Needs the control token: VAKT_SECRET_CONTROL_TOKEN, or the systemd credential named by supervisor.control_token_secret.")
    }

    @Argument(help: "The service, as named in the configuration (e.g. execution).")
    var service: String

    @OptionGroup var target: SupervisorTarget

    func run() async throws {
        do {
            let snapshot = try await target.client().perform(Action.name, on: service)
            print("\(snapshot.name): \(snapshot.state.rawValue)\(snapshot.pid.map { " (pid \($0))" } ?? "")")
        } catch let error as ControlClient.ClientError {
            throw ValidationError(error.description)
        }
    }
}

/// A control command's name and its `--help` line: the supervisor's start, stop and restart,
/// and the ESS's trip, reduce and reset.
protocol ControlAction {
    static var name: String { get }
    static var abstract: String { get }
}

enum StartAction: ControlAction {
    static let name = "start"
    static let abstract = "Starts a stopped, exited or failed service (after its dependencies are ready)."
}

enum StopAction: ControlAction {
    static let name = "stop"
    static let abstract = "Stops a service (SIGTERM, SIGKILL after its stop timeout); it stays down until started."
}

enum RestartAction: ControlAction {
    static let name = "restart"
    static let abstract = "Stops and starts a service; not counted against its restart intensity."
}
