// EmergencyStop: the Emergency Stop System's state machine (``ESSMachine``), the records it
// keeps, and the fail-safe client (``ESSClient``) other services read it through. The risk
// service runs the machine; nothing else may change its state.

import EventBus
import Foundation

/// What trading may do.
public enum ESSState: String, Sendable, CaseIterable, Codable {
    /// Trading allowed.
    case armed
    /// Only orders that reduce exposure.
    case reducing
    /// No new orders; cancels allowed.
    case tripped
    /// Conditions cleared; waiting out the cooldown before arming.
    case cooldown

    public var allowsNewExposure: Bool { self == .armed }
    public var allowsReducingOrders: Bool { self == .armed || self == .reducing }
}

/// What caused a transition.
public enum ESSTrigger: String, Sendable, CaseIterable, Codable {
    case drawdown
    case dailyLoss = "daily_loss"
    case executionErrors = "execution_errors"
    case feedStale = "feed_stale"
    case manual
    case supervisor
    case reduceDrawdown = "reduce_drawdown"
    case manualReduce = "manual_reduce"
    case cooldownStarted = "cooldown_started"
    case cooldownElapsed = "cooldown_elapsed"
    case conditionsCleared = "conditions_cleared"
    case reset
    /// A reader that cannot confirm the state treats it as tripped (see ``ESSClient``).
    case stateUnknown = "state_unknown"
}

/// One change of state, as persisted, published and shown.
public struct ESSTransition: Sendable, Equatable {
    public var from: ESSState
    public var to: ESSState
    public var trigger: ESSTrigger
    public var reason: String
    public var source: String
    public var at: Date

    public init(from: ESSState, to: ESSState, trigger: ESSTrigger, reason: String, source: String, at: Date) {
        self.from = from
        self.to = to
        self.trigger = trigger
        self.reason = reason
        self.source = source
        self.at = at
    }

    public var json: JSONValue {
        .object([
            "from": .string(from.rawValue), "to": .string(to.rawValue), "trigger": .string(trigger.rawValue),
            "reason": .string(reason), "source": .string(source), "at": .string(EventEnvelope.timestamp(at)),
        ])
    }

    public init(json value: JSONValue) throws(PayloadError) {
        let reader = try PayloadReader(value, name: "transition")
        let from = reader.string("from").flatMap { ESSState(rawValue: $0) }
        let to = reader.string("to").flatMap { ESSState(rawValue: $0) }
        let trigger = reader.string("trigger").flatMap { ESSTrigger(rawValue: $0) }
        let reason = reader.string("reason", maxLength: 2000)
        let source = reader.string("source", maxLength: 200)
        let at = reader.date("at")
        try reader.finish()
        guard let from, let to, let trigger, let reason, let source, let at else {
            throw PayloadError(problems: ["transition: unknown state or trigger"])
        }
        self.init(from: from, to: to, trigger: trigger, reason: reason, source: source, at: at)
    }
}

/// The ESS as a reader sees it: the state, since when and why, and when the cooldown ends.
/// Published as the payload of `ess.state_changed` and mirrored in Redis.
public struct ESSStatus: Sendable, Equatable {
    public var state: ESSState
    public var since: Date
    public var reason: String
    public var source: String
    public var trigger: ESSTrigger
    /// When the cooldown will arm trading if conditions stay clear (nil outside cooldown, and
    /// in cooldown when an operator's reset is required).
    public var cooldownEndsAt: Date?
    /// When the risk service last confirmed this status; readers treat an old one as tripped.
    public var confirmedAt: Date

    public init(
        state: ESSState, since: Date, reason: String, source: String, trigger: ESSTrigger, cooldownEndsAt: Date?, confirmedAt: Date
    ) {
        self.state = state
        self.since = since
        self.reason = reason
        self.source = source
        self.trigger = trigger
        self.cooldownEndsAt = cooldownEndsAt
        self.confirmedAt = confirmedAt
    }

    public var json: JSONValue {
        var fields: [String: JSONValue] = [
            "state": .string(state.rawValue), "since": .string(EventEnvelope.timestamp(since)), "reason": .string(reason),
            "source": .string(source), "trigger": .string(trigger.rawValue), "confirmedAt": .string(EventEnvelope.timestamp(confirmedAt)),
        ]
        if let cooldownEndsAt { fields["cooldownEndsAt"] = .string(EventEnvelope.timestamp(cooldownEndsAt)) }
        return .object(fields)
    }

    public init(json value: JSONValue) throws(PayloadError) {
        let reader = try PayloadReader(value, name: "ess status")
        let state = reader.string("state").flatMap { name in
            let state = ESSState(rawValue: name)
            if state == nil { reader.report("state", "unknown state \"\(name)\"") }
            return state
        }
        let since = reader.date("since")
        let reason = reader.string("reason", maxLength: 2000)
        let source = reader.string("source", maxLength: 200)
        let trigger = reader.string("trigger").flatMap { name in
            let trigger = ESSTrigger(rawValue: name)
            if trigger == nil { reader.report("trigger", "unknown trigger \"\(name)\"") }
            return trigger
        }
        let cooldownEndsAt = reader.optionalDate("cooldownEndsAt")
        let confirmedAt = reader.date("confirmedAt")
        try reader.finish(allowing: true)
        guard let state, let since, let reason, let source, let trigger, let confirmedAt else {
            throw PayloadError(problems: ["ess status: invalid"])
        }
        self.init(
            state: state, since: since, reason: reason, source: source, trigger: trigger, cooldownEndsAt: cooldownEndsAt,
            confirmedAt: confirmedAt)
    }
}
