/// The gateway's frames per second across all clients, handed out as time slots: a client whose
/// batch is due reserves the next free slot and sends then, its updates meanwhile coalescing
/// into the same frame. Under light load every slot is "now"; under heavy load frames spread
/// evenly and each carries more, so a thousand clients after a burst cost the gateway a bounded
/// number of writes instead of a thousand times fifty a second. Pure: no clock of its own.
struct FrameBudget {
    /// The spacing between slots: one over the frames per second.
    let spacing: Duration
    /// The first slot not yet given out.
    private(set) var nextFree: ContinuousClock.Instant?

    init(framesPerSecond: Int) {
        precondition(framesPerSecond > 0)
        spacing = .seconds(1) / framesPerSecond
    }

    /// A slot at or after `now`; the slot after it is given to the next asker.
    mutating func reserve(at now: ContinuousClock.Instant) -> ContinuousClock.Instant {
        let slot = max(now, nextFree ?? now)
        nextFree = slot + spacing
        return slot
    }
}
