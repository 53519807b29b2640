import Foundation
import Testing

@testable import VaktConfig

@Suite struct ConfigurationLoaderTests {
    let file = "test.yaml"

    func parse(_ yaml: String, environment: [String: String] = [:]) throws(ConfigErrors) -> VaktConfiguration {
        try ConfigurationLoader.parse(yaml: yaml, file: file, environment: environment)
    }

    func errors(_ yaml: String, environment: [String: String] = [:]) -> [String] {
        do {
            _ = try parse(yaml, environment: environment)
            return []
        } catch {
            return error.errors.map(\.description)
        }
    }

    @Test func emptyFileGivesDefaults() throws {
        let configuration = try parse("")
        #expect(configuration.redis.port == 6379)
        #expect(configuration.service(.gateway).port == 8000)
        #expect(configuration.service(.exchangeSim).port == 9100)
        #expect(configuration.service(.supervisor).enabled == false)
        #expect(configuration.service(.execution).enabled)
        #expect(configuration.health.checkTimeout == .seconds(1))
    }

    @Test func shippedConfigurationIsValid() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("config/vakt.yaml").path
        let configuration = try ConfigurationLoader.load(path: path, environment: [:])
        #expect(configuration.system.mode == .paper)
        #expect(configuration.redis.port == 6380)
    }

    @Test func threeMistakesGiveThreeLocatedErrors() {
        let yaml = """
            redis:
              port: seventy
            services:
              gateway:
                port: 70000
            logg:
              level: info
            """
        #expect(
            errors(yaml) == [
                "test.yaml:redis.port: expected an integer, got \"seventy\"",
                "test.yaml:services.gateway.port: 70000 is out of range 1...65535",
                "test.yaml:logg: unknown key",
            ])
    }

    @Test func wrongKindsOfValueAreNamed() {
        #expect(errors("redis: 5") == ["test.yaml:redis: expected a mapping, got \"5\""])
        #expect(errors("redis:\n  host: [a, b]") == ["test.yaml:redis.host: expected a single value, got a list"])
        #expect(
            errors("log:\n  level: loud") == [
                "test.yaml:log.level: \"loud\" is not one of trace, debug, info, notice, warning, error, critical"
            ])
        #expect(
            errors("services:\n  gateway:\n    enabled: maybe") == [
                "test.yaml:services.gateway.enabled: expected true or false, got \"maybe\""
            ])
        #expect(
            errors("exchange:\n  base_url: ftp://x") == [
                "test.yaml:exchange.base_url: expected an http:// or https:// URL, got \"ftp://x\""
            ])
    }

    @Test func executionAndPortfolioSettingsAreCheckedByName() throws {
        #expect(
            errors("execution:\n  max_slippage: \"2\"\n  queue_capacity: 0\n  take_profit: 0.1%") == [
                "test.yaml:execution.queue_capacity: 0 is out of range 1...100000",
                "test.yaml:execution.max_slippage: 2 is more than 1 (a share: 0.01 is 1%)",
                "test.yaml:execution.take_profit: expected a decimal number such as 0.001, got \"0.1%\": \"0.1%\" is not a decimal number: unexpected character \"%\"",
            ])
        #expect(errors("portfolio:\n  snapshot_interval: 0s\n  accont: USDT").count == 2)
    }

    @Test func unknownServiceAndDuplicatePortAreErrors() {
        #expect(
            errors("services:\n  trader:\n    port: 1234") == [
                "test.yaml:services.trader: unknown service; known services are supervisor, gateway, ai-engine, execution, risk, portfolio, rl-training, market-data, dashboard, exchange-sim (another program needs a command)"
            ])
        #expect(
            errors("services:\n  gateway:\n    port: 8001") == [
                "test.yaml:services.ai-engine.port: port 8001 is already used by services.gateway"
            ])
    }

    @Test func syntaxErrorIsReportedWithItsLine() {
        let reported = errors("redis:\n  port: 1\n   host: x\n")
        #expect(reported.count == 1)
        #expect(reported.first?.hasPrefix("test.yaml: YAML syntax error at line") == true)
    }

    @Test func duplicateKeyIsAnError() {
        #expect(errors("redis:\n  port: 1\n  port: 2") == ["test.yaml: duplicate key port in the mapping at line 2"])
    }

    @Test func missingFileIsReported() {
        #expect(throws: ConfigErrors.self) { try ConfigurationLoader.load(path: "/nonexistent/vakt.yaml", environment: [:]) }
        do {
            _ = try ConfigurationLoader.load(path: "/nonexistent/vakt.yaml", environment: [:])
        } catch {
            #expect(error.description == "/nonexistent/vakt.yaml: no such file")
        }
    }

    @Test func environmentOverridesKeys() throws {
        let configuration = try parse(
            "redis:\n  port: 6380",
            environment: ["VAKT_REDIS__PORT": "7000", "VAKT_SERVICES__AI_ENGINE__PORT": "9001", "VAKT_LOG__LEVEL": "debug"])
        #expect(configuration.redis.port == 7000)
        #expect(configuration.service(.aiEngine).port == 9001)
        #expect(configuration.log.level == .debug)
    }

    @Test func badOverrideNamesItsVariable() {
        #expect(
            errors("", environment: ["VAKT_REDIS__PORT": "x"]) == [
                "test.yaml:redis.port: expected an integer, got \"x\" (from VAKT_REDIS__PORT)"
            ])
    }

    @Test func unknownOverrideInAKnownSectionIsAnError() {
        #expect(
            errors("", environment: ["VAKT_REDIS__PROT": "1", "VAKT_SERVICES__GATEWAY__PROT": "1"]) == [
                "test.yaml:redis.prot: unknown key (set by environment variable VAKT_REDIS__PROT)",
                "test.yaml:services.gateway.prot: unknown key (set by environment variable VAKT_SERVICES__GATEWAY__PROT)",
            ])
    }

    @Test func singleUnderscoreBetweenLevelsGetsAHint() {
        #expect(
            errors("", environment: ["VAKT_LOG_LEVEL": "debug"]) == [
                "test.yaml:log_level: unknown key (set by environment variable VAKT_LOG_LEVEL); levels are separated by __, as in VAKT_LOG__LEVEL"
            ])
    }

    @Test func variablesOutsideTheSchemaAreIgnored() {
        #expect(
            errors(
                "", environment: ["VAKT_SECRET_CONTROL_TOKEN": "x", "VAKT_CONFIG": "f", "VAKT_BUILD": "release", "VAKT_INFRA_DIR": "var"])
                == [])
    }

    @Test func durationsTakeUnits() throws {
        let configuration = try parse("health:\n  check_timeout: 250ms\nsupervisor:\n  ready_timeout: 2m")
        #expect(configuration.health.checkTimeout == .milliseconds(250))
        #expect(configuration.supervisor.readyTimeout == .seconds(120))
        #expect(ConfigReader.Section.parseDuration("1m") == .seconds(60))
        #expect(ConfigReader.Section.parseDuration("250us") == .microseconds(250))
        #expect(ConfigReader.Section.parseDuration("us") == nil)
        #expect(ConfigReader.Section.parseDuration("1500") == .milliseconds(1500))
        #expect(ConfigReader.Section.parseDuration("-1s") == nil)
        #expect(ConfigReader.Section.parseDuration("fast") == nil)
        #expect(ConfigReader.Section.parseDuration("99999999999999999h") == nil)
        #expect(errors("health:\n  check_timeout: 5ms") == ["test.yaml:health.check_timeout: 5ms is out of range 10ms...30000ms"])
    }

    @Test func backoffBoundsMustBeOrdered() {
        #expect(
            errors("redis:\n  reconnect_initial_delay: 2s\n  reconnect_max_delay: 1s") == [
                "test.yaml:redis.reconnect_max_delay: must not be shorter than reconnect_initial_delay"
            ])
    }

    @Test func sentinelsAreHostAndPortEachAndNamedWhenNot() throws {
        #expect(
            errors("redis:\n  sentinels: [\"10.0.0.1:26379\", \"sentinel-b\", \"c:99999\"]") == [
                "test.yaml:redis.sentinels[1]: \"sentinel-b\" is not host:port",
                "test.yaml:redis.sentinels[2]: \"c:99999\" is not host:port",
            ])
        let redis = try parse("redis:\n  sentinels: [\"10.0.0.1:26379\", \"10.0.0.2:26379\"]\n  primary_name: trading\n").redis
        #expect(redis.sentinels.map { "\($0.host):\($0.port)" } == ["10.0.0.1:26379", "10.0.0.2:26379"] && redis.primaryName == "trading")
    }

    @Test func aBudgetSharedThroughRedisNeedsAKeyAndAShareOfEachLimit() throws {
        let exchange = try parse("exchange:\n  budget_redis_key: \"vakt:budget:203.0.113.7\"\n  budget_fallback_share: 0.25\n").exchange
        #expect(exchange.budgetRedisKey == "vakt:budget:203.0.113.7" && exchange.budgetFallbackShare == 0.25)
        #expect(try parse("").exchange.budgetRedisKey == nil)
        #expect(
            errors("exchange:\n  budget_redis_key: \"my key\"\n  budget_fallback_share: 0\n") == [
                "test.yaml:exchange.budget_redis_key: a Redis key without spaces is expected, got \"my key\"",
                "test.yaml:exchange.budget_fallback_share: 0 is out of range 0.01...1.0",
            ])
    }

    @Test func aServiceOnAnotherHostIsReachedAtItsURL() throws {
        let configuration = try parse(
            "http:\n  host: 10.0.0.2\nservices:\n  risk:\n    enabled: false\n    url: \"http://10.0.0.1:8003/\"\n")
        #expect(configuration.baseURL(of: .risk) == "http://10.0.0.1:8003")
        #expect(configuration.baseURL(of: .portfolio) == "http://10.0.0.2:8004")
        #expect(errors("services:\n  risk:\n    url: \"10.0.0.1:8003\"\n").first?.hasPrefix("test.yaml:services.risk.url:") == true)
    }

    @Test func dependencyCycleIsAnError() {
        let yaml = """
            services:
              risk:
                depends_on: [execution]
            """
        #expect(errors(yaml) == ["test.yaml:services.risk.depends_on: dependency cycle: risk -> execution -> risk"])
    }

    @Test func unknownDependencyAndSelfDependencyAreErrors() {
        #expect(
            errors("services:\n  gateway:\n    depends_on: [risk, trader]") == [
                "test.yaml:services.gateway.depends_on: unknown service \"trader\""
            ])
        #expect(
            errors("services:\n  risk:\n    depends_on: [risk]") == [
                "test.yaml:services.risk.depends_on: a service cannot depend on itself"
            ])
    }

    @Test func otherProgramsNeedACommand() throws {
        #expect(
            errors("services:\n  sidecar:\n    restart: never") == [
                "test.yaml:services.sidecar: unknown service; known services are supervisor, gateway, ai-engine, execution, risk, portfolio, rl-training, market-data, dashboard, exchange-sim (another program needs a command)"
            ])
        let configuration = try parse("services:\n  sidecar:\n    command: [/bin/sleep, \"60\"]\n    depends_on: [risk]")
        let sidecar = try #require(configuration.service(named: "sidecar"))
        #expect(sidecar.command == ["/bin/sleep", "60"])
        #expect(sidecar.kind == nil)
        #expect(sidecar.readiness == .none)
        #expect(sidecar.dependsOn == ["risk"])
        #expect(configuration.supervisedServices.map(\.name).last == "sidecar")
    }

    @Test func childSettingsAreRead() throws {
        let yaml = """
            services:
              execution:
                readiness: http
                start_timeout: 5s
                watchdog: 2s
                stop_timeout: 3s
                restart: on-failure
                backoff: { initial: 100ms, multiplier: 3, maximum: 2s, jitter: 0 }
                intensity: { max_restarts: 2, period: 10s }
                critical: false
                environment: { RUST_LOG: debug }
                log_file: { path: /tmp/x.log, max_bytes: 65536, keep: 2 }
            """
        let execution = try parse(yaml).service(.execution)
        #expect(execution.readiness == .http)
        #expect(execution.startTimeout == .seconds(5))
        #expect(execution.watchdog == .seconds(2))
        #expect(execution.stopTimeout == .seconds(3))
        #expect(execution.restart == .onFailure)
        #expect(execution.backoff == .init(initial: .milliseconds(100), multiplier: 3, maximum: .seconds(2), jitter: 0))
        #expect(execution.intensity == .init(maxRestarts: 2, period: .seconds(10)))
        #expect(execution.critical == false)
        #expect(execution.environment == ["RUST_LOG": "debug"])
        #expect(execution.logFile == .init(path: "/tmp/x.log", maxBytes: 65536, keep: 2))
        #expect(execution.dependsOn == ["risk", "exchange-sim"])
    }

    @Test func disabledDependencyIsNotWaitedFor() throws {
        let configuration = try parse("system:\n  mode: live")
        #expect(configuration.service(.exchangeSim).enabled == false)
        #expect(configuration.service(.execution).dependsOn == ["risk"])
    }

    @Test func badChildSettingsAreNamed() {
        #expect(
            errors("services:\n  risk:\n    restart: sometimes\n    watchdog: 10ms\n    backoff: { initial: 5s, maximum: 1s }") == [
                "test.yaml:services.risk.watchdog: must be at least 100ms, or 0 for none",
                "test.yaml:services.risk.restart: \"sometimes\" is not one of always, on-failure, never",
                "test.yaml:services.risk.backoff.maximum: must not be shorter than backoff.initial",
            ])
        #expect(
            errors("services:\n  sidecar:\n    command: [/bin/true]\n    readiness: http") == [
                "test.yaml:services.sidecar.readiness: http readiness needs a port"
            ])
    }

    @Test func aBareProgramNameIsResolvedThroughPATHAndAMissingOneIsRefused() throws {
        let bash = try #require(try parse("services:\n  tool:\n    command: [bash, -c, \"true\"]").service(named: "tool"))
        #expect(bash.command?.first.map { $0.hasPrefix("/") && $0.hasSuffix("/bash") } == true, "\(bash.command ?? [])")
        // The child's own PATH is searched when it has one.
        let directory = try FileManager.default.url(
            for: .itemReplacementDirectory, in: .userDomainMask, appropriateFor: URL(fileURLWithPath: "/tmp"), create: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let tool = directory.appendingPathComponent("vakt-own-tool").path
        try "#!/bin/sh\n".write(toFile: tool, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: tool)
        let own = try parse("services:\n  tool:\n    command: [vakt-own-tool]\n    environment: { PATH: \"\(directory.path)\" }")
        #expect(own.service(named: "tool")?.command == [tool])
        #expect(
            errors("services:\n  tool:\n    command: [no-such-program-vakt]\n    environment: { PATH: \"/usr/bin:/bin\" }") == [
                "test.yaml:services.tool.command: cannot find the program \"no-such-program-vakt\": not found in PATH (/usr/bin:/bin)"
            ])
        #expect(
            errors("services:\n  tool:\n    command: [/nonexistent/tool]") == [
                "test.yaml:services.tool.command: cannot find the program \"/nonexistent/tool\": no executable file at that path"
            ])
        // A switched-off program is not looked for.
        #expect(errors("services:\n  tool:\n    command: [no-such-program-vakt]\n    enabled: false").isEmpty)
    }

    @Test func vaktServicesHaveAWatchdogByDefaultThatZeroTurnsOff() throws {
        let defaults = try parse("services:\n  sidecar:\n    command: [/bin/true]")
        #expect(defaults.service(.execution).watchdog == ServiceSettings.defaultServiceWatchdog)
        #expect(defaults.service(.gateway).watchdog == .seconds(10))
        #expect(defaults.service(named: "sidecar")?.watchdog == nil, "another program cannot be assumed to ping")
        let off = try parse("services:\n  execution:\n    watchdog: 0")
        #expect(off.service(.execution).watchdog == nil)
        #expect(try parse("services:\n  execution:\n    watchdog: 30s").service(.execution).watchdog == .seconds(30))
    }

    @Test func restartAfterFailedProbesNeedsAPort() throws {
        let configured = try parse("services:\n  web:\n    command: [/bin/true]\n    port: 18080\n    restart_after_failed_probes: 5")
        #expect(configured.service(named: "web")?.restartAfterFailedProbes == 5)
        #expect(configured.service(.risk).restartAfterFailedProbes == nil)
        #expect(
            errors("services:\n  web:\n    command: [/bin/true]\n    restart_after_failed_probes: 5") == [
                "test.yaml:services.web.restart_after_failed_probes: needs a port: only a service with a /health on its port is probed"
            ])
    }

    @Test func logFileNeedsAPath() {
        #expect(errors("services:\n  risk:\n    log_file: { keep: 2 }") == ["test.yaml:services.risk.log_file.path: missing required key"])
    }

    @Test func backoffGrowsToItsMaximum() {
        let backoff = ServiceSettings.Backoff(initial: .milliseconds(100), multiplier: 2, maximum: .seconds(1), jitter: 0)
        #expect(
            (1...6).map { backoff.delay(attempt: $0) } == [
                .milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800), .seconds(1), .seconds(1),
            ])
    }
}
