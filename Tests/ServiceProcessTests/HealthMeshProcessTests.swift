import EventBus
import Foundation
import RedisClient
import Synchronization
import Testing
import VaktConfig
import VaktTesting

#if canImport(Glibc)
    import Glibc
#endif

/// The supervisor's health mesh against real children, a real risk service, real PostgreSQL and
/// Redis, and a real local webhook receiver.
@Suite struct HealthMeshProcessTests {
    typealias System = SupervisedSystem

    static func alerting(receiver: String, retry: String = "200ms") -> String {
        """
        alerts:
          group_wait: 300ms
          group_interval: 500ms
          repeat_interval: 1h
          retry_initial: \(retry)
          retry_maximum: 1s
          receivers:
            oncall: { url: "\(receiver)/hook" }

        """
    }

    /// Probes that a loaded machine does not make flap (five answers in a row each later than a
    /// second): these tests fail services by killing them, which the supervisor sees at once
    /// without a probe.
    static let probes = """
        health:
          check_timeout: 1s
          probe: { interval: 1s, timeout: 1s, failure_threshold: 5, start_grace: 2s }

        """

    /// The webhook bodies of one status whose alerts include `service`.
    static func notifications(_ server: ScriptedHTTPServer, status: String, service: String) -> [[String: Any]] {
        notifications(server, status: status, label: "service", value: service)
    }

    /// The webhook bodies of one status with an alert whose `label` is `value`.
    static func notifications(_ server: ScriptedHTTPServer, status: String, label: String, value: String) -> [[String: Any]] {
        server.requests.compactMap { request -> [String: Any]? in
            guard let body = try? JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any],
                body["status"] as? String == status,
                let alerts = body["alerts"] as? [[String: Any]],
                alerts.contains(where: { ($0["labels"] as? [String: String])?[label] == value })
            else { return nil }
            return body
        }
    }

    /// The risk service's policy with a feed-age limit long enough that no market data (none
    /// flows in this test) trips the ESS before the rule under test does.
    static func relaxFeedAge(riskURL: String) async throws {
        try await changePolicy(riskURL: riskURL) { policy in
            guard case .object(var ess)? = policy["ess"] else { return }
            ess["maxFeedAgeSeconds"] = .number(86_400)
            policy["ess"] = .object(ess)
        }
    }

    /// The risk service's policy changed by `change`, as an operator's `PUT /api/policy`.
    static func changePolicy(
        riskURL: String, token: String = System.controlToken, _ change: (inout [String: JSONValue]) -> Void
    ) async throws {
        let current = try JSONValue(parsing: try await HTTPProbe.get(riskURL + "/api/policy").body)
        guard case .object(let document) = current, case .object(var policy)? = document["policy"] else {
            throw MissingFixture("unexpected policy document \(current)")
        }
        change(&policy)
        let body = JSONValue.object(["policy": .object(policy), "updatedBy": .string("test")])
        let answer = try await HTTPProbe.request(
            .PUT, riskURL + "/api/policy",
            headers: [("Authorization", "Bearer \(token)"), ("Content-Type", "application/json")],
            body: String(decoding: body.encoded(), as: UTF8.self))
        guard answer.status == 200 else { throw MissingFixture("policy change refused: \(answer.text)") }
    }

    @Test func aKilledExecutionServiceTripsTheESSOnceAndPagesOnceThenResolves() async throws {
        let receiver = try await ScriptedHTTPServer { _, _ in .json(200, "{}") }
        let postgres = try await PostgresServer().freshDatabase()
        let system = try await System(
            programs: [], services: [.risk, .execution, .exchangeSim], serviceSettings: [.execution: ["restart: never"]],
            sections: Self.alerting(receiver: receiver.url) + Self.probes + """
                safety:
                  rules:
                    execution-down: { condition: service_down, services: [execution], hold: 1s }

                """, postgres: postgres)
        #expect(await system.waitFor("execution") { $0["ready"] as? Bool == true }, "\(system.supervisor.output())")
        let riskURL = system.configuration.url(.risk, "")
        try await Self.relaxFeedAge(riskURL: riskURL)
        #expect(await TestEnvironment.eventually { (try? await system.mesh())?["status"] as? String == "pass" })

        let pid = try #require(await system.service("execution")?["pid"] as? Int)
        let killedAt = Date()
        kill(Int32(pid), SIGKILL)

        // The ESS is tripped by the supervisor's rule, after its hold.
        var trip: [String: JSONValue]?
        #expect(
            await TestEnvironment.eventually(timeout: .seconds(20)) {
                trip = await Self.trip(riskURL: riskURL, source: "supervisor/execution-down")
                return trip != nil
            }, "\(system.supervisor.output())")
        #expect(trip?["to"] == .string("tripped"))
        #expect(trip?["trigger"] == .string("supervisor"))
        if case .string(let at)? = trip?["at"], let trippedAt = EventEnvelope.parseTimestamp(at) {
            #expect(trippedAt.timeIntervalSince(killedAt) >= 1.0, "not before the rule's hold")
        }
        // Counted once the risk service's answer is back, which may be just after the trip shows.
        #expect(
            await TestEnvironment.eventually {
                (try? await system.metric("vakt_ess_trip_requests_total", ["rule": "execution-down", "outcome": "transitioned"])) == 1
            })
        let announced = try await EventStreamInspector(
            redis: RedisConnection(endpoint: RedisEndpoint(host: "127.0.0.1", port: system.redis.port))
        )
        .range(.essTripRequested, from: "-", to: "+", limit: 10)
        #expect(announced.count == 1 && announced.first?.envelope.contains("supervisor/execution-down") == true)

        // One firing notification, in Alertmanager's webhook format.
        #expect(await TestEnvironment.eventually { !Self.notifications(receiver, status: "firing", service: "execution").isEmpty })
        try await Task.sleep(for: .seconds(2))
        let firing = Self.notifications(receiver, status: "firing", service: "execution")
        #expect(firing.count == 1, "\(receiver.requests.map(\.text))")
        let page = try #require(firing.first)
        #expect(page["version"] as? String == "4")
        #expect(page["receiver"] as? String == "oncall")
        #expect((page["groupKey"] as? String)?.contains("VaktServiceFailing") == true)
        let alert = try #require((page["alerts"] as? [[String: Any]])?.first)
        let labels = try #require(alert["labels"] as? [String: String])
        #expect(labels["alertname"] == "VaktServiceFailing" && labels["severity"] == "critical" && labels["service"] == "execution")
        let annotations = try #require(alert["annotations"] as? [String: String])
        #expect(annotations["runbook_url"] == "docs/runbook.md#vaktservicefailing")
        #expect(annotations["description"]?.contains("killed by signal 9") == true)
        #expect(alert["endsAt"] as? String == "0001-01-01T00:00:00Z")

        // Back by an operator's hand: one resolved notification.
        #expect(try await system.control("start", "execution").status == 200)
        #expect(
            await TestEnvironment.eventually(timeout: .seconds(20)) {
                !Self.notifications(receiver, status: "resolved", service: "execution").isEmpty
            })
        try await Task.sleep(for: .seconds(2))
        #expect(Self.notifications(receiver, status: "resolved", service: "execution").count == 1)
        #expect(Self.notifications(receiver, status: "firing", service: "execution").count == 1)
        // Every request the receiver took is counted once as sent (other groups may page too).
        #expect(try await system.metric("vakt_alert_notifications_sent_total", ["receiver": "oncall"]) == Double(receiver.requests.count))
        #expect(await system.stop() == 0, "\(system.supervisor.output())")
        await receiver.stop()
    }

    /// A supervisor per host: this one probes the other host's supervisor as an HTTP target and
    /// trips the ESS by rule when it stops answering, as when that host is cut off (frozen here,
    /// SIGSTOP: its sockets stay open and nothing answers, as across a partition). It pages
    /// `VaktHostUnreachable`, which resolves when the host answers again.
    @Test func anotherHostCutOffIsSeenByThisMeshAndTripsTheESSByRule() async throws {
        let other = try await System(programs: [], services: [])
        let otherHealth = other.configuration.url(.supervisor, "/health")
        #expect(await TestEnvironment.eventually { (try? await HTTPProbe.get(otherHealth))?.status == 200 }, "\(other.supervisor.output())")
        let (system, riskURL, receiver) = try await Self.watching(hosts: ["host-a": otherHealth])

        other.supervisor.signal(SIGSTOP)
        await Self.expectTripAndPage(system, riskURL: riskURL, rule: "host-a-cut-off", receiver: receiver)
        other.supervisor.signal(SIGCONT)
        await Self.expectPageResolved(receiver)
        #expect(await system.stop() == 0, "\(system.supervisor.output())")
        _ = await other.stop()
        await receiver.stop()
    }

    /// A supervisor running risk that watches other hosts (name to its supervisor's `/health`),
    /// a `host_unreachable` rule `<name>-cut-off` for each, paging `receiver`; returned once
    /// risk is ready and every host's node passes.
    static func watching(hosts: [String: String], redis: RedisServer? = nil) async throws -> (
        system: System, riskURL: String, receiver: ScriptedHTTPServer
    ) {
        let receiver = try await ScriptedHTTPServer { _, _ in .json(200, "{}") }
        let names = hosts.keys.sorted()
        let system = try await System(
            programs: [], services: [.risk],
            sections: Self.alerting(receiver: receiver.url) + """
                health:
                  check_timeout: 1s
                  probe: { interval: 1s, timeout: 1s, failure_threshold: 3, start_grace: 2s }
                  http_targets:
                \(names.map { "    \($0)-supervisor: \"\(hosts[$0]!)\"\n" }.joined())safety:
                  rules:
                \(names.map { "    \($0)-cut-off: { condition: host_unreachable, targets: [\($0)-supervisor], hold: 1s }\n" }.joined())
                """, postgres: try await PostgresServer().freshDatabase(), redis: redis)
        #expect(await system.waitFor("risk") { $0["ready"] as? Bool == true }, "\(system.supervisor.output())")
        let riskURL = system.configuration.url(.risk, "")
        try await Self.relaxFeedAge(riskURL: riskURL)
        for name in names {
            #expect(await TestEnvironment.eventually { (await system.meshNode("\(name)-supervisor"))?["effective"] as? String == "pass" })
        }
        return (system, riskURL, receiver)
    }

    /// The ESS tripped by the supervisor's `rule` (`host_unreachable`), and `VaktHostUnreachable` paged.
    static func expectTripAndPage(_ system: System, riskURL: String, rule: String, receiver: ScriptedHTTPServer) async {
        var trip: [String: JSONValue]?
        #expect(
            await TestEnvironment.eventually {
                trip = await Self.trip(riskURL: riskURL, source: "supervisor/\(rule)")
                return trip != nil
            }, "\(system.supervisor.output())")
        #expect(trip?["to"] == .string("tripped") && trip?["trigger"] == .string("supervisor"))
        #expect(
            await TestEnvironment.eventually {
                !Self.notifications(receiver, status: "firing", label: "alertname", value: "VaktHostUnreachable").isEmpty
            })
    }

    /// `VaktHostUnreachable` resolved: the host answers again.
    static func expectPageResolved(_ receiver: ScriptedHTTPServer) async {
        #expect(
            await TestEnvironment.eventually {
                !Self.notifications(receiver, status: "resolved", label: "alertname", value: "VaktHostUnreachable").isEmpty
            }, "the page resolves once the host answers again")
    }

    /// The newest ESS transition `source` asked for, among those the risk service shows.
    static func trip(riskURL: String, source: String) async -> [String: JSONValue]? {
        guard let body = try? await HTTPProbe.get(riskURL + "/api/ess").body,
            case .object(let fields)? = try? JSONDecoder().decode(JSONValue.self, from: Data(body)),
            case .array(let recent)? = fields["recent"]
        else { return nil }
        return recent.compactMap { if case .object(let entry) = $0 { entry } else { nil } }.first { $0["source"] == .string(source) }
    }

    /// The ESS state the risk service reports.
    static func essState(riskURL: String) async -> String? {
        guard let body = try? await HTTPProbe.get(riskURL + "/api/ess").body,
            case .object(let fields)? = try? JSONDecoder().decode(JSONValue.self, from: Data(body)),
            case .object(let status)? = fields["status"], case .string(let state)? = status["state"]
        else { return nil }
        return state
    }

    /// A trip of the ESS pages on-call through the supervisor's own receivers, with no
    /// Prometheus running, and the page resolves when the ESS is armed again.
    @Test func aTrippedESSPagesWithItsTriggerReasonAndSourceAndResolvesWhenArmed() async throws {
        let receiver = try await ScriptedHTTPServer { _, _ in .json(200, "{}") }
        let postgres = try await PostgresServer().freshDatabase()
        let system = try await System(
            programs: [], services: [.risk], sections: Self.alerting(receiver: receiver.url) + Self.probes, postgres: postgres)
        #expect(await system.waitFor("risk", timeout: .seconds(60)) { $0["ready"] as? Bool == true }, "\(system.supervisor.output())")
        let riskURL = system.configuration.url(.risk, "")
        try await Self.relaxFeedAge(riskURL: riskURL)
        let authorization = ("Authorization", "Bearer \(System.controlToken)")
        // No market data flows here: a trip for a stale feed before the relaxed policy landed is
        // reset first, so that the trip under test is the operator's.
        if await Self.essState(riskURL: riskURL) != "armed" {
            _ = try await HTTPProbe.request(
                .POST, riskURL + "/api/ess/reset", headers: [authorization], body: #"{"reason": "test setup", "source": "test"}"#)
        }
        #expect(await TestEnvironment.eventually { await Self.essState(riskURL: riskURL) == "armed" })

        let trip = try await HTTPProbe.request(
            .POST, riskURL + "/api/ess/trip", headers: [authorization], body: #"{"reason": "operator drill", "source": "test/drill"}"#)
        #expect(trip.status == 200, "\(trip.text)")
        #expect(
            await TestEnvironment.eventually {
                !Self.notifications(receiver, status: "firing", label: "alertname", value: "VaktESSTripped").isEmpty
            },
            "\(system.supervisor.output())")
        let page = try #require(Self.notifications(receiver, status: "firing", label: "alertname", value: "VaktESSTripped").first)
        let alert = try #require(
            (page["alerts"] as? [[String: Any]])?.first { ($0["labels"] as? [String: String])?["alertname"] == "VaktESSTripped" })
        let labels = try #require(alert["labels"] as? [String: String])
        #expect(labels["severity"] == "critical" && labels["instance"] == "test")
        let annotations = try #require(alert["annotations"] as? [String: String])
        #expect(annotations["state"] == "tripped")
        #expect(annotations["trigger"] == "manual")
        #expect(annotations["source"] == "test/drill")
        #expect(annotations["description"]?.contains("operator drill") == true, "\(annotations)")
        #expect(annotations["runbook_url"] == "docs/runbook.md#vaktesstripped")
        #expect(try await system.metric("vakt_alerts_firing", ["alertname": "VaktESSTripped"]) == 1)

        let reset = try await HTTPProbe.request(
            .POST, riskURL + "/api/ess/reset", headers: [authorization], body: #"{"reason": "drill over", "source": "test"}"#)
        #expect(reset.status == 200, "\(reset.text)")
        #expect(
            await TestEnvironment.eventually {
                !Self.notifications(receiver, status: "resolved", label: "alertname", value: "VaktESSTripped").isEmpty
            },
            "\(system.supervisor.output())")
        #expect(try await system.metric("vakt_alerts_firing", ["alertname": "VaktESSTripped"]) == 0)
        #expect(await system.stop() == 0, "\(system.supervisor.output())")
        await receiver.stop()
    }

    @Test func aNotificationPendingWhenTheSupervisorIsKilledIsDeliveredAfterItsRestartOnce() async throws {
        let accepting = Atomic<Bool>(false)
        let receiver = try await ScriptedHTTPServer { _, _ in accepting.load(ordering: .relaxed) ? .json(200, "{}") : .json(503, "{}") }
        let sections = Self.alerting(receiver: receiver.url, retry: "300ms") + "safety:\n  rules: {}\n"
        let programs = [("worker", System.child(["--ready-after-ms", "0"], ["restart: never"]))]
        let first = try await System(programs: programs, sections: sections)
        #expect(await first.waitFor("worker") { $0["ready"] as? Bool == true }, "\(first.supervisor.output())")
        let pid = try #require(await first.service("worker")?["pid"] as? Int)
        kill(Int32(pid), SIGKILL)
        // Refused at least once: the notification sits in the outbox, retried.
        #expect(await TestEnvironment.eventually { !Self.notifications(receiver, status: "firing", service: "worker").isEmpty })
        first.supervisor.signal(SIGKILL)
        _ = await first.supervisor.waitForExit()
        let refused = Self.notifications(receiver, status: "firing", service: "worker").count

        accepting.store(true, ordering: .relaxed)
        let second = try await System(programs: programs, stateDirectoryOf: first, sections: sections)
        #expect(
            await TestEnvironment.eventually(timeout: .seconds(20)) {
                (try? await second.metric("vakt_alert_notifications_sent_total", ["receiver": "oncall"])) ?? 0 >= 1
            }, "\(second.supervisor.output())")
        try await Task.sleep(for: .seconds(2))
        let firing = Self.notifications(receiver, status: "firing", service: "worker")
        #expect(firing.count == refused + 1, "every earlier attempt refused, then exactly one accepted")
        #expect(second.supervisor.output().contains("alert notification delivered"))
        #expect(await second.stop() == 0, "\(second.supervisor.output())")
        await receiver.stop()
    }

    /// Execution and a critical `feeder` under a supervisor with no risk service running: the
    /// feeder is killed, its rule fires, the trip cannot be delivered, and execution is stopped.
    static let haltSections =
        probes + """
            safety:
              risk_timeout: 5s
              recheck_interval: 200ms
              rules:
                feeder-down: { condition: service_down, services: [feeder], hold: 200ms }

            """
    static let feeder = ("feeder", System.child(["--ready-after-ms", "0"], ["restart: never", "critical: true"]))

    static func haltedSystem(postgres: PostgresServer? = nil) async throws -> System {
        // Execution keeps its orders in PostgreSQL.
        var database = postgres
        if database == nil { database = try await PostgresServer().freshDatabase() }
        let system = try await System(programs: [feeder], services: [.execution], sections: haltSections, postgres: database)
        #expect(await system.waitFor("execution") { $0["ready"] as? Bool == true }, "\(system.supervisor.output())")
        #expect(await system.waitFor("feeder") { $0["ready"] as? Bool == true })
        let pid = try #require(await system.service("feeder")?["pid"] as? Int)
        kill(Int32(pid), SIGKILL)
        #expect(await system.waitFor("execution") { $0["state"] as? String == "stopped" }, "\(system.supervisor.output())")
        return system
    }

    @Test func whenTheRiskServiceCannotBeReachedTheSupervisorStopsExecutionAndKeepsItStopped() async throws {
        let system = try await Self.haltedSystem()
        #expect(try await system.metric("vakt_ess_trip_requests_total", ["rule": "feeder-down", "outcome": "unreachable"]) ?? 0 >= 1)
        let output = system.supervisor.output()
        #expect(output.contains("trading halted by the supervisor"))
        #expect(output.contains("msg=\"safety rule fired; requesting an emergency stop\""), "the decision is logged")
        #expect(output.contains("inputs="), "with its inputs")

        // An operator cannot start it behind the supervisor's back, and it stays stopped.
        let refused = try await system.control("start", "execution")
        #expect(refused.status == 409 && refused.text.contains("held stopped"))
        try await Task.sleep(for: .seconds(3))
        #expect(await system.service("execution")?["state"] as? String == "stopped")
        let halt = try #require(try await system.mesh()["halt"] as? [String: Any])
        #expect(halt["service"] as? String == "execution")
        #expect((halt["undeliveredTrips"] as? [String]) == ["feeder-down"])
        #expect(try await system.metric("vakt_supervisor_trading_halted") == 1)
        #expect(try await system.metric("vakt_alerts_firing", ["alertname": "VaktTradingHalted"]) == 1)
        #expect(await system.stop() == 0, "\(system.supervisor.output())")
    }

    @Test func aHaltEndsOnlyOnceTheRiskServiceTookTheTripAndAnOperatorArmedTheESS() async throws {
        let system = try await Self.haltedSystem(postgres: try await PostgresServer().freshDatabase())

        // The risk service comes up (on the port the supervisor knows), armed: the pending trip
        // is delivered, so the ESS trips and execution stays stopped.
        let risk = try ServiceProcess(
            arguments: ["risk", "--config", system.configuration.path], environment: ["VAKT_SECRET_CONTROL_TOKEN": System.controlToken])
        defer { risk.signal(SIGTERM) }
        let riskURL = system.configuration.url(.risk, "")
        var delivered = false
        #expect(
            await TestEnvironment.eventually(timeout: .seconds(30)) {
                delivered = await Self.trip(riskURL: riskURL, source: "supervisor/feeder-down") != nil
                return delivered
            }, "\(risk.output())")
        try await Self.relaxFeedAge(riskURL: riskURL)
        try await Task.sleep(for: .seconds(1))
        #expect(await system.service("execution")?["state"] as? String == "stopped", "tripped is not armed")

        // An operator resets the ESS: the supervisor lets execution run again.
        try await Self.resetAndExpectRelease(system, riskURL: riskURL)
        #expect(await system.stop() == 0, "\(system.supervisor.output())")
    }

    /// An operator resets the ESS; the supervisor releases its hold and starts execution.
    static func resetAndExpectRelease(_ system: System, riskURL: String) async throws {
        let reset = try await HTTPProbe.request(
            .POST, riskURL + "/api/ess/reset", headers: [("Authorization", "Bearer \(System.controlToken)")],
            body: #"{"reason": "feeder replaced", "source": "test"}"#)
        #expect(reset.status == 200, "\(reset.text)")
        #expect(await system.waitFor("execution") { $0["ready"] as? Bool == true }, "\(system.supervisor.output())")
        #expect(try await system.mesh()["halt"] == nil)
        #expect(try await system.metric("vakt_supervisor_trading_halted") == 0)
        #expect(system.supervisor.output().contains("risk service back and the ESS armed"))
    }

    @Test func aHaltSurvivesTheSupervisorsRestartUntilTheTripIsDeliveredAndTheESSArmed() async throws {
        let postgres = try await PostgresServer().freshDatabase()
        let first = try await Self.haltedSystem(postgres: postgres)
        // The supervisor dies while it holds execution stopped with the trip still owed.
        first.supervisor.signal(SIGKILL)
        #expect(await first.supervisor.waitForExit() != nil)

        // A new supervisor on the same state directory: the feeder runs again, so no rule fires
        // now; only the record says trading was halted. Execution is never started.
        let second = try await System(
            programs: [Self.feeder], services: [.execution], stateDirectoryOf: first, sections: Self.haltSections, postgres: postgres)
        #expect(await second.waitFor("feeder") { $0["ready"] as? Bool == true }, "\(second.supervisor.output())")
        #expect(await TestEnvironment.eventually { (try? await second.mesh()["halt"]) as? [String: Any] != nil })
        let halt = try #require(try await second.mesh()["halt"] as? [String: Any])
        #expect(halt["service"] as? String == "execution")
        #expect((halt["undeliveredTrips"] as? [String]) == ["feeder-down"])
        try await Task.sleep(for: .seconds(1))
        #expect(await second.service("execution")?["state"] as? String == "stopped")
        #expect(await second.service("execution")?["pid"] == nil, "never started")
        #expect(try await second.metric("vakt_supervisor_trading_halted") == 1)
        #expect(second.supervisor.output().contains("trading still halted by the supervisor"))
        let refused = try await second.control("start", "execution")
        #expect(refused.status == 409, "\(refused.text)")

        // The risk service comes up: the owed trip is delivered; an operator arms the ESS; the
        // supervisor starts execution and forgets the hold.
        let risk = try ServiceProcess(
            arguments: ["risk", "--config", second.configuration.path], environment: ["VAKT_SECRET_CONTROL_TOKEN": System.controlToken])
        defer { risk.signal(SIGTERM) }
        let riskURL = second.configuration.url(.risk, "")
        #expect(
            await TestEnvironment.eventually(timeout: .seconds(30)) {
                guard let ess = try? JSONDecoder().decode(JSONValue.self, from: Data(try await HTTPProbe.get(riskURL + "/api/ess").body)),
                    case .object(let fields) = ess, case .object(let status)? = fields["status"]
                else { return false }
                return status["state"] == .string("tripped")
            }, "\(risk.output())")
        try await Self.relaxFeedAge(riskURL: riskURL)
        try await Self.resetAndExpectRelease(second, riskURL: riskURL)
        let record = first.configuration.directory.path + "/supervisor/safety-hold.json"
        #expect(!FileManager.default.fileExists(atPath: record), "the record goes with the hold")
        #expect(await second.stop() == 0, "\(second.supervisor.output())")
    }

    @Test func healthTargetsThatMisbehaveFailWithTheirReasonAndTheSupervisorStaysResponsive() async throws {
        let targets = try await ScriptedHTTPServer { request, _ in
            switch request.path {
            case "/html":
                .respond(status: 200, contentType: "text/html", body: Array("<!doctype html><html><body>It works</body></html>".utf8))
            case "/invalid": .json(200, "{\"status\": pass}")
            case "/shape": .json(200, "{\"state\": \"ok\"}")
            case "/large": .respond(status: 200, body: Array(repeating: UInt8(ascii: " "), count: 10 << 20))
            case "/slow": .delay(.seconds(30), then: Array("{\"status\":\"pass\"}".utf8))
            case "/close": .close
            case "/redirect", "/loop": .json(302, "{}")
            case "/teapot": .json(418, "{}")
            default: .json(200, "{\"status\":\"pass\"}")
            }
        }
        let names = ["html", "invalid", "shape", "large", "slow", "close", "redirect", "teapot", "good"]
        let system = try await System(
            programs: [],
            sections: """
                health:
                  check_timeout: 1s
                  # One failure fails a target; only the slow target's timeout is short, since it
                  # is the subject: a loaded machine's late answer must not fail the others.
                  probe: { interval: 5s, timeout: 5s, failure_threshold: 1, start_grace: 0s }
                  probes:
                    slow: { interval: 500ms, timeout: 400ms, failure_threshold: 1, start_grace: 0s }
                  http_targets:
                \(names.map { "    \($0): \"\(targets.url)/\($0)\"" }.joined(separator: "\n"))

                """)
        let expected: [String: String] = [
            "html": "malformed: not JSON: <!doctype html>", "invalid": "malformed: not JSON",
            "shape": "malformed: missing string field \"status\"",
            "large": "body_too_large: body of 10485760 bytes exceeds the 262144-byte limit", "slow": "timeout: no answer within 400 ms",
            "close": "connection:", "redirect": "redirect: HTTP 302 redirect to /loop", "teapot": "http_status: HTTP 418",
        ]
        let settled = await TestEnvironment.eventually(timeout: .seconds(20)) {
            for (name, reason) in expected {
                guard let node = await system.meshNode(name), node["effective"] as? String == "fail",
                    let error = (node["probe"] as? [String: Any])?["lastError"] as? String, error.hasPrefix(reason)
                else { return false }
            }
            return await system.meshNode("good")?["effective"] as? String == "pass"
        }
        let nodes = try await system.mesh()["nodes"]
        #expect(settled, "\(String(describing: nodes))")
        // Its own /health answers at once from the last evaluation, with a check per target;
        // the extra targets are not critical, so the system only warns.
        for _ in 0..<10 {
            let health = try await HTTPProbe.get(system.configuration.url(.supervisor, "/health"))
            #expect(health.status == 200 && health.contentType == "application/health+json")
            let report = try #require(try JSONSerialization.jsonObject(with: Data(health.body)) as? [String: Any])
            #expect(report["status"] as? String == "warn")
            let checks = try #require(report["checks"] as? [String: [[String: Any]]])
            #expect(checks["slow:health"]?.first?["status"] as? String == "fail")
            #expect(checks["good:health"]?.first?["status"] as? String == "pass")
        }
        #expect(try await system.metric("vakt_probe_failures_total", ["target": "html", "reason": "malformed"]) ?? 0 >= 1)
        #expect(try await system.metric("vakt_probe_failures_total", ["target": "slow", "reason": "timeout"]) ?? 0 >= 1)
        #expect(try await system.metric("vakt_probe_failures_total", ["target": "large", "reason": "body_too_large"]) ?? 0 >= 1)
        #expect(try await system.metric("vakt_mesh_status", ["node": "close", "status": "fail"]) == 1)
        #expect(system.supervisor.isRunning)
        #expect(await system.stop() == 0, "\(system.supervisor.output())")
        await targets.stop()
    }
}
