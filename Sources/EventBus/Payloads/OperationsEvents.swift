import Foundation
import HealthFormat

/// `health.changed`: a node of the supervisor's health mesh changed its effective status.
public struct HealthChanged: EventPayload {
    public static let eventType = EventType.healthChanged
    public var node: String
    /// None the first time the node is seen.
    public var from: HealthStatus?
    public var to: HealthStatus
    /// The dependency whose failure this is, when it is not the node's own.
    public var rootCause: String?
    public var output: String

    public init(node: String, from: HealthStatus?, to: HealthStatus, rootCause: String?, output: String) {
        self.node = node
        self.from = from
        self.to = to
        self.rootCause = rootCause
        self.output = output
    }

    public init?(reading reader: PayloadReader) {
        let node = reader.string("node", maxLength: 128)
        let from: HealthStatus? = reader.optionalChoice("from")
        let to: HealthStatus? = reader.choice("to")
        let rootCause = reader.optionalString("rootCause", maxLength: 128)
        let output = reader.optionalString("output", maxLength: 4096) ?? ""
        guard let node, let to else { return nil }
        self.init(node: node, from: from, to: to, rootCause: rootCause, output: output)
    }

    public var json: JSONValue {
        .fields([
            "node": .string(node), "from": from.map { .string($0.rawValue) }, "to": .string(to.rawValue),
            "rootCause": rootCause.map(JSONValue.string), "output": output.isEmpty ? nil : .string(output),
        ])
    }

    public static let example = HealthChanged(
        node: "execution", from: .pass, to: .fail, rootCause: "redis", output: "redis: connection refused")
}

/// What `alert.fired` and `alert.resolved` carry: one alert, as Alertmanager would show it.
public struct AlertNotice: Sendable, Equatable {
    public var fingerprint: String
    public var labels: [String: String]
    public var annotations: [String: String]
    public var startsAt: Date
    /// Set when resolved.
    public var endsAt: Date?

    public init(fingerprint: String, labels: [String: String], annotations: [String: String], startsAt: Date, endsAt: Date? = nil) {
        self.fingerprint = fingerprint
        self.labels = labels
        self.annotations = annotations
        self.startsAt = startsAt
        self.endsAt = endsAt
    }

    init?(reading reader: PayloadReader) {
        let fingerprint = reader.string("fingerprint", maxLength: 128)
        let labels = reader.stringMap("labels")
        let annotations = reader.stringMap("annotations")
        let startsAt = reader.date("startsAt")
        let endsAt = reader.optionalDate("endsAt")
        guard let fingerprint, let labels, let annotations, let startsAt else { return nil }
        self.init(fingerprint: fingerprint, labels: labels, annotations: annotations, startsAt: startsAt, endsAt: endsAt)
    }

    var json: JSONValue {
        .fields([
            "fingerprint": .string(fingerprint), "labels": .object(labels.mapValues(JSONValue.string)),
            "annotations": .object(annotations.mapValues(JSONValue.string)), "startsAt": .time(startsAt),
            "endsAt": endsAt.map(JSONValue.time),
        ])
    }

    static let example = AlertNotice(
        fingerprint: "5f1c0b0e7a3d9c21", labels: ["alertname": "ServiceDown", "service": "execution", "severity": "critical"],
        annotations: ["summary": "execution is down"], startsAt: Date(timeIntervalSince1970: 1_796_000_000),
        endsAt: Date(timeIntervalSince1970: 1_796_000_300))
}

/// `alert.fired`: an alert started firing.
public struct AlertFired: EventPayload {
    public static let eventType = EventType.alertFired
    public var alert: AlertNotice
    public init(_ alert: AlertNotice) { self.alert = alert }
    public init?(reading reader: PayloadReader) { guard let alert = AlertNotice(reading: reader) else { return nil }; self.alert = alert }
    public var json: JSONValue { alert.json }
    public static let example = AlertFired(AlertNotice.example)
}

/// `alert.resolved`: a firing alert stopped; `endsAt` says when.
public struct AlertResolved: EventPayload {
    public static let eventType = EventType.alertResolved
    public var alert: AlertNotice
    public init(_ alert: AlertNotice) { self.alert = alert }
    public init?(reading reader: PayloadReader) { guard let alert = AlertNotice(reading: reader) else { return nil }; self.alert = alert }
    public var json: JSONValue { alert.json }
    public static let example = AlertResolved(AlertNotice.example)
}

/// `ess.trip_requested`: a safety rule of the supervisor fired and asked the risk service for a
/// trip.
public struct ESSTripRequested: EventPayload {
    public static let eventType = EventType.essTripRequested
    public var rule: String
    public var condition: String
    public var reason: String
    public var since: Date
    /// `supervisor/<rule>`.
    public var source: String

    public init(rule: String, condition: String, reason: String, since: Date, source: String) {
        self.rule = rule
        self.condition = condition
        self.reason = reason
        self.since = since
        self.source = source
    }

    public init?(reading reader: PayloadReader) {
        let rule = reader.string("rule", maxLength: 128)
        let condition = reader.string("condition", maxLength: 1000)
        let reason = reader.string("reason", maxLength: 4096)
        let since = reader.date("since")
        let source = reader.string("source", maxLength: 256)
        guard let rule, let condition, let reason, let since, let source else { return nil }
        self.init(rule: rule, condition: condition, reason: reason, since: since, source: source)
    }

    public var json: JSONValue {
        .object([
            "rule": .string(rule), "condition": .string(condition), "reason": .string(reason), "since": .time(since),
            "source": .string(source),
        ])
    }

    public static let example = ESSTripRequested(
        rule: "execution_down", condition: "execution failing for 10s", reason: "execution: connection refused",
        since: Date(timeIntervalSince1970: 1_796_000_000), source: "supervisor/execution_down")
}

/// `control.action`: an operator's action through the gateway (an ESS trip or reset, pausing a
/// symbol, closing a position), whatever came of it: the audit trail of who steered what.
public struct ControlActionTaken: EventPayload {
    public static let eventType = EventType.controlAction
    /// `ess.trip`, `symbol.pause`, …
    public var action: String
    /// The service that owns the action and answered it.
    public var service: String
    /// What was acted on: `ess`, or a symbol.
    public var target: String
    public var reason: String
    /// The owning service's HTTP status, or 502 when it could not be reached.
    public var status: Int
    /// Its answer, or why it could not be reached.
    public var outcome: String
    /// Who asked, as far as the gateway can tell (the client's address and user agent).
    public var requester: String

    public init(action: String, service: String, target: String, reason: String, status: Int, outcome: String, requester: String) {
        self.action = action
        self.service = service
        self.target = target
        self.reason = reason
        self.status = status
        self.outcome = outcome
        self.requester = requester
    }

    public init?(reading reader: PayloadReader) {
        let action = reader.string("action", maxLength: 64)
        let service = reader.string("service", maxLength: 64)
        let target = reader.string("target", maxLength: 64)
        let reason = reader.string("reason", maxLength: 1000)
        let status = reader.int("status")
        let outcome = reader.optionalString("outcome", maxLength: 4096) ?? ""
        let requester = reader.string("requester", maxLength: 512)
        guard let action, let service, let target, let reason, let status, let requester else { return nil }
        self.init(action: action, service: service, target: target, reason: reason, status: status, outcome: outcome, requester: requester)
    }

    public var json: JSONValue {
        .fields([
            "action": .string(action), "service": .string(service), "target": .string(target), "reason": .string(reason),
            "status": .number(Double(status)), "outcome": .string(outcome), "requester": .string(requester),
        ])
    }

    public static let example = ControlActionTaken(
        action: "ess.trip", service: "risk", target: "ess", reason: "volatility spike, halting by hand", status: 200,
        outcome: "transitioned", requester: "127.0.0.1 (Mozilla/5.0)")
}
