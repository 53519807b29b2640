import Foundation
import HealthFormat
import HealthMesh
import Testing
import VaktConfig

@Suite struct SafetyEvaluatorTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)
    let graph = MeshGraph(nodes: [
        MeshNode(name: "risk", kind: .service, critical: true, dependsOn: ["redis"]),
        MeshNode(name: "execution", kind: .service, critical: true, dependsOn: ["risk", "redis"]),
        MeshNode(name: "redis", kind: .dependency, critical: false, dependsOn: []),
    ])
    let rules = [
        SafetyRule(name: "critical-down", condition: .serviceDown(services: ["risk", "execution"]), hold: .seconds(3)),
        SafetyRule(name: "redis-down", condition: .dependencyDown(.redis), hold: .seconds(5)),
        SafetyRule(name: "gave-up", condition: .serviceGaveUp(services: ["execution"]), hold: .zero),
        SafetyRule(name: "feed-stale", condition: .streamStale(stream: "market.tick"), hold: .seconds(30)),
    ]

    func inputs(_ failing: [String: String], gaveUp: Set<String> = [], lastTick: Date? = nil) -> SafetyInputs {
        var observations: [String: NodeObservation] = [:]
        for node in graph.nodes { observations[node.name] = NodeObservation(.pass, "ok") }
        for (name, why) in failing { observations[name] = NodeObservation(.fail, why) }
        return SafetyInputs(
            mesh: graph.evaluate(observations), gaveUp: gaveUp, streamLastEntry: lastTick.map { ["market.tick": $0] } ?? [:])
    }

    @Test func aRuleFiresOnceAfterItsHoldAndAgainOnlyAfterItCleared() {
        var evaluator = SafetyEvaluator(rules: rules, startedAt: start)
        let down = inputs(["execution": "exited"], lastTick: start)
        #expect(evaluator.evaluate(down, at: start).isEmpty)
        #expect(evaluator.nextDeadline == start + 3)
        #expect(evaluator.evaluate(down, at: start + 2.999).isEmpty)
        let fired = evaluator.evaluate(down, at: start + 3)
        #expect(fired.map(\.rule) == ["critical-down"])
        #expect(fired.first?.reason == "failing: execution: exited")
        #expect(fired.first?.since == start)
        #expect(evaluator.evaluate(down, at: start + 10).isEmpty, "fires once per episode")
        #expect(evaluator.active["critical-down"] != nil)
        #expect(evaluator.evaluate(inputs([:], lastTick: start + 10), at: start + 11).isEmpty)
        #expect(evaluator.active["critical-down"] == nil)
        #expect(evaluator.evaluate(down, at: start + 12).isEmpty)
        #expect(evaluator.evaluate(down, at: start + 15).map(\.rule) == ["critical-down"])
    }

    @Test func aConditionThatClearsBeforeItsHoldNeverFires() {
        var evaluator = SafetyEvaluator(rules: rules, startedAt: start)
        let down = inputs(["execution": "exited"], lastTick: start)
        _ = evaluator.evaluate(down, at: start)
        _ = evaluator.evaluate(inputs([:], lastTick: start), at: start + 2)
        #expect(evaluator.evaluate(down, at: start + 4).isEmpty, "the hold starts again")
        #expect(evaluator.evaluate(down, at: start + 6.5).isEmpty)
        #expect(evaluator.evaluate(down, at: start + 7).map(\.rule) == ["critical-down"])
    }

    @Test func servicesFailingBecauseOfRedisTripOnceUnderTheRedisRule() {
        var evaluator = SafetyEvaluator(rules: rules, startedAt: start)
        let outage = inputs(
            ["redis": "connection refused", "risk": "redis check fails", "execution": "redis check fails"], lastTick: start)
        #expect(evaluator.evaluate(outage, at: start).isEmpty)
        #expect(evaluator.evaluate(outage, at: start + 4).isEmpty, "no service rule for failures redis explains")
        #expect(evaluator.evaluate(outage, at: start + 5).map(\.rule) == ["redis-down"])
        #expect(evaluator.evaluate(outage, at: start + 20).isEmpty)
    }

    /// Another host's services, probed from here as HTTP targets: one of them failing is that
    /// host's own business; all of them failing is the host cut off from this one.
    @Test func aHostIsUnreachableOnlyWhenEveryOneOfItsServicesFailsFromHere() {
        let graph = MeshGraph(nodes: [
            MeshNode(name: "risk", kind: .service, critical: true, dependsOn: []),
            MeshNode(name: "a-risk", kind: .dependency, critical: false, dependsOn: []),
            MeshNode(name: "a-execution", kind: .dependency, critical: false, dependsOn: []),
        ])
        func inputs(_ failing: [String]) -> SafetyInputs {
            var observations: [String: NodeObservation] = [:]
            for node in graph.nodes { observations[node.name] = NodeObservation(.pass, "ok") }
            for name in failing { observations[name] = NodeObservation(.fail, "no answer within 1 s") }
            return SafetyInputs(mesh: graph.evaluate(observations), gaveUp: [], streamLastEntry: [:])
        }
        var evaluator = SafetyEvaluator(
            rules: [
                SafetyRule(name: "host-a-cut-off", condition: .hostUnreachable(targets: ["a-risk", "a-execution"]), hold: .seconds(5))
            ],
            startedAt: start)
        #expect(evaluator.evaluate(inputs(["a-risk"]), at: start).isEmpty)
        #expect(evaluator.evaluate(inputs(["a-risk"]), at: start + 60).isEmpty, "one service of the host failing is not the host")
        #expect(evaluator.evaluate(inputs(["a-risk", "a-execution"]), at: start + 61).isEmpty)
        let fired = evaluator.evaluate(inputs(["a-risk", "a-execution"]), at: start + 66)
        #expect(fired.map(\.rule) == ["host-a-cut-off"])
        #expect(
            fired.first?.reason
                == "every service of the host failing from here: a-risk: no answer within 1 s; a-execution: no answer within 1 s")
        #expect(evaluator.evaluate(inputs(["a-execution"]), at: start + 67).isEmpty)
        #expect(evaluator.active["host-a-cut-off"] == nil, "one answering again clears it")
    }

    @Test func givingUpFiresAtOnce() {
        var evaluator = SafetyEvaluator(rules: rules, startedAt: start)
        let fired = evaluator.evaluate(inputs(["execution": "failed"], gaveUp: ["execution"], lastTick: start), at: start)
        #expect(fired.map(\.rule) == ["gave-up"])
    }

    @Test func aStaleStreamCountsFromItsNewestEntryAndReArmsWhenItMoves() {
        var evaluator = SafetyEvaluator(rules: rules, startedAt: start)
        #expect(evaluator.evaluate(inputs([:]), at: start + 29).isEmpty)
        #expect(evaluator.evaluate(inputs([:]), at: start + 30).map(\.rule) == ["feed-stale"], "no entry since start")
        #expect(evaluator.evaluate(inputs([:], lastTick: start + 40), at: start + 41).isEmpty)
        #expect(evaluator.active["feed-stale"] == nil)
        #expect(evaluator.nextDeadline == start + 70)
        let fired = evaluator.evaluate(inputs([:], lastTick: start + 40), at: start + 70)
        #expect(fired.map(\.rule) == ["feed-stale"])
        #expect(fired.first?.since == start + 40)
    }

    /// Redis keeps the stream across restarts: its newest entry may be a day old when the
    /// system starts again. The rule still gives the new run its hold to publish.
    @Test func anEntryFromBeforeTheStartCountsFromTheStart() {
        var evaluator = SafetyEvaluator(rules: rules, startedAt: start)
        let yesterday = start - 86_400
        #expect(evaluator.evaluate(inputs([:], lastTick: yesterday), at: start + 1).isEmpty)
        #expect(evaluator.evaluate(inputs([:], lastTick: yesterday), at: start + 29).isEmpty)
        let fired = evaluator.evaluate(inputs([:], lastTick: yesterday), at: start + 30)
        #expect(fired.map(\.rule) == ["feed-stale"])
        #expect(fired.first?.since == start)
        #expect(fired.first?.reason.contains("no market.tick entry since the supervisor started (newest at") == true, "\(fired)")
        // Published again after the start: counted from that entry.
        var moved = SafetyEvaluator(rules: rules, startedAt: start)
        #expect(moved.evaluate(inputs([:], lastTick: yesterday), at: start + 1).isEmpty)
        #expect(moved.evaluate(inputs([:], lastTick: start + 20), at: start + 30).isEmpty)
        #expect(moved.evaluate(inputs([:], lastTick: start + 20), at: start + 50).map(\.rule) == ["feed-stale"])
    }
}
