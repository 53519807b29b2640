import EmergencyStop
import EventBus
import Foundation
import HealthMesh
import Logging
import Prometheus
import ServiceKit
import VaktConfig

/// Turns fired safety rules into emergency stops. Each firing asks the risk service for a trip
/// (`POST /api/ess/trip`, source `supervisor/<rule>`) and announces the request on the bus. When
/// the risk service cannot be reached or refuses, the supervisor makes trading impossible by
/// itself: it stops the execution service and keeps it stopped until the risk service answers
/// again, has taken every trip it was asked for, and reports `armed`. It never resets the ESS.
///
/// The hold and the trips still owed are kept in a file under the supervisor's state directory,
/// so a supervisor that restarts (killed, crashed, or upgraded) while holding keeps holding: it
/// does not start the held service, and goes on delivering the trips until the ESS is armed.
actor SafetyDriver {
    enum TripOutcome: String, Sendable {
        /// The ESS changed state.
        case transitioned
        /// The ESS was already stopped.
        case unchanged
        /// Not reachable, not answering in time, or refusing: trading halted by the supervisor.
        case unreachable
    }

    /// Why and since when the supervisor keeps the halt service stopped.
    struct Hold: Sendable, Codable, Equatable {
        var service: String
        var since: Date
        var reason: String
        /// Trip requests the risk service has not taken yet.
        var undelivered: [String]
        var restartOnRelease: Bool
    }

    /// What a restarted supervisor needs to go on holding.
    struct HoldRecord: Codable {
        var hold: Hold
        var owed: [SafetyFiring]
    }

    private let settings: SafetySettings
    /// The risk service's ESS API, with the ESS control token.
    private let risk: RiskClient
    private let supervisor: Supervisor
    private let events: EventPublisher?
    private let registry: PrometheusCollectorRegistry
    private let logger: Logger
    private let clock: @Sendable () -> Date
    private let recordPath: String
    private var pending: [String: SafetyFiring] = [:]
    private(set) var hold: Hold?

    /// Restores a hold recorded by an earlier supervisor, and tells `supervisor` not to start the
    /// held service; ``resumeRecordedHold()`` then watches for its release.
    init(
        settings: SafetySettings, risk: RiskClient, supervisor: Supervisor, recordPath: String,
        events: EventPublisher?, registry: PrometheusCollectorRegistry, logger: Logger, clock: @escaping @Sendable () -> Date
    ) {
        self.settings = settings
        self.risk = risk
        self.supervisor = supervisor
        self.events = events
        self.registry = registry
        self.logger = logger
        self.clock = clock
        self.recordPath = recordPath
        for rule in settings.rules {
            _ = Self.tripCounter(registry, rule: rule.name, outcome: .transitioned)
        }
        if let record = Self.readRecord(at: recordPath, haltService: settings.haltService, now: clock(), logger: logger) {
            hold = record.hold
            pending = Dictionary(record.owed.map { ($0.rule, $0) }) { _, latest in latest }
            supervisor.keepStoppedAtStart(record.hold.service)
            logger.critical(
                "trading still halted by the supervisor: an earlier supervisor held the execution service stopped; holding it",
                metadata: [
                    "service": "\(record.hold.service)", "since": "\(EventEnvelope.timestamp(record.hold.since))",
                    "reason": "\(record.hold.reason)", "owed_trips": "\(record.hold.undelivered.joined(separator: ","))",
                ])
        }
        Self.haltedGauge(registry).set(to: hold == nil ? 0 : 1)
        if risk.control.token == nil {
            logger.error(
                "no ESS control token: a fired safety rule cannot trip the ESS, so the supervisor will stop execution itself",
                metadata: ["secret": "\(SecretStore.variable(for: risk.control.tokenSecret))"])
        }
    }

    /// Handles rules that fired; returns the outcome of each trip request.
    @discardableResult
    func fire(_ firings: [SafetyFiring], inputs: String) async -> [TripOutcome] {
        var outcomes: [TripOutcome] = []
        for firing in firings {
            let source = "supervisor/\(firing.rule)"
            logger.critical(
                "safety rule fired; requesting an emergency stop",
                metadata: [
                    "rule": "\(firing.rule)", "condition": "\(firing.condition)", "reason": "\(firing.reason)",
                    "since": "\(EventEnvelope.timestamp(firing.since))", "inputs": "\(inputs)",
                ])
            // The trip first: the announcement may wait on a disk buffer when Redis is the
            // very thing that failed.
            let outcome = await requestTrip(firing, source: source)
            await announce(firing, source: source)
            outcomes.append(outcome)
            Self.tripCounter(registry, rule: firing.rule, outcome: outcome).increment()
            if outcome == .unreachable {
                pending[firing.rule] = firing
                await halt(because: firing)
            }
        }
        return outcomes
    }

    /// Watches for the release of a hold restored at start; returns at once without one.
    func resumeRecordedHold() async {
        guard hold != nil else { return }
        await watchForRelease()
    }

    /// Whether the supervisor holds `service` stopped, so that an operator's start is refused.
    func isHolding(_ service: String) -> Bool { hold?.service == service }

    private func announce(_ firing: SafetyFiring, source: String) async {
        guard let events else { return }
        let request = ESSTripRequested(
            rule: firing.rule, condition: firing.condition, reason: firing.reason, since: firing.since, source: source)
        do {
            try await events.publish(EventEnvelope(request, source: "supervisor"))
        } catch {
            logger.error("cannot announce the trip request on the bus", metadata: ["rule": "\(firing.rule)", "error": "\(error)"])
        }
    }

    private func requestTrip(_ firing: SafetyFiring, source: String) async -> TripOutcome {
        do {
            let answer = try await withTimeout(settings.riskTimeout) { [risk] in
                // A rule's reason quotes its inputs, which may run past what the API takes.
                try await risk.change(.trip, reason: ControlRequestBody.fitting("\(firing.rule): \(firing.reason)"), source: source)
            }
            let outcome: TripOutcome = if case .transitioned = answer { .transitioned } else { .unchanged }
            logger.notice("the risk service took the trip request", metadata: ["rule": "\(firing.rule)", "outcome": "\(outcome.rawValue)"])
            return outcome
        } catch {
            // Unreachable, too slow, no token, or refused (the error says which).
            logger.error("the risk service did not take the trip request", metadata: ["rule": "\(firing.rule)", "error": "\(error)"])
            return .unreachable
        }
    }

    private func halt(because firing: SafetyFiring) async {
        if var existing = hold {
            existing.undelivered = pending.keys.sorted()
            hold = existing
            record()
            return
        }
        let service = settings.haltService
        // Set before the first suspension: a second firing arriving meanwhile joins this hold.
        hold = Hold(
            service: service, since: clock(), reason: "risk service unreachable when \(firing.rule) fired: \(firing.reason)",
            undelivered: pending.keys.sorted(), restartOnRelease: false)
        let before = await supervisor.snapshots().first { $0.name == service }
        hold?.restartOnRelease = before.map { $0.state != .stopped } ?? false
        record()
        logger.critical(
            "trading halted by the supervisor: stopping the execution service until the risk service is back and armed",
            metadata: ["service": "\(service)", "rule": "\(firing.rule)"])
        Self.haltedGauge(registry).set(to: 1)
        _ = await supervisor.perform(.stop, on: service)
        Task { await self.watchForRelease() }
    }

    /// While halted: retries the undelivered trips, then waits for the ESS to read `armed`.
    private func watchForRelease() async {
        while !Task.isCancelled, hold != nil {
            try? await Task.sleep(for: settings.recheckInterval)
            for (rule, firing) in pending.sorted(by: { $0.key < $1.key }) {
                let outcome = await requestTrip(firing, source: "supervisor/\(rule)")
                Self.tripCounter(registry, rule: rule, outcome: outcome).increment()
                if outcome != .unreachable { pending[rule] = nil }
            }
            if hold?.undelivered != pending.keys.sorted() {
                hold?.undelivered = pending.keys.sorted()
                record()
            }
            guard pending.isEmpty, await essState() == .armed else { continue }
            await release()
        }
    }

    private func release() async {
        guard let current = hold else { return }
        hold = nil
        record()
        Self.haltedGauge(registry).set(to: 0)
        logger.notice(
            "risk service back and the ESS armed: releasing the execution service",
            metadata: ["service": "\(current.service)", "held_s": "\(Int(clock().timeIntervalSince(current.since)))"])
        if current.restartOnRelease {
            _ = await supervisor.perform(.start, on: current.service)
        }
    }

    /// The ESS state the risk service reports, or nil when it cannot be asked.
    private func essState() async -> ESSState? {
        try? await withTimeout(settings.riskTimeout) { [risk] in try await risk.ess().status.state }
    }

    /// Writes the hold and the trips owed, or removes the record once nothing is held. A record
    /// that cannot be written is logged: the hold goes on in memory either way.
    private func record() {
        do {
            if let hold {
                let record = HoldRecord(hold: hold, owed: pending.values.sorted { $0.rule < $1.rule })
                let encoder = JSONEncoder()
                encoder.dateEncodingStrategy = .iso8601
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                try DurableFile.replace(recordPath, with: try encoder.encode(record))
            } else if FileManager.default.fileExists(atPath: recordPath) {
                try FileManager.default.removeItem(atPath: recordPath)
            }
        } catch {
            logger.error(
                "cannot record the supervisor's hold; a restarted supervisor would not know it",
                metadata: ["path": "\(recordPath)", "error": "\(error)"])
        }
    }

    /// The recorded hold, if any. A record that cannot be read holds the configured halt service:
    /// a restarted supervisor that cannot tell whether trading was halted keeps it halted.
    static func readRecord(at path: String, haltService: String, now: Date, logger: Logger) -> HoldRecord? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        do {
            return try decoder.decode(HoldRecord.self, from: data)
        } catch {
            logger.critical(
                "the supervisor's hold record is unreadable; holding the execution service stopped until the ESS reads armed",
                metadata: ["path": "\(path)", "error": "\(error)"])
            return HoldRecord(
                hold: Hold(
                    service: haltService, since: now, reason: "unreadable hold record at \(path): \(error)", undelivered: [],
                    restartOnRelease: true),
                owed: [])
        }
    }

    static func tripCounter(_ registry: PrometheusCollectorRegistry, rule: String, outcome: TripOutcome) -> Counter {
        registry.counter(
            "vakt_ess_trip_requests_total", help: "Emergency stops the supervisor requested, by rule and outcome.",
            labels: [("rule", rule), ("outcome", outcome.rawValue)])
    }

    static func haltedGauge(_ registry: PrometheusCollectorRegistry) -> Gauge {
        registry.gauge("vakt_supervisor_trading_halted", help: "1 while the supervisor holds the execution service stopped.")
    }

}
