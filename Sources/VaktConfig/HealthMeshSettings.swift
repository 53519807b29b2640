/// How often and how strictly one health target is probed (`health.probe`, overridden per
/// target in `health.probes.<target>`), in the terms of a Kubernetes probe.
public struct ProbeSettings: Sendable, Equatable {
    public var interval: Duration
    /// An answer later than this is a failure.
    public var timeout: Duration
    /// Consecutive failures that turn a passing target failing.
    public var failureThreshold: Int
    /// Consecutive successes that turn a failing target passing.
    public var successThreshold: Int
    /// After a (re)start, failures are not counted for this long.
    public var startGrace: Duration
    /// A larger `/health` body is a failure, read no further.
    public var maxBodyBytes: Int

    public static let defaults = ProbeSettings(
        interval: .seconds(1), timeout: .seconds(1), failureThreshold: 3, successThreshold: 1, startGrace: .seconds(15),
        maxBodyBytes: 256 * 1024)

    public init(
        interval: Duration, timeout: Duration, failureThreshold: Int, successThreshold: Int, startGrace: Duration, maxBodyBytes: Int
    ) {
        self.interval = interval
        self.timeout = timeout
        self.failureThreshold = failureThreshold
        self.successThreshold = successThreshold
        self.startGrace = startGrace
        self.maxBodyBytes = maxBodyBytes
    }

    /// These settings with the keys `section` sets.
    func reading(_ section: ConfigReader.Section) -> ProbeSettings {
        var result = self
        result.interval = section.duration("interval", default: interval, in: .milliseconds(50)...(.seconds(3600)))
        result.timeout = section.duration("timeout", default: timeout, in: .milliseconds(10)...(.seconds(600)))
        result.failureThreshold = section.int("failure_threshold", default: failureThreshold, in: 1...1000)
        result.successThreshold = section.int("success_threshold", default: successThreshold, in: 1...1000)
        result.startGrace = section.duration("start_grace", default: startGrace, in: .zero...(.seconds(3600)))
        // A health report is parsed only up to 256 KiB, whatever the probe reads.
        result.maxBodyBytes = section.int("max_body_bytes", default: maxBodyBytes, in: 256...(256 * 1024))
        if result.timeout > result.interval {
            section.report("timeout", "must not be longer than interval, or probes of one target would overlap")
        }
        section.finish()
        return result
    }
}

/// `health:` in the file: the services' own dependency checks and the supervisor's probes.
public struct HealthSettings: Sendable {
    /// The longest one dependency check (Redis PING, PostgreSQL SELECT 1) may take.
    public var checkTimeout: Duration
    /// The probe settings of every target without its own.
    public var probe: ProbeSettings
    /// Probe settings by target: a service name, `redis`, `postgres`, `exchange`, or one of
    /// ``httpTargets``.
    public var probes: [String: ProbeSettings]
    /// Further `/health`-style URLs the supervisor probes and shows in the mesh, by name.
    public var httpTargets: [String: String]

    public func probe(for target: String) -> ProbeSettings {
        probes[target] ?? probe
    }

    init(reading section: ConfigReader.Section) {
        checkTimeout = section.duration("check_timeout", default: .seconds(1), in: .milliseconds(10)...(.seconds(30)))
        probe = ProbeSettings.defaults.reading(section.section("probe"))
        let urls = section.section("http_targets")
        var httpTargets: [String: String] = [:]
        for name in urls.keys {
            guard let url = urls.optionalHTTPURL(name) else { continue }
            httpTargets[name] = url
        }
        self.httpTargets = httpTargets
        let targets = section.section("probes")
        var probes: [String: ProbeSettings] = [:]
        for name in targets.keys {
            probes[name] = probe.reading(targets.section(name))
        }
        self.probes = probes
        targets.finish()
        section.finish()
    }
}

/// A condition under which the supervisor requests an emergency stop (`safety.rules.<name>`).
public struct SafetyRule: Sendable, Equatable {
    public enum Condition: Sendable, Equatable {
        /// Any of these services failing (down, or its probe failing) for the hold time.
        case serviceDown(services: [String])
        /// Shared infrastructure (redis, postgres, exchange) unreachable for the hold time.
        case dependencyDown(Infrastructure)
        /// Any of these services gave up restarting (restart intensity exceeded).
        case serviceGaveUp(services: [String])
        /// No new entry on this event stream for the hold time.
        case streamStale(stream: String)
        /// Every one of these HTTP targets (`health.http_targets`: another host's services)
        /// failing for the hold time: that host is cut off from this one, or gone.
        case hostUnreachable(targets: [String])

        public var name: String {
            switch self {
            case .serviceDown: "service_down"
            case .dependencyDown: "dependency_down"
            case .serviceGaveUp: "service_gave_up"
            case .streamStale: "stream_stale"
            case .hostUnreachable: "host_unreachable"
            }
        }
    }

    public var name: String
    public var condition: Condition
    /// How long the condition must hold before the rule fires.
    public var hold: Duration

    public init(name: String, condition: Condition, hold: Duration) {
        self.name = name
        self.condition = condition
        self.hold = hold
    }
}

/// How the supervisor drives the ESS (`safety:`).
public struct SafetySettings: Sendable {
    public var rules: [SafetyRule]
    /// The longest a trip request to the risk service may take before it counts as unreachable.
    public var riskTimeout: Duration
    /// How often, while trading is halted by the supervisor, the risk service is asked again.
    public var recheckInterval: Duration
    /// The service the supervisor stops when it cannot reach the risk service.
    public var haltService: String

    /// The rules when the file names none: every critical service, the shared infrastructure,
    /// restarts given up, and the market-data feed.
    public static func defaultRules(critical: [String]) -> [SafetyRule] {
        [
            SafetyRule(name: "critical-service-down", condition: .serviceDown(services: critical), hold: .seconds(5)),
            SafetyRule(name: "critical-service-gave-up", condition: .serviceGaveUp(services: critical), hold: .zero),
            SafetyRule(name: "redis-unreachable", condition: .dependencyDown(.redis), hold: .seconds(5)),
            SafetyRule(name: "postgres-unreachable", condition: .dependencyDown(.postgres), hold: .seconds(10)),
            SafetyRule(name: "exchange-unreachable", condition: .dependencyDown(.exchange), hold: .seconds(10)),
            SafetyRule(name: "market-data-stale", condition: .streamStale(stream: "market.tick"), hold: .seconds(60)),
        ]
    }

    init(reading section: ConfigReader.Section, services: [ServiceSettings], httpTargets: Set<String>) {
        riskTimeout = section.duration("risk_timeout", default: .seconds(2), in: .milliseconds(50)...(.seconds(60)))
        recheckInterval = section.duration("recheck_interval", default: .seconds(1), in: .milliseconds(50)...(.seconds(600)))
        haltService = section.string("halt_service", default: ServiceKind.execution.rawValue)
        let enabled = services.filter(\.enabled)
        let known = Set(enabled.map(\.name))
        if !known.contains(haltService) && haltService != ServiceKind.execution.rawValue {
            section.report("halt_service", "unknown or disabled service \"\(haltService)\"")
        }
        let critical = enabled.filter { $0.critical && $0.kind != .supervisor }.map(\.name)
        let rulesSection = section.section("rules")
        guard rulesSection.isPresent else {
            rules = Self.defaultRules(critical: critical)
            section.finish()
            return
        }
        var rules: [SafetyRule] = []
        for name in rulesSection.keys {
            let rule = rulesSection.section(name)
            let kind = rule.string("condition", default: "")
            let hold = rule.duration("hold", default: .zero, in: .zero...(.seconds(86_400)))
            func serviceList() -> [String] {
                let listed = rule.stringList("services", default: critical)
                for service in listed where !known.contains(service) {
                    rule.report("services", "unknown or disabled service \"\(service)\"")
                }
                return listed
            }
            switch kind {
            case "service_down":
                rules.append(SafetyRule(name: name, condition: .serviceDown(services: serviceList()), hold: hold))
            case "service_gave_up":
                rules.append(SafetyRule(name: name, condition: .serviceGaveUp(services: serviceList()), hold: hold))
            case "dependency_down":
                let text = rule.string("dependency", default: "")
                if let dependency = Infrastructure(rawValue: text) {
                    rules.append(SafetyRule(name: name, condition: .dependencyDown(dependency), hold: hold))
                } else {
                    rule.report("dependency", "expected one of redis, postgres, exchange, got \"\(text)\"")
                }
            case "stream_stale":
                let stream = rule.string("stream", default: "")
                if stream.isEmpty { rule.report("stream", "missing required key") }
                rules.append(SafetyRule(name: name, condition: .streamStale(stream: stream), hold: hold))
            case "host_unreachable":
                let targets = rule.stringList("targets", default: [])
                if targets.isEmpty { rule.report("targets", "missing required key: the host's services, as health.http_targets names") }
                for target in targets where !httpTargets.contains(target) {
                    rule.report("targets", "\"\(target)\" is not one of health.http_targets")
                }
                rules.append(SafetyRule(name: name, condition: .hostUnreachable(targets: targets), hold: hold))
            default:
                rule.report(
                    "condition",
                    "expected one of service_down, service_gave_up, dependency_down, stream_stale, host_unreachable, got \"\(kind)\"")
            }
            rule.finish()
        }
        self.rules = rules
        section.finish()
    }
}

/// Where alerts go and how they are grouped (`alerts:`), in Alertmanager's terms.
public struct AlertSettings: Sendable {
    public struct Receiver: Sendable, Equatable {
        public enum Kind: String, Sendable, CaseIterable {
            /// POSTs the Alertmanager webhook payload (version 4).
            case webhook
            /// PagerDuty Events API v2: a trigger or resolve event per alert.
            case pagerduty
            /// POSTs the alerts to an Alertmanager's `/api/v2/alerts`.
            case alertmanager
        }
        public var name: String
        public var kind: Kind
        /// The URL, unless ``urlSecret`` names a secret holding it (a URL with a key inside).
        public var url: String?
        public var urlSecret: String?
        /// A secret sent as `Authorization: Bearer`.
        public var tokenSecret: String?
        /// PagerDuty's integration key.
        public var routingKeySecret: String?

        public init(name: String, kind: Kind, url: String?, urlSecret: String?, tokenSecret: String?, routingKeySecret: String?) {
            self.name = name
            self.kind = kind
            self.url = url
            self.urlSecret = urlSecret
            self.tokenSecret = tokenSecret
            self.routingKeySecret = routingKeySecret
        }
    }

    public var receivers: [Receiver]
    /// Labels whose values put alerts in one notification.
    public var groupBy: [String]
    /// How long a new group waits for more alerts before its first notification.
    public var groupWait: Duration
    /// How long a group waits before notifying about alerts added or resolved since its last.
    public var groupInterval: Duration
    /// How long before a notification that changed nothing is sent again.
    public var repeatInterval: Duration
    /// The durable outbox (SQLite) of notifications not yet delivered, and of the alerts' state.
    public var outboxPath: String
    public var deliveryTimeout: Duration
    public var retryInitial: Duration
    public var retryMaximum: Duration
    /// A notification still not delivered after this long counts as failed.
    public var giveUpAfter: Duration
    /// Where `externalURL` and each alert's `generatorURL` point: the supervisor.
    public var externalURL: String
    /// The runbook each alert's `runbook_url` points into, by `#anchor`.
    public var runbookURL: String

    init(reading section: ConfigReader.Section, stateDirectory: String, defaultExternalURL: String) {
        groupBy = section.stringList("group_by", default: ["alertname"])
        groupWait = section.duration("group_wait", default: .seconds(10), in: .zero...(.seconds(3600)))
        groupInterval = section.duration("group_interval", default: .seconds(60), in: .milliseconds(10)...(.seconds(86_400)))
        repeatInterval = section.duration("repeat_interval", default: .seconds(4 * 3600), in: .milliseconds(10)...(.seconds(30 * 86_400)))
        outboxPath = section.string("outbox_path", default: stateDirectory + "/alerts.sqlite")
        deliveryTimeout = section.duration("delivery_timeout", default: .seconds(10), in: .milliseconds(10)...(.seconds(300)))
        retryInitial = section.duration("retry_initial", default: .seconds(1), in: .milliseconds(1)...(.seconds(3600)))
        retryMaximum = section.duration("retry_maximum", default: .seconds(300), in: .milliseconds(1)...(.seconds(86_400)))
        giveUpAfter = section.duration("give_up_after", default: .seconds(86_400), in: .seconds(1)...(.seconds(30 * 86_400)))
        externalURL = section.string("external_url", default: defaultExternalURL)
        runbookURL = section.string("runbook_url", default: "docs/runbook.md")
        if retryMaximum < retryInitial {
            section.report("retry_maximum", "must not be shorter than retry_initial")
        }
        let receiversSection = section.section("receivers")
        var receivers: [Receiver] = []
        for name in receiversSection.keys {
            let entry = receiversSection.section(name)
            let kind: Receiver.Kind = entry.choice("type", default: .webhook)
            let receiver = Receiver(
                name: name, kind: kind, url: entry.optionalHTTPURL("url"), urlSecret: entry.optionalString("url_secret"),
                tokenSecret: entry.optionalString("token_secret"), routingKeySecret: entry.optionalString("routing_key_secret"))
            if entry.contains("url") && receiver.urlSecret != nil {
                entry.report("url_secret", "give url or url_secret, not both")
            }
            if !entry.contains("url") && receiver.urlSecret == nil && kind != .pagerduty {
                entry.report("url", "missing required key (or url_secret)")
            }
            if kind == .pagerduty && receiver.routingKeySecret == nil {
                entry.report("routing_key_secret", "a pagerduty receiver needs the secret holding its integration key")
            }
            entry.finish()
            receivers.append(receiver)
        }
        self.receivers = receivers
        section.finish()
    }
}
