import Testing

@testable import ServiceKit

/// The gate a service part waits on: every waiter gets the value once it opens; a waiter that
/// gives up on cancellation gets nil at once, whether cancelled before or while it waits.
@Suite struct StartupGateTests {
    @Test func waitersGetTheValueOnceItOpensAndOneOpenedBeforeAtOnce() async {
        let gate = StartupGate<Int>()
        async let plain = gate.wait()
        async let cancellable = gate.waitUnlessCancelled()
        // Both are waiting (or about to): open wakes them either way.
        gate.open(7)
        #expect(await plain == 7)
        #expect(await cancellable == 7)
        #expect(await gate.waitUnlessCancelled() == 7)
    }

    @Test func aCancelledWaiterGetsNilWhetherCancelledBeforeOrWhileWaiting() async {
        let gate = StartupGate<Int>()
        let waiting = Task { await gate.waitUnlessCancelled() }
        waiting.cancel()
        #expect(await waiting.value == nil)

        let early = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return await gate.waitUnlessCancelled()
        }
        #expect(await early.value == nil)

        // The gate still opens for the others.
        let later = Task { await gate.waitUnlessCancelled() }
        gate.open(3)
        #expect(await later.value == 3)
    }
}
