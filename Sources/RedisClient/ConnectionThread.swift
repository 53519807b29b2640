import Foundation
import Synchronization

/// The thread a connection's blocking hiredis calls run on, never a thread of the Swift
/// concurrency pool. It is also a task executor: a task that prefers it
/// (`withTaskExecutorPreference(connection.executor)`) runs its own code on this thread, so its
/// Redis calls need no hand-over between threads at all, as code on a NIO event loop talks to
/// that loop's channels.
final class ConnectionThread: TaskExecutor, @unchecked Sendable {
    private enum Work {
        case job(UnownedJob)
        case closure(() -> Void)
    }

    // `pending` and `stopping` are guarded by `condition`.
    private let condition = NSCondition()
    private var pending: [Work] = []
    private var stopping = false
    private let threadID = Atomic<UInt>(0)

    init(name: String) {
        let thread = Thread { [self] in
            threadID.store(UInt(pthread_self()), ordering: .releasing)
            run()
        }
        thread.name = name
        thread.start()
    }

    /// Whether the caller is on this thread, where blocking calls may run inline.
    var isCurrent: Bool { threadID.load(ordering: .acquiring) == UInt(pthread_self()) }

    func execute(_ closure: @escaping @Sendable () -> Void) {
        submit(.closure(closure))
    }

    func enqueue(_ job: consuming ExecutorJob) {
        submit(.job(UnownedJob(job)))
    }

    /// Lets the thread finish what it was given and end.
    func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    private func submit(_ work: Work) {
        condition.lock()
        pending.append(work)
        condition.signal()
        condition.unlock()
    }

    private func run() {
        var batch: [Work] = []
        while true {
            condition.lock()
            while pending.isEmpty && !stopping { condition.wait() }
            if pending.isEmpty && stopping {
                condition.unlock()
                return
            }
            swap(&batch, &pending)
            condition.unlock()
            for work in batch {
                switch work {
                case .job(let job): job.runSynchronously(on: asUnownedTaskExecutor())
                case .closure(let closure): closure()
                }
            }
            batch.removeAll(keepingCapacity: true)
        }
    }
}
