import Alerting
import EmergencyStop
import EventBus
import Foundation
import HealthFormat
import HealthMesh
import Logging
import Prometheus
import RedisClient
import ServiceKit
import Synchronization
import VaktConfig

/// Probes every target on its own schedule, and on every change (a probe verdict, a child's
/// state, a deadline) re-evaluates the mesh, the safety rules and the alerts. The latest
/// evaluation is kept aside so `/health` and `/api/mesh` answer without waiting on any probe.
actor MeshMonitor {
    struct Target: Sendable {
        var name: String
        var method: ProbeMethod
        var settings: ProbeSettings
        /// A supervised child's `restart_after_failed_probes`.
        var restartAfterFailures: Int? = nil
    }

    struct Dependencies: Sendable {
        var supervisor: Supervisor
        var prober: Prober
        var driver: SafetyDriver
        var alerts: AlertPipeline
        var meshAlerts: MeshAlerts
        var lag: ConsumerLagMonitor?
        /// The ESS status the risk service mirrors, for the `VaktESSTripped` alert.
        var ess: ESSClient?
        /// Reads the newest entry of watched streams.
        var redis: RedisConnection?
        var events: EventPublisher?
        var registry: PrometheusCollectorRegistry
        var logger: Logger
        var clock: @Sendable () -> Date
    }

    let graph: MeshGraph
    private let targets: [Target]
    private let dependencies: Dependencies
    private nonisolated var logger: Logger { dependencies.logger }
    /// Written by the probe tasks without a hop to this actor; read by each evaluation.
    private let trackers: Mutex<[String: ProbeTracker]>
    private var runs: [String: Int32] = [:]
    private var safety: SafetyEvaluator
    private var effective: [String: HealthStatus] = [:]
    private var transitions: [String: MeshTransition] = [:]
    private var streamLastEntry: [String: Date] = [:]
    /// Builds the report of the latest evaluation; built only when asked for, since it is
    /// asked for far less often than the mesh is evaluated.
    private let latest = Mutex<(@Sendable () -> MeshReport)?>(nil)
    private let triggers: AsyncStream<Void>
    private let trigger: AsyncStream<Void>.Continuation
    private var wakeScheduledFor: Date?

    init(graph: MeshGraph, targets: [Target], rules: [SafetyRule], dependencies: Dependencies) {
        self.graph = graph
        self.targets = targets
        self.dependencies = dependencies
        let now = dependencies.clock()
        safety = SafetyEvaluator(rules: rules, startedAt: now)
        trackers = Mutex(Dictionary(uniqueKeysWithValues: targets.map { ($0.name, ProbeTracker(settings: $0.settings, startedAt: now)) }))
        (triggers, trigger) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// The latest evaluation; nil before the first.
    nonisolated var report: MeshReport? { latest.withLock { $0 }?() }

    /// Probes and evaluates until cancelled.
    func run(childChanges: AsyncStream<Void>) async {
        await withTaskGroup(of: Void.self) { group in
            let executor = dependencies.prober.executor
            for target in targets {
                group.addTask(executorPreference: executor) { await self.probeLoop(target) }
            }
            group.addTask { [trigger] in
                for await _ in childChanges { trigger.yield() }
            }
            group.addTask { [trigger] in
                // Also evaluate on a steady beat (deadlines are woken for exactly, see scheduleWake).
                while !Task.isCancelled {
                    try? await Task.sleep(for: Self.beat)
                    trigger.yield()
                }
            }
            if !safety.watchedStreams.isEmpty, dependencies.redis != nil {
                group.addTask { await self.streamLoop() }
            }
            for await _ in triggers {
                if Task.isCancelled { break }
                await evaluate()
            }
            group.cancelAll()
        }
    }

    /// Probes every interval from the start of the previous probe; one that took its whole
    /// timeout is followed at once by the next, so a hang is counted at the configured pace.
    private nonisolated func probeLoop(_ target: Target) async {
        let prober = dependencies.prober
        let histogram = dependencies.registry.histogram(
            "vakt_probe_duration_seconds", help: "How long each health probe took, by target.", buckets: Self.probeBuckets,
            labels: [("target", target.name)])
        while !Task.isCancelled {
            let started = ContinuousClock.now
            let result = await prober.probe(target.method, settings: target.settings)
            switch result {
            case .success(_, let latency, _): histogram.record(latency)
            case .failure(let reason, let latency, _):
                histogram.record(latency)
                dependencies.registry.counter(
                    "vakt_probe_failures_total", help: "Failed health probes, by target and reason.",
                    labels: [("target", target.name), ("reason", reason.rawValue)]
                ).increment()
            }
            record(target.name, result)
            if let limit = target.restartAfterFailures, case .failure(_, _, let detail) = result {
                let now = dependencies.clock()
                if trackers.withLock({ $0[target.name]?.claimLivenessRestart(limit: limit, at: now) }) == true {
                    _ = await dependencies.supervisor.perform(
                        .livenessFailed(detail: "\(limit) failed probes in a row; last: \(detail)"), on: target.name)
                }
            }
            await prober.sleep(until: started + target.settings.interval)
        }
    }

    static let beat: Duration = .seconds(1)

    static let probeBuckets: [Duration] = [
        .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5),
    ]

    private nonisolated func record(_ name: String, _ result: ProbeResult) {
        let now = dependencies.clock()
        guard let transition = trackers.withLock({ $0[name]?.record(result, at: now) }) else { return }
        logger.notice(
            "probe verdict changed",
            metadata: [
                "target": "\(name)", "from": "\(transition.from?.rawValue ?? "unknown")", "to": "\(transition.to?.rawValue ?? "unknown")",
                "reason": "\(transition.reason)",
            ])
        trigger.yield()
    }

    /// Reads the time of each watched stream's newest entry, once a second.
    private func streamLoop() async {
        guard let redis = dependencies.redis else { return }
        while !Task.isCancelled {
            for stream in safety.watchedStreams {
                guard let reply = try? await redis.command(["XREVRANGE", stream, "+", "-", "COUNT", "1"]),
                    let id = reply.array?.first?.array?.first?.string,
                    let milliseconds = id.split(separator: "-").first.flatMap({ Int64($0) })
                else { continue }
                streamLastEntry[stream] = Date(timeIntervalSince1970: Double(milliseconds) / 1000)
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    // MARK: - Evaluation

    private func evaluate() async {
        let now = dependencies.clock()
        let snapshots = await dependencies.supervisor.snapshots()
        let hold = await dependencies.driver.hold
        var restarted: [String] = []
        for snapshot in snapshots {
            if let pid = snapshot.pid, runs[snapshot.name] != pid {
                runs[snapshot.name] = pid
                restarted.append(snapshot.name)
            }
        }
        let trackers = self.trackers.withLock { trackers in
            for name in restarted { trackers[name]?.restarted(at: now) }
            return trackers
        }
        var observations: [String: NodeObservation] = [:]
        var gaveUp: Set<String> = []
        for snapshot in snapshots {
            if snapshot.state == .failed { gaveUp.insert(snapshot.name) }
            observations[snapshot.name] = Self.observe(snapshot, probe: trackers[snapshot.name], hold: hold, at: now)
        }
        for node in graph.nodes where node.kind == .dependency {
            observations[node.name] = Self.observe(probe: trackers[node.name], at: now)
        }
        let evaluation = graph.evaluate(observations)
        noteTransitions(evaluation, at: now)

        let firings = safety.evaluate(SafetyInputs(mesh: evaluation, gaveUp: gaveUp, streamLastEntry: streamLastEntry), at: now)
        if !firings.isEmpty {
            let inputs = Self.describe(evaluation, gaveUp: gaveUp)
            let driver = dependencies.driver
            Task { await driver.fire(firings, inputs: inputs) }
        }
        let lagGroups = dependencies.lag?.groups.map(ConsumerGroupSnapshot.init) ?? []
        let undetermined = Set(observations.filter { $0.value.status == nil }.map(\.key))
        let result = dependencies.meshAlerts.derive(
            .init(
                graph: graph, evaluation: evaluation, undetermined: undetermined, activeRules: Array(safety.active.values), hold: hold,
                lagGroups: lagGroups, ess: dependencies.ess?.lastConfirmed), at: now)
        await dependencies.alerts.update(result, at: now)
        let firing = await dependencies.alerts.firing
        let (graph, transitions, safety, probes) = (graph, transitions, safety, trackers)
        latest.withLock {
            $0 = {
                MeshReport(
                    graph: graph, evaluation: evaluation, snapshots: snapshots, trackers: probes, transitions: transitions,
                    safety: safety, hold: hold, consumerGroups: lagGroups, alerts: firing, at: now)
            }
        }
        let deadlines = [safety.nextDeadline, await dependencies.alerts.nextDeadline].compactMap { $0 }
        scheduleWake(at: deadlines.min(), now: now)
    }

    /// Wakes the evaluation exactly at a deadline that comes before the next beat.
    private func scheduleWake(at deadline: Date?, now: Date) {
        guard let deadline, deadline.timeIntervalSince(now) < Self.beat.seconds else { return }
        if let scheduled = wakeScheduledFor, scheduled <= deadline, scheduled > now { return }
        wakeScheduledFor = deadline
        let delay = max(deadline.timeIntervalSince(now), 0)
        Task { [trigger] in
            try? await Task.sleep(for: .nanoseconds(Int64(delay * 1e9) + 1_000_000))
            trigger.yield()
        }
    }

    private func noteTransitions(_ evaluation: MeshGraph.Evaluation, at now: Date) {
        var announcements: [EventEnvelope] = []
        for node in graph.nodes {
            guard let verdict = evaluation.verdicts[node.name] else { continue }
            let previous = effective[node.name]
            guard previous != verdict.effective else { continue }
            effective[node.name] = verdict.effective
            transitions[node.name] = MeshTransition(from: previous, to: verdict.effective, at: now, reason: verdict.output)
            for status in HealthStatus.allCases {
                dependencies.registry.gauge(
                    "vakt_mesh_status", help: "1 for each mesh node's effective status (pass, warn, fail).",
                    labels: [("node", node.name), ("status", status.rawValue)]
                ).set(to: status == verdict.effective ? 1 : 0)
            }
            guard previous != nil else { continue }
            logger.notice(
                "mesh status changed",
                metadata: [
                    "node": "\(node.name)", "from": "\(previous?.rawValue ?? "none")", "to": "\(verdict.effective.rawValue)",
                    "root_cause": "\(verdict.rootCause ?? "none")", "output": "\(verdict.output)",
                ])
            announcements.append(
                EventEnvelope(
                    HealthChanged(
                        node: node.name, from: previous, to: verdict.effective, rootCause: verdict.rootCause, output: verdict.output),
                    source: "supervisor"))
        }
        if let events = dependencies.events, !announcements.isEmpty {
            let logger = self.logger
            Task {
                do { try await events.publish(announcements) } catch {
                    logger.error("cannot announce health changes on the bus", metadata: ["error": "\(error)"])
                }
            }
        }
    }

    /// The inputs of a safety decision, for its log line.
    static func describe(_ evaluation: MeshGraph.Evaluation, gaveUp: Set<String>) -> String {
        let failing = evaluation.verdicts.values.filter { $0.effective != .pass }.sorted { $0.name < $1.name }
            .map { "\($0.name)=\($0.effective.rawValue)" + ($0.rootCause.map { "(cause \($0))" } ?? "") }
        return "system=\(evaluation.system.rawValue); " + failing.joined(separator: " ")
            + (gaveUp.isEmpty ? "" : "; gave up: \(gaveUp.sorted().joined(separator: ","))")
    }

    /// A supervised service's own status: its process state first, then its probe.
    static func observe(_ child: ChildSnapshot, probe: ProbeTracker?, hold: SafetyDriver.Hold?, at now: Date) -> NodeObservation {
        let exit = child.lastExit ?? "unknown"
        switch child.state {
        case .running:
            guard let probe else { return NodeObservation(.pass, "running and ready") }
            switch probe.status {
            case .fail?: return NodeObservation(.fail, "running, but its probe fails: \(probe.lastError ?? "no answer")")
            case .warn?: return NodeObservation(.warn, probeOutput(probe) ?? "reports warn")
            case .pass?: return NodeObservation(.pass, "running; probe passes")
            case nil: return NodeObservation(child.ready ? .pass : nil, child.ready ? "ready; first probe pending" : "starting")
            }
        case .starting, .waiting:
            // After a crash, coming back is not yet being back.
            if child.restarts > 0 && child.lastExitReason != "stopped" {
                return NodeObservation(.fail, "restarting after it exited (\(exit)); \(child.restarts) restarts")
            }
            return NodeObservation(nil, child.state == .waiting ? "waiting for its dependencies" : "starting")
        case .stopping: return NodeObservation(.warn, "stopping")
        case .backoff: return NodeObservation(.fail, "exited (\(exit)); restarting after backoff")
        case .exited: return NodeObservation(.fail, "exited (\(exit)); stays down by its restart policy")
        case .failed: return NodeObservation(.fail, "gave up restarting (\(exit)): restart intensity exceeded")
        case .stopped:
            if let hold, hold.service == child.name { return NodeObservation(.fail, "held stopped by the supervisor: \(hold.reason)") }
            return NodeObservation(.warn, "stopped by an operator")
        }
    }

    /// Shared infrastructure or another probed URL: its probe alone.
    static func observe(probe: ProbeTracker?, at now: Date) -> NodeObservation {
        guard let probe else { return NodeObservation(nil, "not probed") }
        switch probe.status {
        case .fail?: return NodeObservation(.fail, probe.lastError ?? "probe fails")
        case .warn?: return NodeObservation(.warn, probeOutput(probe) ?? "reports warn")
        case .pass?: return NodeObservation(.pass, "probe passes")
        case nil: return NodeObservation(nil, probe.lastError.map { "no verdict yet; last failure: \($0)" } ?? "no answer yet")
        }
    }

    private static func probeOutput(_ probe: ProbeTracker) -> String? {
        if case .success(_, _, let output)? = probe.lastResult { return output }
        return nil
    }
}
