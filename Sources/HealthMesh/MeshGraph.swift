import HealthFormat
import VaktConfig

/// One node of the mesh: a supervised service or a piece of shared infrastructure.
public struct MeshNode: Sendable, Equatable {
    public enum Kind: String, Sendable, Codable {
        case service, dependency
    }
    public var name: String
    public var kind: Kind
    /// Whether trading must halt when this node fails (services only; infrastructure counts
    /// through the critical services that need it).
    public var critical: Bool
    /// Services it waits for (`depends_on`) and the infrastructure its kind uses.
    public var dependsOn: [String]

    public init(name: String, kind: Kind, critical: Bool, dependsOn: [String]) {
        self.name = name
        self.kind = kind
        self.critical = critical
        self.dependsOn = dependsOn
    }
}

/// A node's own status as the supervisor observed it; nil status means not known yet.
public struct NodeObservation: Sendable, Equatable {
    public var status: HealthStatus?
    public var output: String

    public init(_ status: HealthStatus?, _ output: String) {
        self.status = status
        self.output = output
    }
}

/// What the graph makes of one node.
public struct NodeVerdict: Sendable, Equatable {
    public var name: String
    public var own: HealthStatus?
    /// The worse of its own status and `fail` when anything it depends on fails.
    public var effective: HealthStatus
    /// The node whose own failure explains this one's effective failure: itself, or the
    /// deepest failing node it depends on. nil when it does not fail.
    public var rootCause: String?
    public var output: String

    /// Failing only because something it depends on fails.
    public var failsThroughDependency: Bool {
        effective == .fail && rootCause != nil && rootCause != name
    }
}

/// The dependency graph from the configuration (the seed's "Internal Dependencies" tree) and
/// its aggregation rule:
///
/// - a node's effective status is its own, made `fail` when a node it depends on (directly or
///   not) fails; a dependency's `warn` does not spread;
/// - a node not yet known (in its start grace) counts as `warn`;
/// - the system fails when a critical service's effective status is `fail`; it warns when any
///   node is not `pass`; otherwise it passes.
public struct MeshGraph: Sendable {
    public let nodes: [MeshNode]
    /// For each node whose failure alone fails the system: the critical services it takes down.
    public let singlePointsOfFailure: [String: [String]]
    private let index: [String: MeshNode]

    public init(nodes: [MeshNode]) {
        self.nodes = nodes
        let index = Dictionary(uniqueKeysWithValues: nodes.map { ($0.name, $0) })
        self.index = index
        var impact: [String: Set<String>] = [:]
        for node in nodes where node.kind == .service && node.critical {
            for name in Self.closure(of: node.name, in: index) { impact[name, default: []].insert(node.name) }
        }
        singlePointsOfFailure = impact.mapValues { $0.sorted() }
    }

    /// The enabled services (but the supervisor), the infrastructure any of them uses, and the
    /// configured extra HTTP targets.
    public init(configuration: VaktConfiguration) {
        let services = configuration.supervisedServices
        var infrastructure = Set<Infrastructure>()
        var nodes: [MeshNode] = services.map { settings in
            let uses = settings.kind?.infrastructure ?? []
            infrastructure.formUnion(uses)
            let infrastructureNames = Infrastructure.allCases.filter(uses.contains).map(\.rawValue)
            return MeshNode(
                name: settings.name, kind: .service, critical: settings.critical, dependsOn: settings.dependsOn + infrastructureNames)
        }
        let dependencies =
            Infrastructure.allCases.filter(infrastructure.contains).map(\.rawValue) + configuration.health.httpTargets.keys.sorted()
        nodes += dependencies.map { MeshNode(name: $0, kind: .dependency, critical: false, dependsOn: []) }
        self.init(nodes: nodes)
    }

    public func node(_ name: String) -> MeshNode? { index[name] }

    /// The node and everything it depends on, directly or not.
    static func closure(of name: String, in index: [String: MeshNode]) -> Set<String> {
        var seen: Set<String> = []
        var queue = [name]
        while let next = queue.popLast() {
            guard seen.insert(next).inserted else { continue }
            queue += index[next]?.dependsOn ?? []
        }
        return seen
    }

    public struct Evaluation: Sendable, Equatable {
        public var system: HealthStatus
        /// Why the system does not pass, naming the critical services that fail.
        public var output: String
        public var verdicts: [String: NodeVerdict]
    }

    public func evaluate(_ observations: [String: NodeObservation]) -> Evaluation {
        var verdicts: [String: NodeVerdict] = [:]
        func verdict(_ name: String) -> NodeVerdict {
            if let known = verdicts[name] { return known }
            let observation = observations[name] ?? NodeObservation(nil, "not observed yet")
            var result = NodeVerdict(
                name: name, own: observation.status, effective: observation.status ?? .warn,
                rootCause: observation.status == .fail ? name : nil,
                output: observation.output)
            for dependency in index[name]?.dependsOn ?? [] {
                let upstream = verdict(dependency)
                guard upstream.effective == .fail else { continue }
                // The dependency explains the failure: alerts and trips go to it, once.
                if result.rootCause == nil || result.rootCause == name {
                    result.rootCause = upstream.rootCause
                }
                if result.effective != .fail {
                    result.output = "\(dependency) fails: \(upstream.output)"
                }
                result.effective = .fail
            }
            verdicts[name] = result
            return result
        }
        for node in nodes { _ = verdict(node.name) }
        let failing = nodes.filter { $0.kind == .service && $0.critical && verdicts[$0.name]?.effective == .fail }.map(\.name)
        let degraded = nodes.filter { verdicts[$0.name]?.effective != .pass }.map(\.name)
        if !failing.isEmpty {
            let causes = Set(failing.compactMap { verdicts[$0]?.rootCause }).sorted()
            return Evaluation(
                system: .fail,
                output: "critical services failing: \(failing.joined(separator: ", ")) (cause: \(causes.joined(separator: ", ")))",
                verdicts: verdicts)
        }
        if !degraded.isEmpty {
            return Evaluation(system: .warn, output: "not passing: \(degraded.joined(separator: ", "))", verdicts: verdicts)
        }
        return Evaluation(system: .pass, output: "all \(nodes.count) nodes pass", verdicts: verdicts)
    }
}
