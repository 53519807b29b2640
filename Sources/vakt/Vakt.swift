// vakt: the one binary every Vakt process runs from; `vakt <service>` starts a service.

import AIEngine
import ArgumentParser
import Dashboard
import ExchangeSimulator
import Execution
import Foundation
import Gateway
import MarketData
import Portfolio
import Risk
import ServiceKit
import Supervisor
import Training
import VaktConfig

@main
struct Vakt: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vakt",
        abstract: "Runs an automated crypto-trading system safely.",
        discussion: """
            Each service is its own process: `vakt <service> [--config FILE]`. In production,
            systemd starts `vakt supervisor`, which starts and watches every other service.
            The configuration file defaults to $VAKT_CONFIG, else config/vakt.yaml; any key can be
            overridden with an environment variable (VAKT_REDIS__PORT=6390 sets redis.port).
            """,
        subcommands: [
            SupervisorCommand.self, GatewayCommand.self, AIEngineCommand.self, ExecutionCommand.self,
            RiskCommand.self, PortfolioCommand.self, TrainingCommand.self, MarketDataCommand.self,
            DashboardCommand.self, ExchangeSimulatorCommand.self, StatusCommand.self, ControlCommand<StartAction>.self,
            ControlCommand<StopAction>.self, ControlCommand<RestartAction>.self, EventsCommand.self, VersionCommand.self,
            ConfigCommand.self, ESSCommand.self, AuditCommand.self,
        ]
    )
}

struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Prints the version of this build.")

    func run() {
        print("vakt \(VaktVersion.current)")
    }
}

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Works with the configuration file.", subcommands: [Check.self])

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validates a configuration file with the current environment's overrides.",
            discussion: """
                Prints every problem as FILE:key.path: reason and exits 78 (EX_CONFIG) if there is
                any; prints "FILE: ok" and exits 0 otherwise. Starts nothing.
                """)

        @Argument(help: "The configuration file (default: $VAKT_CONFIG, else config/vakt.yaml).")
        var file: String?

        func run() throws {
            let path = ConfigurationLoader.path(explicit: file, environment: ProcessInfo.processInfo.environment)
            _ = try loadConfiguration(path)
            print("\(path): ok")
        }
    }
}
