import Testing

@testable import RedisClient

/// When a caller may spin for an answer: only alone, only as configured, and not again soon after
/// a spin that did not pay. Each test counts its own waiting callers, apart from the process's.
@Suite struct SpinPolicyTests {
    @Test func noSpinIsAllowedWhenNoneIsConfigured() {
        let policy = SpinPolicy(limit: .zero, waiting: SpinPolicy.WaitingCallers())
        #expect(policy.begin() == .zero)
        policy.finish(.notTried)
    }

    @Test func onlyACallerWaitingAloneMaySpin() {
        let policy = SpinPolicy(limit: .microseconds(200), waiting: SpinPolicy.WaitingCallers())
        let first = policy.begin()
        let second = policy.begin()
        #expect(first == .microseconds(200))
        #expect(second == .zero)
        policy.finish(.notTried)
        policy.finish(.answered)
        #expect(policy.begin() == .microseconds(200))
        policy.finish(.answered)
    }

    @Test func aFailedSpinPausesSpinningForCallsThatDoubleWithEachFailureInARow() {
        let policy = SpinPolicy(limit: .microseconds(200), waiting: SpinPolicy.WaitingCallers())
        func callsUntilSpinning() -> Int {
            var calls = 0
            while policy.begin() == .zero {
                policy.finish(.notTried)
                calls += 1
            }
            return calls
        }
        #expect(policy.begin() == .microseconds(200))
        policy.finish(.outlasted)
        #expect(callsUntilSpinning() == SpinPolicy.firstPause)
        policy.finish(.preempted)
        #expect(callsUntilSpinning() == SpinPolicy.firstPause * 2)
        policy.finish(.answered)
        // A spin that paid resets the pause.
        #expect(policy.begin() == .microseconds(200))
        policy.finish(.outlasted)
        #expect(callsUntilSpinning() == SpinPolicy.firstPause)
        policy.finish(.answered)
    }

    @Test func thePauseStopsGrowingAtItsLongest() {
        let policy = SpinPolicy(limit: .microseconds(200), waiting: SpinPolicy.WaitingCallers())
        var pauses: [Int] = []
        _ = policy.begin()
        for _ in 0..<9 {
            policy.finish(.outlasted)
            var calls = 0
            while policy.begin() == .zero {
                policy.finish(.notTried)
                calls += 1
            }
            pauses.append(calls)
        }
        policy.finish(.answered)
        #expect(pauses == [100, 200, 400, 800, 1_600, 3_200, 6_400, 6_400, 6_400])
    }
}
