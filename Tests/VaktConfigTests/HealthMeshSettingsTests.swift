import Testing
import VaktConfig

@Suite struct HealthMeshSettingsTests {
    func parse(_ yaml: String, environment: [String: String] = [:]) throws(ConfigErrors) -> VaktConfiguration {
        try ConfigurationLoader.parse(yaml: yaml, file: "test.yaml", environment: environment)
    }

    func errors(_ yaml: String) -> [String] {
        do {
            _ = try parse(yaml)
            return []
        } catch {
            return error.errors.map(\.description)
        }
    }

    @Test func defaultsCoverEveryCriticalServiceAndTheInfrastructure() throws {
        let configuration = try parse("")
        #expect(configuration.health.probe == .defaults)
        let names = configuration.safety.rules.map(\.name)
        #expect(names.contains("critical-service-down") && names.contains("redis-unreachable") && names.contains("market-data-stale"))
        guard case .serviceDown(let services)? = configuration.safety.rules.first?.condition else {
            Issue.record("the first default rule watches the critical services")
            return
        }
        #expect(services.contains("execution") && services.contains("risk") && !services.contains("rl-training"))
        #expect(configuration.alerts.receivers.isEmpty)
        #expect(configuration.alerts.groupBy == ["alertname"])
        #expect(configuration.alerts.outboxPath == "var/state/supervisor/alerts.sqlite")
    }

    @Test func perTargetProbesInheritTheDefaults() throws {
        let configuration = try parse(
            """
            health:
              probe: { interval: 2s, timeout: 1s }
              probes:
                execution: { failure_threshold: 1 }
              http_targets:
                vendor: http://127.0.0.1:9999/health
            """)
        let execution = configuration.health.probe(for: "execution")
        #expect(execution.interval == .seconds(2) && execution.failureThreshold == 1)
        #expect(configuration.health.probe(for: "risk").failureThreshold == 3)
        #expect(configuration.health.httpTargets == ["vendor": "http://127.0.0.1:9999/health"])
    }

    @Test func rulesAndReceiversAreRead() throws {
        let configuration = try parse(
            """
            safety:
              rules:
                exec: { condition: service_down, services: [execution], hold: 3s }
                pg: { condition: dependency_down, dependency: postgres, hold: 10s }
            alerts:
              receivers:
                oncall: { url: "https://hooks.example/x", token_secret: hook-token }
                pager: { type: pagerduty, routing_key_secret: pd-key }
                am: { type: alertmanager, url: "http://am:9093" }
            """)
        #expect(
            configuration.safety.rules == [
                SafetyRule(name: "exec", condition: .serviceDown(services: ["execution"]), hold: .seconds(3)),
                SafetyRule(name: "pg", condition: .dependencyDown(.postgres), hold: .seconds(10)),
            ])
        #expect(configuration.alerts.receivers.map(\.kind) == [.webhook, .pagerduty, .alertmanager])
    }

    @Test func everyMistakeIsNamed() {
        let found = errors(
            """
            health:
              probe: { interval: 1s, timeout: 2s }
              probes:
                nonsense: { interval: 1s }
              http_targets:
                redis: http://x
                ftp: ftp://x
                hostless: "http:///health"
            safety:
              halt_service: nobody
              rules:
                a: { condition: when_it_rains }
                b: { condition: dependency_down, dependency: kafka }
                c: { condition: service_down, services: [ghost] }
                d: { condition: stream_stale }
                e: { condition: host_unreachable, targets: [host-a-risk] }
                f: { condition: host_unreachable }
            alerts:
              retry_initial: 10s
              retry_maximum: 1s
              receivers:
                hook: { type: webhook }
                both: { url: "http://a", url_secret: s }
                pager: { type: pagerduty }
                odd: { type: carrier-pigeon, url: "http://a" }
                plain: { url: "hooks.example" }
            """)
        for expected in [
            "test.yaml:health.probe.timeout: must not be longer than interval, or probes of one target would overlap",
            "test.yaml:health.probes.nonsense: unknown probe target; expected a service name or redis, postgres, exchange",
            "test.yaml:health.http_targets.redis: a service or infrastructure of that name exists already",
            "test.yaml:health.http_targets.ftp: expected an http:// or https:// URL, got \"ftp://x\"",
            "test.yaml:health.http_targets.hostless: \"http:///health\" is not a URL with a host",
            "test.yaml:safety.halt_service: unknown or disabled service \"nobody\"",
            "test.yaml:safety.rules.a.condition: expected one of service_down, service_gave_up, dependency_down, stream_stale, host_unreachable, got \"when_it_rains\"",
            "test.yaml:safety.rules.b.dependency: expected one of redis, postgres, exchange, got \"kafka\"",
            "test.yaml:safety.rules.c.services: unknown or disabled service \"ghost\"",
            "test.yaml:safety.rules.d.stream: missing required key",
            "test.yaml:safety.rules.e.targets: \"host-a-risk\" is not one of health.http_targets",
            "test.yaml:safety.rules.f.targets: missing required key: the host's services, as health.http_targets names",
            "test.yaml:alerts.retry_maximum: must not be shorter than retry_initial",
            "test.yaml:alerts.receivers.hook.url: missing required key (or url_secret)",
            "test.yaml:alerts.receivers.both.url_secret: give url or url_secret, not both",
            "test.yaml:alerts.receivers.pager.routing_key_secret: a pagerduty receiver needs the secret holding its integration key",
            "test.yaml:alerts.receivers.plain.url: expected an http:// or https:// URL, got \"hooks.example\"",
        ] {
            #expect(found.contains(expected), "\(expected) in \(found)")
        }
        #expect(found.contains { $0.hasPrefix("test.yaml:alerts.receivers.odd.type:") }, "\(found)")
    }
}
