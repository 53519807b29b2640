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

struct ServiceOptions: ParsableArguments {
    @Option(name: .long, help: "The configuration file (default: $VAKT_CONFIG, else config/vakt.yaml).")
    var config: String?
}

/// A subcommand that runs one service process until SIGTERM or SIGINT.
protocol ServiceCommand: AsyncParsableCommand {
    var options: ServiceOptions { get }
    func makeService(configurationPath: String) -> any VaktService
}

extension ServiceCommand {
    func run() async throws {
        let path = ConfigurationLoader.path(explicit: options.config, environment: ProcessInfo.processInfo.environment)
        let configuration = try loadConfiguration(path)
        LogfmtLogHandler.bootstrap(level: .init(configuration.log.level))
        try await ServiceRuntime.run(makeService(configurationPath: path), configuration: configuration)
    }
}

/// Loads the configuration or prints every problem and exits 78 (EX_CONFIG).
func loadConfiguration(_ path: String) throws -> VaktConfiguration {
    do {
        return try ConfigurationLoader.load(path: path)
    } catch {
        FileHandle.standardError.write(Data((error.description + "\n").utf8))
        throw ExitCode(ConfigErrors.exitCode)
    }
}

struct SupervisorCommand: ServiceCommand {
    static let configuration = CommandConfiguration(
        commandName: "supervisor",
        abstract: "Monitoring & Health (8005): starts every enabled service as a child and keeps it running.")
    @OptionGroup var options: ServiceOptions
    func makeService(configurationPath: String) -> any VaktService { SupervisorService(configurationPath: configurationPath) }
}

struct GatewayCommand: ServiceCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway", abstract: "API gateway (8000): REST snapshot and WebSocket fan-out for the dashboard.")
    @OptionGroup var options: ServiceOptions
    func makeService(configurationPath: String) -> any VaktService { GatewayService() }
}

struct AIEngineCommand: ServiceCommand {
    static let configuration = CommandConfiguration(
        commandName: "ai-engine", abstract: "AI engine (8001): model ensemble, meta-strategy and RL position sizing.")
    @OptionGroup var options: ServiceOptions
    func makeService(configurationPath: String) -> any VaktService { AIEngineService() }
}

struct ExecutionCommand: ServiceCommand {
    static let configuration = CommandConfiguration(
        commandName: "execution", abstract: "Execution (8002): signal queue, pre-trade checks, orders on the exchange.")
    @OptionGroup var options: ServiceOptions
    func makeService(configurationPath: String) -> any VaktService { ExecutionService() }
}

struct RiskCommand: ServiceCommand {
    static let configuration = CommandConfiguration(
        commandName: "risk", abstract: "Risk & Safety (8003): Emergency Stop System and PolicyStore authority.")
    @OptionGroup var options: ServiceOptions
    func makeService(configurationPath: String) -> any VaktService { RiskService() }
}

struct PortfolioCommand: ServiceCommand {
    static let configuration = CommandConfiguration(
        commandName: "portfolio", abstract: "Portfolio (8004): positions, exact PnL, equity and drawdown.")
    @OptionGroup var options: ServiceOptions
    func makeService(configurationPath: String) -> any VaktService { PortfolioService() }
}

struct TrainingCommand: ServiceCommand {
    static let configuration = CommandConfiguration(
        commandName: "rl-training", abstract: "RL training (8006): retraining, drift detection, model registry.")
    @OptionGroup var options: ServiceOptions
    func makeService(configurationPath: String) -> any VaktService { TrainingService() }
}

struct MarketDataCommand: ServiceCommand {
    static let configuration = CommandConfiguration(
        commandName: "market-data", abstract: "Market data (8007): exchange feeds or replay, staleness heartbeat.")
    @OptionGroup var options: ServiceOptions
    func makeService(configurationPath: String) -> any VaktService { MarketDataService() }
}

struct DashboardCommand: ServiceCommand {
    static let configuration = CommandConfiguration(
        commandName: "dashboard", abstract: "Dashboard (3000): the operators' web UI.")
    @OptionGroup var options: ServiceOptions
    func makeService(configurationPath: String) -> any VaktService { DashboardService() }
}

struct ExchangeSimulatorCommand: ServiceCommand {
    static let configuration = CommandConfiguration(
        commandName: "exchange-sim", abstract: "Paper exchange (9100): a Binance-compatible simulator for paper trading and tests.")
    @OptionGroup var options: ServiceOptions
    func makeService(configurationPath: String) -> any VaktService { ExchangeSimulatorService() }
}
