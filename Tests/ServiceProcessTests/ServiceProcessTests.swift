import EmergencyStop
import Foundation
import HealthFormat
import RedisClient
import ServiceKit
import SystemdNotify
import Testing
import VaktConfig
import VaktTesting

#if canImport(Glibc)
    import Glibc
#endif

/// Every process kind, started as the real `vakt` binary with a notify socket this test owns.
@Suite struct ServiceProcessTests {
    @Test(arguments: ServiceKind.allCases)
    func startsReportsReadyServesHealthAndMetricsAndStopsCleanly(kind: ServiceKind) async throws {
        let redis = try RedisServer()
        try await redis.start()
        let postgres = kind.infrastructure.contains(.postgres) ? try await PostgresServer().freshDatabase() : nil
        // Only this kind is enabled: the supervisor runs alone here (its children are covered in
        // SupervisorProcessTests).
        let service = try ServiceInstance(kind, redisPort: redis.port, postgres: postgres)
        let (process, recorder) = (service.process, service.recorder)
        defer { recorder.stop() }

        #expect(await service.isReady(), "no READY=1 from \(kind): \(process.output())")
        #expect(recorder.datagrams.allSatisfy { $0.senderPID == process.pid })

        let health = try await HTTPProbe.get(service.url("/health"))
        #expect(health.contentType == "application/health+json")
        let report = try HealthReport.parse(health.body)
        #expect(health.status == report.httpStatusCode)
        #expect(report.checks["uptime"]?.first?.status == .pass)
        if kind.infrastructure.contains(.redis) {
            #expect(report.checks["redis:responseTime"]?.first?.status == .pass, "\(health.text)")
        }
        if kind.infrastructure.contains(.postgres) {
            #expect(report.checks["postgres:responseTime"]?.first?.status == .pass, "\(health.text)")
        }
        if kind.infrastructure.contains(.exchange) {
            // Nothing listens on the configured exchange port in this test, so the check must say so.
            let exchange = report.checks["exchange:responseTime"]?.first
            #expect(exchange?.status == .fail)
            #expect(exchange?.output?.isEmpty == false)
        }

        // Services that add exposure carry the trading guards (no risk service runs here, so
        // the ESS reads as unknown: tripped); the gateway keeps a policy copy only (its /health
        // shows the copy's age); the rest carry no policy copy at all.
        if [.aiEngine, .execution].contains(kind) {
            #expect(report.checks["ess:status"]?.first?.status == .warn, "\(health.text)")
            #expect(report.checks["ess:status"]?.first?.output?.contains("tripped: ESS state unknown") == true, "\(health.text)")
            #expect(report.checks["policy:age"] != nil)
        } else if kind == .gateway {
            #expect(report.checks["policy:age"] != nil && report.checks["ess:status"] == nil, "\(health.text)")
            #expect(report.checks["eventBus:lastEvent"] != nil && report.checks["snapshot:age"] != nil, "\(health.text)")
        } else if kind != .risk {
            #expect(report.checks["policy:age"] == nil && report.checks["ess:status"] == nil, "\(health.text)")
        }

        let metrics = try await HTTPProbe.get(service.url("/metrics"))
        #expect(metrics.contentType?.hasPrefix("text/plain; version=0.0.4") == true)
        #expect(metrics.text.contains("process_resident_memory_bytes"))
        #expect(metrics.text.contains("http_requests_total"))
        let promtool = try await Promtool.checkMetrics(metrics.text)
        #expect(promtool.status == 0, "promtool: \(promtool.output)")

        process.signal(SIGTERM)
        #expect(await process.waitForExit() == 0, "\(process.output())")
        #expect(process.terminationReason == .exit)
        // The datagram left before the exit; the recorder may still be taking it in.
        #expect(await recorder.waitFor { $0.contains(.stopping) })
    }

    @Test func redisOutageFailsTheCheckAndRecoveryPassesWithoutRestart() async throws {
        let redis = try RedisServer()
        try await redis.start()
        let service = try ServiceInstance(.gateway, redisPort: redis.port, postgres: try PostgresServer())
        let (process, recorder) = (service.process, service.recorder)
        defer { recorder.stop() }
        #expect(await service.isReady(), "\(process.output())")
        let url = service.url("/health")
        let up = try await HTTPProbe.get(url)
        #expect(up.status == 200, "\(up.text)")

        redis.stop()
        var down: HealthReport?
        #expect(
            await TestEnvironment.eventually {
                guard let result = try? await HTTPProbe.get(url), result.status == 503 else { return false }
                down = try? HealthReport.parse(result.body)
                return true
            })
        let redisCheck = down?.checks["redis:responseTime"]?.first
        #expect(redisCheck?.status == .fail)
        #expect(redisCheck?.output?.contains("127.0.0.1:\(redis.port)") == true, "output: \(redisCheck?.output ?? "none")")
        #expect(down?.checks["postgres:responseTime"]?.first?.status == .pass)
        #expect(process.isRunning)

        try await redis.start()
        #expect(await TestEnvironment.eventually { (try? await HTTPProbe.get(url))?.status == 200 })
        #expect(process.isRunning)
        #expect(recorder.assignments.filter { $0 == .ready }.count == 1, "the service must not have restarted")
        process.signal(SIGTERM)
        #expect(await process.waitForExit() == 0)
    }

    /// A trading service's guards follow the ESS the risk service mirrors in Redis.
    @Test func theTradingGuardsFollowTheESSMirror() async throws {
        let redis = try RedisServer()
        try await redis.start()
        let service = try ServiceInstance(.aiEngine, redisPort: redis.port, postgres: nil)
        defer { service.recorder.stop() }
        #expect(await service.isReady(), "\(service.process.output())")
        let now = Date()
        let mirrored = ESSStatus(
            state: .armed, since: now, reason: "conditions clear", source: "risk", trigger: .conditionsCleared, cooldownEndsAt: nil,
            confirmedAt: now + 3600)
        _ = try await RedisConnection(endpoint: redis.endpoint).pipeline(bytes: [
            [Array("SET".utf8), Array(ESSClient.mirrorKey.utf8), Array(mirrored.json.encoded())]
        ])
        var output: String?
        #expect(
            await TestEnvironment.eventually {
                let health = try? HealthReport.parse(try await HTTPProbe.get(service.url("/health")).body)
                output = health?.checks["ess:status"]?.first?.output
                return health?.checks["ess:status"]?.first?.status == .pass
            }, "\(output ?? "no ess:status")")
        #expect(output == "armed: conditions clear")
        #expect(await service.stop() == 0)
    }

    @Test func configCheckRefusesAProgramThatCannotBeFoundNamingTheServiceAndTheProgram() async throws {
        let directory = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("programs.yaml").path
        try """
        services:
          sidecar:
            command: [vakt-no-such-program, --flag]
            environment: { PATH: "/usr/bin:/bin" }
          shell:
            command: [bash, -c, "exit 0"]
        """.write(toFile: path, atomically: true, encoding: .utf8)
        let check = try await TestEnvironment.run(TestEnvironment.vaktExecutable, ["config", "check", path])
        #expect(check.status == 78)
        #expect(
            check.output.split(separator: "\n").map(String.init) == [
                "\(path):services.sidecar.command: cannot find the program \"vakt-no-such-program\": not found in PATH (/usr/bin:/bin)"
            ])
    }

    @Test func configurationWithThreeMistakesReportsThreeLinesAndStartsNothing() async throws {
        let directory = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("bad.yaml").path
        let port = TestEnvironment.freePort()
        try """
        redis:
          port: not-a-port
        health:
          check_timeout: forever
        services:
          gateway:
            port: \(port)
            colour: blue
        """.write(toFile: path, atomically: true, encoding: .utf8)
        let expected = [
            "\(path):redis.port: expected an integer, got \"not-a-port\"",
            "\(path):health.check_timeout: expected a duration such as 500ms, 2s or 1m, got \"forever\"",
            "\(path):services.gateway.colour: unknown key",
        ]

        let check = try await TestEnvironment.run(TestEnvironment.vaktExecutable, ["config", "check", path])
        #expect(check.status == 78)
        #expect(check.output.split(separator: "\n").map(String.init) == expected)

        let recorder = try NotifyRecorder()
        defer { recorder.stop() }
        let process = try ServiceProcess(arguments: ["gateway", "--config", path], notifySocket: recorder.address)
        #expect(await process.waitForExit() == 78)
        #expect(process.output().split(separator: "\n").map(String.init) == expected)
        #expect(recorder.datagrams.isEmpty)
        #expect(!TestEnvironment.isListening(port))
    }

    @Test func configCheckAcceptsTheShippedConfiguration() async throws {
        let path = TestEnvironment.packageRoot.appendingPathComponent("config/vakt.yaml").path
        let result = try await TestEnvironment.run(TestEnvironment.vaktExecutable, ["config", "check", path], environment: [:])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output == "\(path): ok\n")
    }

    @Test func helpExplainsEveryService() async throws {
        let result = try await TestEnvironment.run(TestEnvironment.vaktExecutable, ["--help"])
        #expect(result.status == 0)
        for kind in ServiceKind.allCases {
            #expect(result.output.contains("  \(kind.rawValue) "), "--help does not list \(kind.rawValue)")
        }
        #expect(try await TestEnvironment.run(TestEnvironment.vaktExecutable, ["version"]).output.hasPrefix("vakt "))
    }
}
