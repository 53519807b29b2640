import Foundation

/// One service or supervised program: how to run it, when it is ready, how to stop it and
/// what to do when it exits.
public struct ServiceSettings: Sendable {
    public enum Readiness: String, Sendable, CaseIterable {
        /// Ready when the child sends `READY=1` over sd_notify.
        case notify
        /// Ready when its `/health` answers 200.
        case http
        /// Ready as soon as it runs.
        case none
    }

    public enum RestartPolicy: String, Sendable, CaseIterable {
        case always
        case onFailure = "on-failure"
        case never
    }

    public struct Backoff: Sendable, Equatable {
        public var initial: Duration
        public var multiplier: Double
        public var maximum: Duration
        /// The fraction by which each delay is randomly lengthened or shortened (0 to 1).
        public var jitter: Double

        public init(initial: Duration, multiplier: Double, maximum: Duration, jitter: Double) {
            self.initial = initial
            self.multiplier = multiplier
            self.maximum = maximum
            self.jitter = jitter
        }

        /// The delay before restart number `attempt` (1 for the first), before jitter.
        public func delay(attempt: Int) -> Duration {
            var delay = initial
            for _ in 1..<max(attempt, 1) {
                delay = delay * multiplier
                if delay >= maximum { return maximum }
            }
            return min(delay, maximum)
        }
    }

    /// At most `maxRestarts` restarts within `period`; one more and the child is `failed`.
    public struct Intensity: Sendable, Equatable {
        public var maxRestarts: Int
        public var period: Duration

        public init(maxRestarts: Int, period: Duration) {
            self.maxRestarts = maxRestarts
            self.period = period
        }
    }

    /// A file that receives the child's output besides the supervisor's log.
    public struct LogFile: Sendable, Equatable {
        public var path: String
        public var maxBytes: Int
        /// Rotated files kept: `path.1` … `path.N`.
        public var keep: Int
    }

    public var name: String
    /// The Vakt service this is, or nil for another program.
    public var kind: ServiceKind?
    public var port: Int?
    /// Where the service answers when it runs on another host (`http://10.0.0.1:8003`): the
    /// services on this host reach it there instead of on `http.host`. Set `enabled: false`
    /// beside it, so that this host's supervisor does not start one of its own.
    public var url: String?
    public var enabled: Bool
    /// The program and its arguments; nil runs `vakt <name> --config <the supervisor's file>`.
    public var command: [String]?
    public var environment: [String: String]
    public var workingDirectory: String?
    public var dependsOn: [String]
    public var readiness: Readiness
    public var startTimeout: Duration
    /// `WATCHDOG_USEC` for the child; a child that stops pinging is aborted and restarted. Vakt
    /// services ping while their own bookkeeping makes progress, so they get
    /// ``defaultServiceWatchdog``; other programs have none unless configured.
    public var watchdog: Duration?
    /// Restart the child after this many consecutive failed probes of its `/health`, as a
    /// Kubernetes liveness probe does: for programs that cannot ping a watchdog. nil: never.
    public var restartAfterFailedProbes: Int?
    /// Graceful shutdown limit: the service's own, and the supervisor's wait before SIGKILL.
    public var stopTimeout: Duration
    public var restart: RestartPolicy
    public var backoff: Backoff
    /// A run this long resets the backoff to its initial delay.
    public var stableAfter: Duration
    public var intensity: Intensity
    /// Whether trading must halt when this child is down.
    public var critical: Bool
    public var logFile: LogFile?

    /// The watchdog every Vakt service gets unless configured otherwise: a hung service (a
    /// deadlock, SIGSTOP) is aborted within this long of its last ping and restarted. Services
    /// ping at half of it, so a scheduling delay of up to 5 s on a loaded machine costs nothing.
    public static let defaultServiceWatchdog: Duration = .seconds(10)

    /// The defaults for a Vakt service.
    public init(kind: ServiceKind, mode: SystemSettings.TradingMode = .paper) {
        self.init(name: kind.rawValue, kind: kind, port: kind.defaultPort, readiness: .notify, critical: kind.criticalForTrading)
        watchdog = Self.defaultServiceWatchdog
        enabled = kind != .supervisor && (kind != .exchangeSim || mode == .paper)
        dependsOn = Self.defaultDependencies(of: kind, mode: mode)
    }

    /// The defaults for a program that is not a Vakt service; it must be given a command.
    public init(program name: String) {
        self.init(name: name, kind: nil, port: nil, readiness: .none, critical: false)
    }

    private init(name: String, kind: ServiceKind?, port: Int?, readiness: Readiness, critical: Bool) {
        self.name = name
        self.kind = kind
        self.port = port
        self.readiness = readiness
        self.critical = critical
        enabled = true
        command = nil
        environment = [:]
        workingDirectory = nil
        dependsOn = []
        startTimeout = .seconds(30)
        watchdog = nil
        restartAfterFailedProbes = nil
        stopTimeout = .seconds(10)
        restart = .always
        backoff = Backoff(initial: .seconds(1), multiplier: 2, maximum: .seconds(60), jitter: 0.2)
        stableAfter = .seconds(60)
        intensity = Intensity(maxRestarts: 5, period: .seconds(60))
        logFile = nil
    }

    /// Start order from the seed's dependency tree: what must be ready before a service starts.
    public static func defaultDependencies(of kind: ServiceKind, mode: SystemSettings.TradingMode) -> [String] {
        let exchange = mode == .paper ? [ServiceKind.exchangeSim.rawValue] : []
        switch kind {
        case .execution: return [ServiceKind.risk.rawValue] + exchange
        case .marketData, .portfolio: return exchange
        case .gateway: return [ServiceKind.risk.rawValue, ServiceKind.portfolio.rawValue]
        case .dashboard: return [ServiceKind.gateway.rawValue]
        case .supervisor, .aiEngine, .risk, .rlTraining, .exchangeSim: return []
        }
    }
}

extension ServiceSettings {
    /// Reads `services`: every Vakt service (present or not) and any other named program.
    static func readAll(_ section: ConfigReader.Section, system: SystemSettings) -> [ServiceSettings] {
        var result: [ServiceSettings] = []
        var portOwners: [Int: String] = [:]
        let names = ServiceKind.allCases.map(\.rawValue) + section.keys.filter { ServiceKind(rawValue: $0) == nil }
        for name in names {
            let child = section.section(name)
            let kind = ServiceKind(rawValue: name)
            var settings = kind.map { ServiceSettings(kind: $0, mode: system.mode) } ?? ServiceSettings(program: name)
            settings.read(child)
            if kind == nil && settings.command == nil {
                let known = ServiceKind.allCases.map(\.rawValue).joined(separator: ", ")
                section.report(name, "unknown service; known services are \(known) (another program needs a command)")
            }
            if let port = settings.port {
                if let owner = portOwners[port] {
                    child.report("port", "port \(port) is already used by services.\(owner)")
                }
                portOwners[port] = name
            }
            if settings.readiness == .http && settings.port == nil {
                child.report("readiness", "http readiness needs a port")
            }
            if settings.enabled, let program = settings.command?.first {
                let searchPath =
                    settings.environment["PATH"] ?? ProcessInfo.processInfo.environment["PATH"] ?? ProgramLookup.defaultSearchPath
                if let resolved = ProgramLookup.resolve(program, searchPath: searchPath, workingDirectory: settings.workingDirectory) {
                    settings.command?[0] = resolved
                } else {
                    let location = program.contains("/") ? "no executable file at that path" : "not found in PATH (\(searchPath))"
                    child.report("command", "cannot find the program \"\(program)\": \(location)")
                }
            }
            if settings.restartAfterFailedProbes != nil && settings.port == nil {
                child.report("restart_after_failed_probes", "needs a port: only a service with a /health on its port is probed")
            }
            child.finish()
            result.append(settings)
        }
        let enabledNames = Set(result.filter(\.enabled).map(\.name))
        let allNames = Set(result.map(\.name))
        for index in result.indices {
            for dependency in result[index].dependsOn where !allNames.contains(dependency) {
                section.report("\(result[index].name).depends_on", "unknown service \"\(dependency)\"")
            }
            if result[index].dependsOn.contains(result[index].name) {
                section.report("\(result[index].name).depends_on", "a service cannot depend on itself")
            }
            // A dependency that is switched off is not waited for (live mode has no simulator).
            let name = result[index].name
            result[index].dependsOn.removeAll { !enabledNames.contains($0) || $0 == name }
        }
        return result
    }

    mutating func read(_ section: ConfigReader.Section) {
        port = section.optionalInt("port", in: 1...65535) ?? port
        url = section.optionalHTTPURL("url").map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        enabled = section.bool("enabled", default: enabled)
        let commandList = section.stringList("command", default: [])
        command = commandList.isEmpty ? command : commandList
        if section.contains("command") && commandList.isEmpty {
            section.report("command", "must name a program")
        }
        environment = section.stringMap("environment")
        workingDirectory = section.optionalString("working_directory")
        dependsOn = section.stringList("depends_on", default: dependsOn)
        readiness = section.choice("readiness", default: readiness)
        startTimeout = section.duration("start_timeout", default: startTimeout, in: .milliseconds(100)...(.seconds(3600)))
        if section.contains("watchdog") {
            let watchdogValue = section.duration("watchdog", default: .zero, in: .zero...(.seconds(3600)))
            watchdog = watchdogValue == .zero ? nil : watchdogValue
            if let watchdog, watchdog < .milliseconds(100) {
                section.report("watchdog", "must be at least 100ms, or 0 for none")
            }
        }
        let restartAfter = section.int("restart_after_failed_probes", default: 0, in: 0...1000)
        restartAfterFailedProbes = restartAfter == 0 ? nil : restartAfter
        stopTimeout = section.duration("stop_timeout", default: stopTimeout, in: .milliseconds(100)...(.seconds(600)))
        restart = section.choice("restart", default: restart)
        let backoffSection = section.section("backoff")
        backoff = Backoff(
            initial: backoffSection.duration("initial", default: backoff.initial, in: .zero...(.seconds(3600))),
            multiplier: backoffSection.double("multiplier", default: backoff.multiplier, in: 1...10),
            maximum: backoffSection.duration("maximum", default: backoff.maximum, in: .zero...(.seconds(86400))),
            jitter: backoffSection.double("jitter", default: backoff.jitter, in: 0...1))
        if backoff.maximum < backoff.initial {
            backoffSection.report("maximum", "must not be shorter than backoff.initial")
        }
        backoffSection.finish()
        stableAfter = section.duration("stable_after", default: stableAfter, in: .milliseconds(1)...(.seconds(86400)))
        let intensitySection = section.section("intensity")
        intensity = Intensity(
            maxRestarts: intensitySection.int("max_restarts", default: intensity.maxRestarts, in: 0...10_000),
            period: intensitySection.duration("period", default: intensity.period, in: .milliseconds(1)...(.seconds(86400))))
        intensitySection.finish()
        critical = section.bool("critical", default: critical)
        let logSection = section.section("log_file")
        let path = logSection.optionalString("path")
        let maxBytes = logSection.int("max_bytes", default: 10 << 20, in: 4096...(1 << 34))
        let keep = logSection.int("keep", default: 3, in: 0...100)
        if let path {
            logFile = LogFile(path: path, maxBytes: maxBytes, keep: keep)
        } else if logSection.isPresent {
            logSection.report("path", "missing required key")
        }
        logSection.finish()
    }

    /// The first dependency cycle among enabled services, as names from start back to start.
    static func dependencyCycle(in services: [ServiceSettings]) -> [String]? {
        let graph = Dictionary(uniqueKeysWithValues: services.map { ($0.name, $0.dependsOn) })
        var state: [String: Bool] = [:]  // false: on the current path; true: finished
        var path: [String] = []
        func visit(_ name: String) -> [String]? {
            if state[name] == true { return nil }
            if state[name] == false {
                let start = path.firstIndex(of: name)!
                return Array(path[start...]) + [name]
            }
            state[name] = false
            path.append(name)
            for dependency in graph[name] ?? [] {
                if let cycle = visit(dependency) { return cycle }
            }
            path.removeLast()
            state[name] = true
            return nil
        }
        for service in services {
            if let cycle = visit(service.name) { return cycle }
        }
        return nil
    }
}
