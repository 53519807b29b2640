import Foundation
import Testing

@testable import RedisClient

/// The hand-over of a value from a connection's thread to a waiting task, in each order.
@Suite struct HandoffTests {
    @Test func aValueReadyWhileTheTaskSpinsIsTakenWithoutSuspending() async {
        let handoff = Handoff<Int>()
        handoff.complete(7)
        #expect(await handoff.value(spinningFor: .milliseconds(1)) == (7, .answered))
    }

    @Test func aSpinTheValueOutlastsSaysSo() async {
        let handoff = Handoff<Int>()
        async let value = handoff.value(spinningFor: .microseconds(50), preemptedAfter: .seconds(1))
        while !handoff.hasWaiter { await Task.yield() }
        handoff.complete(3)
        #expect(await value == (3, .outlasted))
    }

    @Test func aSpinWhoseYieldGaveTheCPUAwayEndsAsPreempted() async {
        // With no time allowed for a yield, every yield that returns counts as another thread's turn.
        let handoff = Handoff<Int>()
        async let value = handoff.value(spinningFor: .seconds(10), preemptedAfter: .zero)
        while !handoff.hasWaiter { await Task.yield() }
        handoff.complete(5)
        #expect(await value == (5, .preempted))
    }

    @Test func aValueThatComesAfterTheSpinResumesTheSuspendedTask() async {
        for spin in [Duration.zero, .microseconds(50)] {
            let handoff = Handoff<Int>()
            async let value = handoff.value(spinningFor: spin, preemptedAfter: .seconds(1))
            while !handoff.hasWaiter { await Task.yield() }
            handoff.complete(42)
            #expect(await value == (42, spin == .zero ? .notTried : .outlasted))
        }
    }

    @Test func manyHandoffsRacingTheirCompletionEachDeliverTheirValue() async {
        // One thread completes them all while the tasks start waiting, so some complete before
        // their task waits, some while it spins and some after it suspended.
        let handoffs = (0..<2_000).map { _ in Handoff<Int>() }
        let completer = Thread {
            for (index, handoff) in handoffs.enumerated() { handoff.complete(index) }
        }
        await withTaskGroup(of: Bool.self) { group in
            for (index, handoff) in handoffs.enumerated() {
                group.addTask {
                    await handoff.value(spinningFor: index.isMultiple(of: 2) ? .zero : .microseconds(20)).0 == index
                }
                if index == 100 { completer.start() }
            }
            for await delivered in group { #expect(delivered) }
        }
    }
}
