import NIOCore

/// Runs tasks on one NIO event loop: the probes run where their HTTP connections live, so a
/// probe costs no hop between the concurrency pool and the event loop's thread.
final class EventLoopExecutor: TaskExecutor, @unchecked Sendable {
    let eventLoop: any EventLoop

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }

    /// Sleeps on the event loop's own timers (`Task.sleep` would wake another thread to come
    /// back here); returns early when the task is cancelled.
    func sleep(until deadline: ContinuousClock.Instant) async {
        let delay = ContinuousClock.now.duration(to: deadline)
        guard delay > .zero, !Task.isCancelled else { return }
        let scheduled = eventLoop.scheduleTask(in: TimeAmount(delay)) {}
        await withTaskCancellationHandler {
            _ = try? await scheduled.futureResult.get()
        } onCancel: {
            scheduled.cancel()
        }
    }
}
