import Foundation
import Testing

@testable import RedisClient

/// The hand-over of a value from a connection's thread to a waiting task, in each order.
@Suite struct HandoffTests {
    @Test func aValueReadyWhileTheTaskSpinsIsTakenWithoutSuspending() async {
        let handoff = Handoff<Int>()
        handoff.complete(7)
        #expect(await handoff.value(spinningFor: .milliseconds(1)) == (7, answeredWhileSpinning: true))
    }

    @Test func aValueThatComesAfterTheSpinResumesTheSuspendedTask() async {
        for spin in [Duration.zero, .microseconds(50)] {
            let handoff = Handoff<Int>()
            let thread = Thread {
                usleep(20_000)
                handoff.complete(42)
            }
            thread.start()
            #expect(await handoff.value(spinningFor: spin) == (42, answeredWhileSpinning: false))
        }
    }

    @Test func manyHandoffsRacingTheirCompletionEachDeliverTheirValue() async {
        await withTaskGroup(of: Bool.self) { group in
            for index in 0..<2_000 {
                group.addTask {
                    let handoff = Handoff<Int>()
                    let thread = Thread { handoff.complete(index) }
                    thread.start()
                    return await handoff.value(spinningFor: index.isMultiple(of: 2) ? .zero : .microseconds(20)).0 == index
                }
            }
            for await delivered in group { #expect(delivered) }
        }
    }
}
