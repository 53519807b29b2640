import ServiceLifecycle

/// Work done every `interval` until graceful shutdown: the loop every periodic task of a service
/// would otherwise write again. Runs start `interval` apart (a run that took long is followed
/// at once, never by a burst of catch-up runs); a shutdown interrupts the wait, not a run.
public struct PeriodicService: ServiceLifecycle.Service {
    let interval: Duration
    let work: @Sendable () async -> Void

    public init(every interval: Duration, _ work: @escaping @Sendable () async -> Void) {
        self.interval = interval
        self.work = work
    }

    public func run() async throws {
        var next = ContinuousClock.now
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            await work()
            next = max(next + interval, .now)
            let wakeAt = next
            // Only the wait ends early at shutdown: a run in progress finishes.
            try? await cancelWhenGracefulShutdown { try await Task.sleep(until: wakeAt, clock: .continuous) }
        }
    }
}
