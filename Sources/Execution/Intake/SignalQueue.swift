import EventBus
import Foundation
import Money

/// The signals waiting for execution, bounded, with a documented policy for what goes when it
/// cannot all wait (the AI engine can emit 30 to 50 a second in a volatile market):
/// 1. a newer signal for a symbol replaces the one waiting for it (`replaced`);
/// 2. a signal past its time to live is dropped, when it arrives or when its turn comes
///    (`expired`);
/// 3. when still full, the lowest-confidence signal goes, the newcomer included (`overflow`).
///
/// Every signal is counted, so that at every moment
/// `received = executed + rejected + dropped + queued` (the one being checked counts as
/// queued until it is executed or rejected). Pure: time comes in as an argument.
public struct SignalQueue: Sendable {
    public struct Entry: Sendable, Equatable {
        /// The event's id: the order's client order id derives from it.
        public var id: String
        public var signal: SignalGenerated
        public var receivedAt: Date

        public init(id: String, signal: SignalGenerated, receivedAt: Date) {
            self.id = id
            self.signal = signal
            self.receivedAt = receivedAt
        }
    }

    public enum DropReason: String, Sendable, CaseIterable {
        case replaced, expired, overflow
    }

    public struct Counts: Sendable, Equatable {
        public var received = 0
        public var executed = 0
        public var rejected = 0
        public var dropped: [DropReason: Int] = [:]
        /// Waiting, and the one being checked.
        public var queued = 0

        public var droppedTotal: Int { dropped.values.reduce(0, +) }
        /// `received = executed + rejected + dropped + queued`.
        public var balances: Bool { received == executed + rejected + droppedTotal + queued }
    }

    public let capacity: Int
    /// Oldest first.
    public private(set) var waiting: [Entry] = []
    private var inProgress = 0
    public private(set) var counts = Counts()

    public init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    /// Takes a signal in; returns what was dropped for it (the newcomer itself, possibly).
    @discardableResult
    public mutating func offer(_ entry: Entry, now: Date) -> [(Entry, DropReason)] {
        counts.received += 1
        var dropped: [(Entry, DropReason)] = []
        defer {
            for (_, reason) in dropped { counts.dropped[reason, default: 0] += 1 }
            counts.queued = waiting.count + inProgress
        }
        if Self.isExpired(entry, now: now) {
            dropped.append((entry, .expired))
            return dropped
        }
        if let index = waiting.firstIndex(where: { $0.signal.symbol == entry.signal.symbol }) {
            dropped.append((waiting.remove(at: index), .replaced))
        }
        if waiting.count >= capacity {
            // The expired go first, then the least confident (the oldest of equals).
            let expired = waiting.filter { Self.isExpired($0, now: now) }
            waiting.removeAll { Self.isExpired($0, now: now) }
            dropped += expired.map { ($0, .expired) }
        }
        if waiting.count >= capacity {
            let weakest = waiting.indices.min { waiting[$0].signal.confidence < waiting[$1].signal.confidence }!
            if waiting[weakest].signal.confidence < entry.signal.confidence {
                dropped.append((waiting.remove(at: weakest), .overflow))
            } else {
                dropped.append((entry, .overflow))
                return dropped
            }
        }
        waiting.append(entry)
        return dropped
    }

    /// The next signal to check, the expired before it dropped (returned too, to be
    /// published). Counted as queued until ``finish(executed:)``.
    public mutating func next(now: Date) -> (entry: Entry?, expired: [Entry]) {
        var expired: [Entry] = []
        defer {
            if !expired.isEmpty { counts.dropped[.expired, default: 0] += expired.count }
            counts.queued = waiting.count + inProgress
        }
        while !waiting.isEmpty {
            let entry = waiting.removeFirst()
            if Self.isExpired(entry, now: now) {
                expired.append(entry)
                continue
            }
            inProgress += 1
            return (entry, expired)
        }
        return (nil, expired)
    }

    /// The signal taken by ``next(now:)`` became an order (`executed`) or was refused.
    public mutating func finish(executed: Bool) {
        precondition(inProgress > 0, "finish without a signal in progress")
        inProgress -= 1
        if executed { counts.executed += 1 } else { counts.rejected += 1 }
        counts.queued = waiting.count + inProgress
    }

    static func isExpired(_ entry: Entry, now: Date) -> Bool {
        entry.signal.expiresAt.map { $0 <= now } ?? false
    }
}
