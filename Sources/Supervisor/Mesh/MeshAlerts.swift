import Alerting
import EmergencyStop
import EventBus
import Foundation
import HealthMesh
import VaktConfig

/// The alerts the supervisor raises from the mesh, each with a section in docs/runbook.md.
/// A service failing because a node it depends on fails raises no alert of its own: it is
/// inhibited under the alert of that node (the root cause), so one outage pages once.
struct MeshAlerts: Sendable {
    struct Context: Sendable {
        var graph: MeshGraph
        var evaluation: MeshGraph.Evaluation
        /// Nodes not judged yet (in their start grace): their alerts neither fire nor resolve.
        var undetermined: Set<String>
        var activeRules: [SafetyFiring]
        var hold: SafetyDriver.Hold?
        var lagGroups: [ConsumerGroupSnapshot]
        /// The last ESS status the risk service confirmed; nil before the first.
        var ess: ESSStatus?
    }

    struct Result: Sendable {
        var firing: [Alert]
        var undetermined: Set<String>
        /// Alerts that would fire but are inhibited by their root cause's alert.
        var inhibited: Int
    }

    static let names = [
        "VaktServiceFailing", "VaktDependencyDown", "VaktTradingHalted", "VaktEventStreamStale", "VaktConsumerGroupStalled",
        "VaktESSTripped", "VaktHostUnreachable",
    ]

    let instance: String
    let externalURL: String
    let runbookURL: String

    func derive(_ context: Context, at now: Date) -> Result {
        var firing: [Alert] = []
        var undetermined: Set<String> = []
        var inhibited = 0
        let verdicts = context.evaluation.verdicts
        for node in context.graph.nodes {
            guard let verdict = verdicts[node.name] else { continue }
            if context.undetermined.contains(node.name) {
                undetermined.insert(nodeAlert(node, verdict, at: now).fingerprint)
                continue
            }
            guard verdict.own == .fail else { continue }
            // The supervisor stopped it on purpose; VaktTradingHalted says so, once.
            if context.hold?.service == node.name {
                inhibited += 1
                continue
            }
            if verdict.failsThroughDependency, let cause = verdict.rootCause, verdicts[cause]?.own == .fail {
                inhibited += 1
                continue
            }
            firing.append(nodeAlert(node, verdict, at: now))
        }
        if let hold = context.hold {
            firing.append(
                make(
                    "VaktTradingHalted", labels: ["service": hold.service, "severity": "critical"],
                    summary: "Trading halted by the supervisor: \(hold.service) held stopped",
                    description: hold.reason
                        + ". It stays stopped until the risk service answers, has taken every trip request, and reports armed.",
                    at: hold.since))
        }
        // The one event that stops trading pages whether or not Prometheus runs. It follows the
        // last status the risk service confirmed: when that goes stale the risk service's own
        // alert says so, and a page already out stays until the ESS is confirmed armed.
        if let ess = context.ess, ess.state != .armed {
            firing.append(
                make(
                    "VaktESSTripped", labels: ["severity": "critical"],
                    summary: "Emergency stop: the ESS is \(ess.state.rawValue) (\(ess.trigger.rawValue)); "
                        + (ess.state == .reducing ? "only orders that reduce exposure" : "no new orders"),
                    description: "\(ess.reason) (source \(ess.source))",
                    extra: ["state": ess.state.rawValue, "trigger": ess.trigger.rawValue, "source": ess.source], at: ess.since))
        }
        for rule in context.activeRules where rule.condition == "stream_stale" {
            firing.append(
                make(
                    "VaktEventStreamStale", labels: ["rule": rule.rule, "severity": "critical"],
                    summary: "Event stream stale (\(rule.rule)); emergency stop requested", description: rule.reason, at: rule.since))
        }
        for rule in context.activeRules where rule.condition == "host_unreachable" {
            firing.append(
                make(
                    "VaktHostUnreachable", labels: ["rule": rule.rule, "severity": "critical"],
                    summary: "Another host is unreachable from this one (\(rule.rule)); emergency stop requested",
                    description: rule.reason, at: rule.since))
        }
        for group in context.lagGroups where group.status == "STALL" || group.status == "STOP" {
            firing.append(
                make(
                    "VaktConsumerGroupStalled", labels: ["service": group.group, "stream": group.stream, "severity": "warning"],
                    summary: "\(group.group) is not consuming \(group.stream) (\(group.status))", description: group.reason, at: now))
        }
        return Result(firing: firing, undetermined: undetermined, inhibited: inhibited)
    }

    private func nodeAlert(_ node: MeshNode, _ verdict: NodeVerdict, at now: Date) -> Alert {
        switch node.kind {
        case .service:
            make(
                "VaktServiceFailing", labels: ["service": node.name, "severity": node.critical ? "critical" : "warning"],
                summary: "\(node.name) is failing" + (node.critical ? " (critical for trading)" : ""), description: verdict.output, at: now)
        case .dependency:
            make(
                "VaktDependencyDown", labels: ["service": node.name, "severity": "critical"],
                summary: "\(node.name) is unreachable", description: verdict.output, at: now)
        }
    }

    /// An alert; `extra` annotations say more without changing its identity (its labels).
    private func make(
        _ name: String, labels: [String: String], summary: String, description: String, extra: [String: String] = [:], at start: Date
    ) -> Alert {
        var allLabels = labels
        allLabels["alertname"] = name
        allLabels["instance"] = instance
        let annotations = ["summary": summary, "description": description, "runbook_url": "\(runbookURL)#\(name.lowercased())"]
        return Alert(
            labels: allLabels, annotations: annotations.merging(extra) { own, _ in own },
            startsAt: start, generatorURL: "\(externalURL)/api/mesh")
    }
}
