import Alerting
import EventBus
import Foundation
import HealthFormat
import HealthMesh
import ServiceKit
import VaktConfig

/// `GET /api/mesh`: the dependency graph with each node's own and effective status, its last
/// transition and probe, single points of failure, the safety rules and the firing alerts.
public struct MeshReport: Sendable, Codable {
    public struct Probe: Sendable, Codable {
        public var status: HealthStatus?
        public var latencyMs: Double?
        public var lastProbeAt: Date?
        public var lastError: String?
        public var consecutiveFailures: Int
        public var consecutiveSuccesses: Int
        public var lastTransition: MeshTransition?
    }

    public struct Node: Sendable, Codable {
        public var name: String
        public var kind: String
        public var critical: Bool
        public var dependsOn: [String]
        /// nil while not known yet (in its start grace).
        public var own: HealthStatus?
        public var effective: HealthStatus
        public var rootCause: String?
        public var output: String
        /// Its failure alone fails the system; ``spofImpact`` names the critical services it takes down.
        public var spof: Bool
        public var spofImpact: [String]
        public var lastTransition: MeshTransition?
        public var probe: Probe?
        public var state: ChildState?
    }

    public struct Rule: Sendable, Codable {
        public var name: String
        public var condition: String
        public var holdSeconds: Double
        public var firing: Bool
        public var since: Date?
        public var reason: String?
    }

    public struct Halt: Sendable, Codable {
        public var service: String
        public var since: Date
        public var reason: String
        public var undeliveredTrips: [String]
    }

    public struct FiringAlert: Sendable, Codable {
        public var labels: [String: String]
        public var summary: String
        public var startsAt: Date
    }

    public var status: HealthStatus
    public var output: String
    public var evaluatedAt: Date
    public var nodes: [Node]
    public var rules: [Rule]
    public var halt: Halt?
    public var consumerGroups: [ConsumerGroupSnapshot]
    public var alerts: [FiringAlert]

    init(
        graph: MeshGraph, evaluation: MeshGraph.Evaluation, snapshots: [ChildSnapshot], trackers: [String: ProbeTracker],
        transitions: [String: MeshTransition], safety: SafetyEvaluator, hold: SafetyDriver.Hold?, consumerGroups: [ConsumerGroupSnapshot],
        alerts: [Alert], at now: Date
    ) {
        status = evaluation.system
        output = evaluation.output
        evaluatedAt = now
        let states = Dictionary(uniqueKeysWithValues: snapshots.map { ($0.name, $0.state) })
        nodes = graph.nodes.map { node in
            let verdict = evaluation.verdicts[node.name]
            let impact = graph.singlePointsOfFailure[node.name] ?? []
            return Node(
                name: node.name, kind: node.kind.rawValue, critical: node.critical, dependsOn: node.dependsOn, own: verdict?.own,
                effective: verdict?.effective ?? .warn, rootCause: verdict?.rootCause, output: verdict?.output ?? "",
                spof: !impact.isEmpty, spofImpact: impact, lastTransition: transitions[node.name],
                probe: trackers[node.name].map(Probe.init), state: states[node.name])
        }
        rules = safety.rules.map { rule in
            let active = safety.active[rule.name]
            return Rule(
                name: rule.name, condition: rule.condition.name, holdSeconds: rule.hold.seconds, firing: active != nil,
                since: active?.since,
                reason: active?.reason)
        }
        halt = hold.map { Halt(service: $0.service, since: $0.since, reason: $0.reason, undeliveredTrips: $0.undelivered) }
        self.consumerGroups = consumerGroups
        self.alerts = alerts.sorted { $0.startsAt < $1.startsAt }.map {
            FiringAlert(labels: $0.labels, summary: $0.annotations["summary"] ?? $0.name, startsAt: $0.startsAt)
        }
    }

    /// The supervisor's own report with a check per mesh node (`<node>:health`) and the mesh's
    /// aggregate status: the worse of the two.
    func aggregate(_ own: HealthReport) -> HealthReport {
        var checks = own.checks
        for node in nodes {
            checks["\(node.name):health"] = [
                HealthCheckResult(
                    status: node.effective, componentType: node.kind == "service" ? "component" : "datastore",
                    observedValue: node.probe?.latencyMs, observedUnit: node.probe?.latencyMs == nil ? nil : "ms", time: evaluatedAt,
                    output: node.output)
            ]
        }
        return HealthReport(
            status: max(own.status, status), version: own.version, releaseId: own.releaseId, serviceId: own.serviceId,
            description: "the whole system, by dependency graph (docs/operations.md#health-mesh)", output: output, checks: checks)
    }

    /// The mesh as `vakt status` prints it, one line per node, failing ones first.
    public static func table(_ report: MeshReport) -> String {
        let order: [HealthStatus] = [.fail, .warn, .pass]
        let sorted = report.nodes.sorted {
            (order.firstIndex(of: $0.effective) ?? 3, $0.name) < (order.firstIndex(of: $1.effective) ?? 3, $1.name)
        }
        var lines = ["health mesh: \(report.status.rawValue.uppercased()) — \(report.output)"]
        for node in sorted {
            let spof = node.spof ? " [SPOF]" : ""
            let cause = node.rootCause.flatMap { $0 == node.name ? nil : " (cause: \($0))" } ?? ""
            lines.append(
                "  \(node.effective.rawValue.padding(toLength: 4, withPad: " ", startingAt: 0))  \(node.name)\(spof)\(cause): \(node.output)"
            )
        }
        for rule in report.rules where rule.firing {
            lines.append("  safety rule \(rule.name) fired: \(rule.reason ?? "")")
        }
        if let halt = report.halt {
            lines.append(
                "  TRADING HALTED by the supervisor: \(halt.service) held stopped since \(EventEnvelope.timestamp(halt.since)): \(halt.reason)"
            )
        }
        lines.append(report.alerts.isEmpty ? "alerts: none firing" : "alerts firing:")
        for alert in report.alerts {
            lines.append("  \(alert.labels["severity"] ?? "")  \(alert.labels["alertname"] ?? ""): \(alert.summary)")
        }
        return lines.joined(separator: "\n")
    }
}

extension MeshReport.Probe {
    init(_ tracker: ProbeTracker) {
        var latency: Double?
        switch tracker.lastResult {
        case .success(_, let duration, _)?, .failure(_, let duration, _)?: latency = duration.fractionalMilliseconds
        case nil: latency = nil
        }
        self.init(
            status: tracker.status, latencyMs: latency, lastProbeAt: tracker.lastProbeAt, lastError: tracker.lastError,
            consecutiveFailures: tracker.consecutiveFailures, consecutiveSuccesses: tracker.consecutiveSuccesses,
            lastTransition: tracker.lastTransition)
    }
}
