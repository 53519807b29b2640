import Testing
import VaktConfig

@testable import Supervisor

@Suite struct RestartTrackerTests {
    func settings(
        restart: ServiceSettings.RestartPolicy = .always, maxRestarts: Int = 3, period: Duration = .seconds(10),
        jitter: Double = 0
    ) -> ServiceSettings {
        var settings = ServiceSettings(program: "child")
        settings.restart = restart
        settings.backoff = .init(initial: .milliseconds(100), multiplier: 2, maximum: .seconds(1), jitter: jitter)
        settings.intensity = .init(maxRestarts: maxRestarts, period: period)
        settings.stableAfter = .seconds(30)
        return settings
    }

    let crash = ExitReason.exited(.exited(code: 1))

    @Test func backoffDoublesUpToTheIntensityLimitThenGivesUp() {
        var tracker = RestartTracker(settings: settings())
        let decisions = (0..<4).map { index in
            tracker.decide(after: crash, ranFor: .milliseconds(50), now: .milliseconds(index * 200), jitterSample: 0)
        }
        #expect(decisions[0] == .restart(after: .milliseconds(100)))
        #expect(decisions[1] == .restart(after: .milliseconds(200)))
        #expect(decisions[2] == .restart(after: .milliseconds(400)))
        guard case .giveUp(let reason) = decisions[3] else {
            Issue.record("expected giveUp, got \(decisions[3])")
            return
        }
        #expect(reason.contains("3 restarts within 10000ms (limit 3)"))
    }

    @Test func restartsOutsideThePeriodDoNotCount() {
        var tracker = RestartTracker(settings: settings(maxRestarts: 2, period: .seconds(1)))
        #expect(tracker.decide(after: crash, ranFor: .zero, now: .seconds(0), jitterSample: 0) != .stayDown)
        #expect(
            tracker.decide(after: crash, ranFor: .zero, now: .milliseconds(500), jitterSample: 0) == .restart(after: .milliseconds(200)))
        // The first restart has left the one-second window, so this is the second within it.
        #expect(
            tracker.decide(after: crash, ranFor: .zero, now: .milliseconds(1200), jitterSample: 0) == .restart(after: .milliseconds(400)))
        if case .giveUp = tracker.decide(after: crash, ranFor: .zero, now: .milliseconds(1300), jitterSample: 0) {
        } else {
            Issue.record("expected giveUp on the third restart within one second")
        }
    }

    @Test func aStableRunResetsTheBackoff() {
        var tracker = RestartTracker(settings: settings(maxRestarts: 100))
        _ = tracker.decide(after: crash, ranFor: .zero, now: .seconds(1), jitterSample: 0)
        _ = tracker.decide(after: crash, ranFor: .zero, now: .seconds(2), jitterSample: 0)
        #expect(
            tracker.decide(after: crash, ranFor: .seconds(31), now: .seconds(40), jitterSample: 0) == .restart(after: .milliseconds(100)))
    }

    @Test func jitterStaysWithinItsFraction() {
        var low = RestartTracker(settings: settings(jitter: 0.2))
        var high = RestartTracker(settings: settings(jitter: 0.2))
        #expect(low.decide(after: crash, ranFor: .zero, now: .zero, jitterSample: -1) == .restart(after: .milliseconds(80)))
        #expect(high.decide(after: crash, ranFor: .zero, now: .zero, jitterSample: 1) == .restart(after: .milliseconds(120)))
    }

    @Test func policiesDecideWhichExitsRestart() {
        let clean = ExitReason.exited(.exited(code: 0))
        var onFailure = RestartTracker(settings: settings(restart: .onFailure))
        #expect(onFailure.decide(after: clean, ranFor: .zero, now: .zero, jitterSample: 0) == .stayDown)
        #expect(onFailure.decide(after: crash, ranFor: .zero, now: .zero, jitterSample: 0) == .restart(after: .milliseconds(100)))
        var watchdog = RestartTracker(settings: settings(restart: .onFailure))
        #expect(
            watchdog.decide(after: .watchdog(.signaled(signal: 6, coreDumped: false)), ranFor: .zero, now: .zero, jitterSample: 0)
                != .stayDown)
        var never = RestartTracker(settings: settings(restart: .never))
        #expect(never.decide(after: crash, ranFor: .zero, now: .zero, jitterSample: 0) == .stayDown)
        var always = RestartTracker(settings: settings(restart: .always))
        #expect(always.decide(after: clean, ranFor: .zero, now: .zero, jitterSample: 0) == .restart(after: .milliseconds(100)))
        #expect(always.decide(after: .stopped(.exited(code: 0)), ranFor: .zero, now: .zero, jitterSample: 0) == .stayDown)
    }

    @Test func resetClearsHistory() {
        var tracker = RestartTracker(settings: settings(maxRestarts: 1))
        _ = tracker.decide(after: crash, ranFor: .zero, now: .zero, jitterSample: 0)
        tracker.reset()
        #expect(tracker.decide(after: crash, ranFor: .zero, now: .zero, jitterSample: 0) == .restart(after: .milliseconds(100)))
    }
}

@Suite struct StartOrderTests {
    func service(_ name: String, _ dependencies: [String]) -> ServiceSettings {
        var settings = ServiceSettings(program: name)
        settings.dependsOn = dependencies
        return settings
    }

    @Test func levelsFollowDependencies() {
        let services = [
            service("dashboard", ["gateway"]), service("gateway", ["risk", "portfolio"]), service("risk", []), service("portfolio", []),
            service("execution", ["risk", "exchange-sim"]), service("exchange-sim", []),
        ]
        #expect(StartOrder.levels(services) == [["risk", "portfolio", "exchange-sim"], ["gateway", "execution"], ["dashboard"]])
        #expect(StartOrder.stopLevels(services).first == ["dashboard"])
    }

    @Test func shippedDefaultsStartTheSimulatorAndRiskFirst() {
        let services = ServiceKind.allCases.filter { $0 != .supervisor }.map { ServiceSettings(kind: $0, mode: .paper) }
        let levels = StartOrder.levels(services)
        // The simulator and risk; execution, the portfolio and market data on the simulator; the
        // gateway on risk and the portfolio; the dashboard on the gateway.
        #expect(levels.count == 4)
        #expect(levels[0].contains("risk") && levels[0].contains("exchange-sim"))
        #expect(levels[1].contains("portfolio") && levels[1].contains("execution"))
        #expect(levels[2] == ["gateway"] && levels[3] == ["dashboard"])
    }

    @Test func anOrderlyStopTakesEachLevelsSlowestMember() {
        var slow = service("execution", ["risk"])
        slow.stopTimeout = .seconds(30)
        let services = [service("risk", []), slow, service("portfolio", ["risk"]), service("dashboard", ["portfolio"])]
        // dashboard 10 s, then execution and portfolio together 30 s, then risk 10 s.
        #expect(StartOrder.stopDuration(services) == .seconds(50))
        #expect(StartOrder.stopDuration([]) == .zero)
    }

    @Test func statusLineCountsReadyAndFailed() {
        func snapshot(_ name: String, _ state: ChildState, ready: Bool) -> ChildSnapshot {
            ChildSnapshot(
                name: name, state: state, ready: ready, critical: true, pid: nil, uptimeSeconds: nil, restarts: 0, lastExit: nil,
                lastExitReason: nil, status: nil, readiness: "notify", lastErrno: nil)
        }
        #expect(
            Supervisor.statusLine([
                snapshot("a", .running, ready: true), snapshot("b", .failed, ready: false), snapshot("c", .starting, ready: false),
            ])
                == "1/3 ready, 1 failed")
    }
}
