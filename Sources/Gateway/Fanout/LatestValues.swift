/// The newest message of every topic and key, so that a client coming back with the last
/// sequence it saw gets what changed since, each key once in its final state, instead of a
/// replay. Bounded: past `capacity` keys the oldest value is forgotten, and a client whose last
/// sequence is older than what was forgotten is told to start from a fresh snapshot instead.
/// Pure: no clock, no I/O.
struct LatestValues {
    let capacity: Int
    private(set) var values: [FanoutMessage.Slot: FanoutMessage] = [:]
    /// Slots in the order their values arrived; entries whose slot has since a newer value are
    /// skipped (and compacted away when they outnumber the live ones).
    private var arrivals: [(sequence: UInt64, slot: FanoutMessage.Slot)] = []
    /// Arrivals before this index are gone (an array with a moving start, compacted below).
    private var firstArrival = 0
    /// The newest sequence whose value was forgotten: a resume from before it would miss it.
    private(set) var forgottenUpTo: UInt64 = 0

    init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    mutating func record(_ message: FanoutMessage) {
        values[message.slot] = message
        arrivals.append((message.sequence, message.slot))
        while values.count > capacity, firstArrival < arrivals.count {
            let oldest = arrivals[firstArrival]
            firstArrival += 1
            if values[oldest.slot]?.sequence == oldest.sequence {
                values[oldest.slot] = nil
                forgottenUpTo = max(forgottenUpTo, oldest.sequence)
            }
        }
        if arrivals.count - firstArrival > 2 * values.count + 1024 {
            compact()
        } else if firstArrival > 1024, firstArrival > arrivals.count / 2 {
            arrivals.removeFirst(firstArrival)
            firstArrival = 0
        }
    }

    /// What changed after `sequence`, oldest first, each slot once; nil when some of it was
    /// forgotten.
    func since(_ sequence: UInt64) -> [FanoutMessage]? {
        guard sequence >= forgottenUpTo else { return nil }
        return values.values.filter { $0.sequence > sequence }.sorted { $0.sequence < $1.sequence }
    }

    private mutating func compact() {
        arrivals = values.values.sorted { $0.sequence < $1.sequence }.map { ($0.sequence, $0.slot) }
        firstArrival = 0
    }
}
