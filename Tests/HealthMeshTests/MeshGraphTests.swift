import HealthFormat
import HealthMesh
import Testing
import VaktConfig

@Suite struct MeshGraphTests {
    /// gateway -> risk -> redis, postgres; execution -> risk, exchange; dashboard -> gateway;
    /// rl-training (not critical) -> redis.
    let graph = MeshGraph(nodes: [
        MeshNode(name: "gateway", kind: .service, critical: true, dependsOn: ["risk"]),
        MeshNode(name: "risk", kind: .service, critical: true, dependsOn: ["redis", "postgres"]),
        MeshNode(name: "execution", kind: .service, critical: true, dependsOn: ["risk", "exchange"]),
        MeshNode(name: "dashboard", kind: .service, critical: false, dependsOn: ["gateway"]),
        MeshNode(name: "rl-training", kind: .service, critical: false, dependsOn: ["redis"]),
        MeshNode(name: "redis", kind: .dependency, critical: false, dependsOn: []),
        MeshNode(name: "postgres", kind: .dependency, critical: false, dependsOn: []),
        MeshNode(name: "exchange", kind: .dependency, critical: false, dependsOn: []),
    ])

    func all(_ status: HealthStatus) -> [String: NodeObservation] {
        Dictionary(uniqueKeysWithValues: graph.nodes.map { ($0.name, NodeObservation(status, "\(status)")) })
    }

    @Test func aFailingDependencyFailsEverythingAboveItAndIsTheirRootCause() {
        var observations = all(.pass)
        observations["redis"] = NodeObservation(.fail, "connection refused")
        observations["risk"] = NodeObservation(.fail, "redis check fails")
        let evaluation = graph.evaluate(observations)
        #expect(evaluation.system == .fail)
        for name in ["risk", "gateway", "execution", "dashboard", "rl-training"] {
            #expect(evaluation.verdicts[name]?.effective == .fail, "\(name)")
            #expect(evaluation.verdicts[name]?.rootCause == "redis", "\(name)")
            #expect(evaluation.verdicts[name]?.failsThroughDependency == true, "\(name)")
        }
        #expect(evaluation.verdicts["redis"]?.failsThroughDependency == false)
        #expect(evaluation.verdicts["gateway"]?.own == .pass)
        #expect(evaluation.verdicts["postgres"]?.effective == .pass)
        #expect(evaluation.output.contains("cause: redis"))
    }

    @Test func aNonCriticalFailureOnlyWarnsTheSystem() {
        var observations = all(.pass)
        observations["rl-training"] = NodeObservation(.fail, "exited")
        let evaluation = graph.evaluate(observations)
        #expect(evaluation.system == .warn)
        #expect(evaluation.verdicts["rl-training"]?.rootCause == "rl-training")
    }

    @Test func warningsAndUnknownsDoNotSpread() {
        var observations = all(.pass)
        observations["postgres"] = NodeObservation(.warn, "slow")
        observations["exchange"] = NodeObservation(nil, "no answer yet")
        let evaluation = graph.evaluate(observations)
        #expect(evaluation.system == .warn)
        #expect(evaluation.verdicts["risk"]?.effective == .pass)
        #expect(evaluation.verdicts["exchange"]?.effective == .warn)
        #expect(graph.evaluate(all(.pass)).system == .pass)
    }

    @Test func singlePointsOfFailureAreWhatCriticalServicesNeed() {
        let spof = graph.singlePointsOfFailure
        #expect(spof["redis"] == ["execution", "gateway", "risk"])
        #expect(spof["exchange"] == ["execution"])
        #expect(spof["risk"] == ["execution", "gateway", "risk"])
        #expect(spof["dashboard"] == nil, "not critical, and nothing critical needs it")
        #expect(spof["rl-training"] == nil)
    }

    @Test func theGraphFromTheConfigurationFollowsDependsOnAndInfrastructure() throws {
        let configuration = try ConfigurationLoader.parse(yaml: "system: { mode: paper }\n", file: "test.yaml", environment: [:])
        let graph = MeshGraph(configuration: configuration)
        #expect(graph.node("execution")?.dependsOn == ["risk", "exchange-sim", "redis", "postgres", "exchange"])
        #expect(graph.node("redis")?.kind == .dependency)
        #expect(graph.node("supervisor") == nil)
        #expect(graph.singlePointsOfFailure["redis"]?.contains("execution") == true)
    }
}
