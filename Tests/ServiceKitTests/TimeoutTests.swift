import Dispatch
import ServiceKit
import Synchronization
import Testing

/// `withTimeout` answers at its limit even when the operation does not heed its cancellation,
/// as a PostgreSQL query on a connection whose server is gone does not.
@Suite struct TimeoutTests {
    @Test func anOperationThatIgnoresCancellationIsLeftBehindAtTheLimit() async throws {
        let finished = Mutex(false)
        await #expect(throws: TimeoutError.self) {
            try await withTimeout(.milliseconds(100)) {
                // Resumed a minute later whatever happens: cancellation does not reach it.
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    DispatchQueue.global().asyncAfter(deadline: .now() + 60) { continuation.resume() }
                }
                finished.withLock { $0 = true }
            }
        }
        #expect(finished.withLock { $0 } == false, "the caller did not wait for the operation")
    }

    @Test func anAnswerBeforeTheLimitAndAnErrorPassThrough() async throws {
        #expect(try await withTimeout(.seconds(300)) { 42 } == 42)
        struct Refused: Error {}
        await #expect(throws: Refused.self) { try await withTimeout(.seconds(300)) { throw Refused() } }
    }
}
