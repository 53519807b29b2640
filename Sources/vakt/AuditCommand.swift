import ArgumentParser
import AsyncHTTPClient
import EventBus
import Foundation
import Logging
import RedisClient
import ServiceKit
import TradingAudit
import VaktConfig

/// `vakt audit`: the loss report, our records checked against the exchange's.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Checks the system's records against the exchange's: orders, fills, balances, PnL and order events.",
        discussion: """
            Reads every order and trade of the account on the audited symbols from the exchange (with the \
            account's API key: VAKT_SECRET_EXCHANGE_API_KEY and VAKT_SECRET_EXCHANGE_API_SECRET, or the systemd \
            credentials the configuration names; with execution.on_binance_down: failover, each of our OKX \
            orders and its fills and OKX's balances too, with the okx-* secrets), execution's orders, the \
            portfolio's journal, PnL and \
            positions, and the order, ESS and control streams' consumer groups. Reports orders placed twice or \
            unknown to execution, orders held in another state or with another execution than the exchange's, \
            fills missed, booked twice or booked without an exchange trade, cash and positions that differ from \
            the exchange's balances, the PnL against its recomputation from the exchange's trades (equal to the \
            last unit), and order events not handled.

            Run it with trading settled (no open orders) for a verdict; an order still on the book is counted as \
            open. Exits 0 when the audit passes, 1 when it finds anything, and with an error naming the source \
            when a side cannot be read.
            """)

    @Option(name: .long, help: "The configuration file (default: $VAKT_CONFIG, else config/vakt.yaml).")
    var config: String?

    @Option(name: .long, parsing: .upToNextOption, help: "Symbols to audit (default: market_data.symbols).")
    var symbols: [String] = []

    @Flag(help: "Print the report as JSON.")
    var json = false

    func validate() throws {
        for symbol in symbols where !SymbolSyntax.isValid(symbol) {
            throw ValidationError("--symbols: " + SymbolSyntax.problem(symbol))
        }
    }

    func run() async throws {
        let configuration = try loadConfiguration(
            ConfigurationLoader.path(explicit: config, environment: ProcessInfo.processInfo.environment))
        let secrets = SecretStore()
        guard let credentials = ExchangeAccess.credentials(configuration, secrets) else {
            throw ValidationError(
                "the exchange's API key is not set: the secrets \(configuration.exchange.apiKeySecret) and "
                    + "\(configuration.exchange.apiSecretSecret) (VAKT_SECRET_… or systemd credentials)")
        }
        var logger = Logger(label: "vakt.audit")
        logger.logLevel = .warning
        let exchange = ExchangeAccess.client(
            configuration, credentials: credentials, http: HTTPClient.shared,
            budget: try ExchangeAccess.budget(configuration, secrets: secrets, logger: logger), logger: logger)
        do {
            try await exchange.connect()
        } catch {
            throw ValidationError("the exchange at \(configuration.exchange.baseURL) cannot be read: \(error)")
        }
        let reader = { (kind: ServiceKind) in ControlClient.reader(of: kind, in: configuration) }
        let redis = RedisConnection(endpoint: ServiceRuntime.redisEndpoint(configuration.redis, secrets: secrets), label: "audit")
        let collector = AuditCollector(
            exchange: exchange, execution: reader(.execution), portfolio: reader(.portfolio), risk: reader(.risk),
            streams: EventStreamInspector(redis: redis), symbols: symbols.isEmpty ? configuration.marketData.symbols : symbols,
            secondVenue: SecondVenueAccess.client(configuration, secrets: secrets, http: HTTPClient.shared, logger: logger))
        let report: AuditReport
        do {
            report = TradingAudit.check(try await collector.collect())
        } catch {
            throw ValidationError("the audit could not read its records: \(error)")
        }
        print(json ? String(decoding: report.json.encoded(), as: UTF8.self) : report.text)
        if !report.passed { throw ExitCode.failure }
    }
}
