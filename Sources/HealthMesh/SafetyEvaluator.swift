import EventBus
import Foundation
import VaktConfig

/// What the safety rules look at, besides the mesh.
public struct SafetyInputs: Sendable {
    public var mesh: MeshGraph.Evaluation
    /// Services that gave up restarting.
    public var gaveUp: Set<String>
    /// The time of each watched stream's newest entry; absent when it has none.
    public var streamLastEntry: [String: Date]

    public init(mesh: MeshGraph.Evaluation, gaveUp: Set<String>, streamLastEntry: [String: Date]) {
        self.mesh = mesh
        self.gaveUp = gaveUp
        self.streamLastEntry = streamLastEntry
    }
}

/// A rule whose condition has held for its hold time: the supervisor requests a trip.
public struct SafetyFiring: Sendable, Equatable, Codable {
    public var rule: String
    public var condition: String
    /// What held, in words, with the inputs that made it hold.
    public var reason: String
    /// When the condition started to hold.
    public var since: Date

    public init(rule: String, condition: String, reason: String, since: Date) {
        self.rule = rule
        self.condition = condition
        self.reason = reason
        self.since = since
    }
}

/// Evaluates the safety rules against the mesh. A rule fires once when its condition has held
/// for its hold time, and fires again only after the condition cleared. A service failing
/// because shared infrastructure fails counts under that infrastructure's rule when there is
/// one, so one outage requests one trip, not one per service.
public struct SafetyEvaluator: Sendable {
    public let rules: [SafetyRule]
    private var since: [String: Date] = [:]
    private var fired: Set<String> = []
    /// Stream ages are measured from here until a stream has an entry.
    private let startedAt: Date

    public init(rules: [SafetyRule], startedAt: Date) {
        self.rules = rules
        self.startedAt = startedAt
    }

    /// The rules that have fired and whose condition still holds, with why.
    public private(set) var active: [String: SafetyFiring] = [:]

    /// Streams any rule watches.
    public var watchedStreams: [String] {
        rules.compactMap { if case .streamStale(let stream) = $0.condition { stream } else { nil } }
    }

    /// Rules that fire now.
    public mutating func evaluate(_ inputs: SafetyInputs, at now: Date) -> [SafetyFiring] {
        let coveredDependencies = Set(
            rules.compactMap { if case .dependencyDown(let dependency) = $0.condition { dependency.rawValue } else { nil } })
        var firings: [SafetyFiring] = []
        for rule in rules {
            guard let (start, reason) = holds(rule, inputs, coveredDependencies: coveredDependencies) else {
                since[rule.name] = nil
                fired.remove(rule.name)
                active[rule.name] = nil
                continue
            }
            let conditionStart = start ?? since[rule.name] ?? now
            since[rule.name] = conditionStart
            guard now - rule.hold.seconds >= conditionStart else {
                // A stream that moved again re-arms its rule.
                if start != nil {
                    fired.remove(rule.name)
                    active[rule.name] = nil
                }
                continue
            }
            let firing = SafetyFiring(rule: rule.name, condition: rule.condition.name, reason: reason, since: conditionStart)
            active[rule.name] = firing
            if fired.insert(rule.name).inserted { firings.append(firing) }
        }
        return firings
    }

    /// When a holding rule that has not fired will fire, if nothing changes.
    public var nextDeadline: Date? {
        rules.compactMap { rule in
            guard !fired.contains(rule.name), let start = since[rule.name] else { return nil }
            return start + rule.hold.seconds
        }.min()
    }

    /// Whether the rule's condition holds, since when (nil: from now) and why.
    private func holds(_ rule: SafetyRule, _ inputs: SafetyInputs, coveredDependencies: Set<String>) -> (Date?, String)? {
        let verdicts = inputs.mesh.verdicts
        switch rule.condition {
        case .serviceDown(let services):
            let failing = services.filter { name in
                guard let verdict = verdicts[name], verdict.effective == .fail else { return false }
                // Counted under the dependency's own rule instead.
                return !(verdict.failsThroughDependency && coveredDependencies.contains(verdict.rootCause ?? ""))
            }
            guard !failing.isEmpty else { return nil }
            let details = failing.map { "\($0): \(verdicts[$0]?.output ?? "failing")" }
            return (nil, "failing: " + details.joined(separator: "; "))
        case .dependencyDown(let dependency):
            guard let verdict = verdicts[dependency.rawValue], verdict.own == .fail else { return nil }
            return (nil, "\(dependency.rawValue) unreachable: \(verdict.output)")
        case .serviceGaveUp(let services):
            let given = services.filter(inputs.gaveUp.contains)
            guard !given.isEmpty else { return nil }
            return (nil, "gave up restarting: " + given.joined(separator: ", "))
        case .hostUnreachable(let targets):
            guard !targets.isEmpty, targets.allSatisfy({ verdicts[$0]?.own == .fail }) else { return nil }
            let details = targets.map { "\($0): \(verdicts[$0]?.output ?? "failing")" }
            return (nil, "every service of the host failing from here: " + details.joined(separator: "; "))
        case .streamStale(let stream):
            // Counted from the supervisor's start at the earliest: an entry an earlier run left
            // in Redis must not trip a system that has only just started publishing.
            guard let last = inputs.streamLastEntry[stream], last > startedAt else {
                let before = inputs.streamLastEntry[stream].map { " (newest at \(EventEnvelope.timestamp($0)))" } ?? ""
                return (startedAt, "\(stream) stale: no \(stream) entry since the supervisor started\(before)")
            }
            return (last, "\(stream) stale: newest \(stream) entry at \(EventEnvelope.timestamp(last))")
        }
    }
}
