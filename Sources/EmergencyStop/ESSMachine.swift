import EventBus
import Foundation
import PolicyStore

/// Something the ESS reacts to. Time comes with every input (``ESSMachine/apply(_:at:)``), so
/// the machine is exact under a test clock.
public enum ESSInput: Sendable, Equatable {
    /// A `portfolio.snapshot`: current equity and the profit or loss since the UTC day began.
    case portfolio(equity: Decimal, dailyPnl: Decimal)
    /// A rejected order or a stop-loss hit, described for the record.
    case executionError(String)
    /// A `market.tick` of a symbol, with the time it happened.
    case marketTick(symbol: String, occurredAt: Date)
    /// A trip request: `.manual` from an operator, `.supervisor` from the health mesh.
    case trip(ESSTrigger, reason: String, source: String)
    /// An operator's request to allow only exposure-reducing orders.
    case reduce(reason: String, source: String)
    /// An operator's reset: clears manual and supervisor trips and any cooldown, if no
    /// measured condition is still past its limit.
    case reset(reason: String, source: String)
    /// A change of policy.
    case policy(EmergencyStopPolicy, symbols: [String])
    /// The periodic tick: windows slide, feeds age and cooldowns elapse without any event.
    case evaluate
}

/// What an input did.
public enum ESSOutcome: Sendable, Equatable {
    case unchanged
    case transitioned(ESSTransition)
    /// The input was refused (only a reset can be); the reason says why.
    case refused(String)
}

/// The Emergency Stop System as a pure state machine.
///
/// Trip conditions (any one trips): drawdown from peak equity at or past `maxDrawdown`, the
/// day's loss at or past `maxDailyLoss`, `maxExecutionErrors` within the error window, an
/// allowed symbol's last tick older than `maxFeedAgeSeconds` (counted from start-up for a
/// symbol not seen yet), a manual trip, a supervisor trip. The last two stay until a reset.
///
/// From `tripped`, once no condition holds the machine enters `cooldown`; a condition that
/// returns trips it again and the cooldown starts over when it clears. After `cooldownSeconds`
/// clear it arms (or reduces, if a reduce condition holds), unless the policy requires an
/// operator's reset, which may also end the cooldown early. Reduce conditions (drawdown at or
/// past `reduceDrawdown`, a manual reduce) give `reducing` while no trip condition holds.
public struct ESSMachine: Sendable {
    public private(set) var state: ESSState
    public private(set) var since: Date
    public private(set) var reason: String
    public private(set) var source: String
    public private(set) var trigger: ESSTrigger
    public private(set) var policy: EmergencyStopPolicy
    public private(set) var symbols: [String]
    /// What survives a restart with the state.
    public private(set) var memory: Memory

    public struct Latch: Sendable, Equatable {
        public var reason: String
        public var source: String

        public init(reason: String, source: String) {
            self.reason = reason
            self.source = source
        }
    }

    public struct Memory: Sendable, Equatable {
        public var peakEquity: Decimal?
        public var equity: Decimal?
        public var dailyPnl: Decimal?
        public var manualTrip: Latch?
        public var supervisorTrip: Latch?
        public var manualReduce: Latch?
        /// When the current cooldown began.
        public var clearSince: Date?

        public init() {}
    }

    private struct Condition {
        var trigger: ESSTrigger
        var reason: String
        var source: String
    }

    /// Not persisted: after a restart the error window starts empty and every feed is given
    /// `maxFeedAgeSeconds` from the restart.
    private var errorTimes: [Date] = []
    private var lastTicks: [String: Date] = [:]
    private var startedAt: Date

    public static let source = "risk"

    public init(policy: EmergencyStopPolicy, symbols: [String], now: Date) {
        self.init(
            resuming: ESSTransition(
                from: .armed, to: .armed, trigger: .conditionsCleared, reason: "started with no condition", source: Self.source, at: now),
            memory: Memory(), policy: policy, symbols: symbols, now: now)
    }

    /// Resumes a persisted state: the last transition and the memory saved with it.
    public init(resuming last: ESSTransition, memory: Memory, policy: EmergencyStopPolicy, symbols: [String], now: Date) {
        state = last.to
        since = last.at
        reason = last.reason
        source = last.source
        trigger = last.trigger
        self.memory = memory
        self.policy = policy
        self.symbols = symbols
        startedAt = now
    }

    public func status(confirmedAt: Date) -> ESSStatus {
        ESSStatus(
            state: state, since: since, reason: reason, source: source, trigger: trigger, cooldownEndsAt: cooldownEndsAt,
            confirmedAt: confirmedAt)
    }

    public var cooldownEndsAt: Date? {
        guard state == .cooldown, !policy.manualResetRequired, let clearSince = memory.clearSince else { return nil }
        return clearSince + TimeInterval(policy.cooldownSeconds)
    }

    /// The drawdown from peak equity as a fraction, when equity is known.
    public var drawdown: Decimal? {
        guard let peak = memory.peakEquity, let equity = memory.equity, peak > 0 else { return nil }
        return max(0, (peak - equity) / peak)
    }

    public func executionErrors(at now: Date) -> Int {
        let windowStart = now - TimeInterval(policy.errorWindowSeconds)
        return errorTimes.count { $0 > windowStart }
    }

    /// Seconds since the stalest allowed symbol's last tick.
    public func feedAge(at now: Date) -> (symbol: String, seconds: TimeInterval)? {
        symbols.map { ($0, now.timeIntervalSince(lastTicks[$0] ?? startedAt)) }.max { $0.1 < $1.1 }
    }

    public mutating func apply(_ input: ESSInput, at now: Date) -> ESSOutcome {
        var resetBy: Latch?
        switch input {
        case .portfolio(let equity, let dailyPnl):
            memory.equity = equity
            memory.dailyPnl = dailyPnl
            memory.peakEquity = max(memory.peakEquity ?? equity, equity)
        case .executionError:
            errorTimes.append(now)
        case .marketTick(let symbol, let occurredAt):
            // A tick stamped in the future (a skewed clock) counts as seen now, not later.
            let seen = min(occurredAt, now)
            lastTicks[symbol] = max(lastTicks[symbol] ?? seen, seen)
        case .trip(let trigger, let reason, let source):
            let latch = Latch(reason: reason, source: source)
            if trigger == .supervisor { memory.supervisorTrip = latch } else { memory.manualTrip = latch }
        case .reduce(let reason, let source):
            memory.manualReduce = Latch(reason: reason, source: source)
        case .reset(let reason, let source):
            let measured = measuredTripConditions(at: now)
            if !measured.isEmpty {
                return .refused("cannot reset while " + measured.map(\.reason).joined(separator: "; "))
            }
            let latched = memory.manualTrip != nil || memory.supervisorTrip != nil || memory.manualReduce != nil
            guard latched || state == .tripped || state == .cooldown else {
                return .refused("nothing to reset: the ESS is \(state.rawValue)")
            }
            memory.manualTrip = nil
            memory.supervisorTrip = nil
            memory.manualReduce = nil
            resetBy = Latch(reason: reason, source: source)
        case .policy(let policy, let symbols):
            self.policy = policy
            self.symbols = symbols
        case .evaluate:
            break
        }
        let windowStart = now - TimeInterval(policy.errorWindowSeconds)
        errorTimes.removeAll { $0 <= windowStart }
        return settle(at: now, resetBy: resetBy).map(ESSOutcome.transitioned) ?? .unchanged
    }

    private func measuredTripConditions(at now: Date) -> [Condition] {
        var conditions: [Condition] = []
        if let drawdown, drawdown >= policy.maxDrawdown {
            conditions.append(
                Condition(
                    trigger: .drawdown, reason: "drawdown \(percent(drawdown)) reached the \(percent(policy.maxDrawdown)) limit",
                    source: Self.source))
        }
        if let dailyPnl = memory.dailyPnl, -dailyPnl >= policy.maxDailyLoss {
            conditions.append(
                Condition(
                    trigger: .dailyLoss,
                    reason: "daily loss \(ExactDecimal.text(-dailyPnl)) reached the \(ExactDecimal.text(policy.maxDailyLoss)) limit",
                    source: Self.source))
        }
        let errors = executionErrors(at: now)
        if errors >= policy.maxExecutionErrors {
            conditions.append(
                Condition(
                    trigger: .executionErrors,
                    reason: "\(errors) execution errors within \(policy.errorWindowSeconds) s (limit \(policy.maxExecutionErrors))",
                    source: Self.source))
        }
        if let (symbol, age) = feedAge(at: now), age > TimeInterval(policy.maxFeedAgeSeconds) {
            conditions.append(
                Condition(
                    trigger: .feedStale,
                    reason: "market data for \(symbol) is \(Int(age.rounded(.up))) s old (limit \(policy.maxFeedAgeSeconds) s)",
                    source: Self.source))
        }
        return conditions
    }

    private func tripConditions(at now: Date) -> [Condition] {
        var conditions: [Condition] = []
        if let latch = memory.manualTrip { conditions.append(Condition(trigger: .manual, reason: latch.reason, source: latch.source)) }
        if let latch = memory.supervisorTrip {
            conditions.append(Condition(trigger: .supervisor, reason: latch.reason, source: latch.source))
        }
        return conditions + measuredTripConditions(at: now)
    }

    private func reduceConditions() -> [Condition] {
        var conditions: [Condition] = []
        if let latch = memory.manualReduce {
            conditions.append(Condition(trigger: .manualReduce, reason: latch.reason, source: latch.source))
        }
        if let drawdown, let limit = policy.reduceDrawdown, drawdown >= limit {
            conditions.append(
                Condition(
                    trigger: .reduceDrawdown, reason: "drawdown \(percent(drawdown)) reached the \(percent(limit)) reduce level",
                    source: Self.source))
        }
        return conditions
    }

    private mutating func settle(at now: Date, resetBy: Latch?) -> ESSTransition? {
        if let trip = tripConditions(at: now).first {
            memory.clearSince = nil
            return state == .tripped ? nil : move(to: .tripped, trip.trigger, trip.reason, trip.source, at: now)
        }
        let reduce = reduceConditions().first
        if state == .tripped || state == .cooldown {
            if let resetBy {
                memory.clearSince = nil
                return move(
                    to: reduce == nil ? .armed : .reducing, .reset, "reset by \(resetBy.source): \(resetBy.reason)", resetBy.source, at: now
                )
            }
            guard let clearSince = memory.clearSince else {
                memory.clearSince = now
                if state == .cooldown { return nil }
                let reason =
                    policy.manualResetRequired
                    ? "conditions cleared; an operator's reset arms trading"
                    : "conditions cleared; arming after \(policy.cooldownSeconds) s unless one returns"
                return move(to: .cooldown, .cooldownStarted, reason, Self.source, at: now)
            }
            guard !policy.manualResetRequired, now.timeIntervalSince(clearSince) >= TimeInterval(policy.cooldownSeconds) else {
                return nil
            }
            memory.clearSince = nil
            if let reduce { return move(to: .reducing, reduce.trigger, reduce.reason, reduce.source, at: now) }
            return move(
                to: .armed, .cooldownElapsed, "conditions stayed clear for the \(policy.cooldownSeconds) s cooldown", Self.source, at: now)
        }
        if let reduce {
            return state == .reducing ? nil : move(to: .reducing, reduce.trigger, reduce.reason, reduce.source, at: now)
        }
        guard state == .reducing else { return nil }
        if let resetBy { return move(to: .armed, .reset, "reset by \(resetBy.source): \(resetBy.reason)", resetBy.source, at: now) }
        return move(to: .armed, .conditionsCleared, "reduce conditions cleared", Self.source, at: now)
    }

    private mutating func move(to next: ESSState, _ cause: ESSTrigger, _ why: String, _ by: String, at now: Date) -> ESSTransition {
        let transition = ESSTransition(from: state, to: next, trigger: cause, reason: why, source: by, at: now)
        state = next
        since = now
        reason = why
        source = by
        trigger = cause
        return transition
    }
}

/// `0.1` as `10%`, `0.12345` as `12.35%`.
func percent(_ fraction: Decimal) -> String {
    var value = fraction * 100
    var rounded = Decimal()
    NSDecimalRound(&rounded, &value, 2, .plain)
    return ExactDecimal.text(rounded) + "%"
}
