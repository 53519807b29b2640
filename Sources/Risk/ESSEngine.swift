import EmergencyStop
import EventBus
import Foundation
import Logging
import Metrics
import PolicyStore
import RedisClient

/// Runs the ESS machine for the risk service: every input is applied to a copy of the machine,
/// a transition is persisted in PostgreSQL before the copy replaces the machine, then published
/// as `ess.state_changed` and mirrored in Redis. If persisting fails, nothing changed and the
/// input's event is redelivered; and while PostgreSQL cannot be reached, the status is no longer
/// confirmed in Redis, so every reader turns to `tripped` once it is older than its limit.
actor ESSEngine {
    private var machine: ESSMachine
    private let store: ESSStore
    private let redis: RedisConnection
    private let events: EventPublisher
    private let clock: @Sendable () -> Date
    private let logger: Logger
    private var unpublished: [ESSTransition] = []
    private var publishing = false
    private var policyVersion: Int
    private var storeReachable = true
    private var lastEvaluation: Date

    private init(
        machine: ESSMachine, policyVersion: Int, store: ESSStore, redis: RedisConnection, events: EventPublisher,
        clock: @escaping @Sendable () -> Date, logger: Logger
    ) {
        self.machine = machine
        self.policyVersion = policyVersion
        self.store = store
        self.redis = redis
        self.events = events
        self.clock = clock
        self.logger = logger
        lastEvaluation = clock()
    }

    /// Resumes the persisted state, or starts armed and records that.
    static func start(
        store: ESSStore, policy: PolicyDocument, redis: RedisConnection, events: EventPublisher, clock: @escaping @Sendable () -> Date,
        logger: Logger
    ) async throws -> ESSEngine {
        let now = clock()
        let machine: ESSMachine
        if let (last, memory) = try await store.load() {
            machine = ESSMachine(resuming: last, memory: memory, policy: policy.policy.ess, symbols: policy.policy.allowedSymbols, now: now)
            logger.notice(
                "ESS resumed", metadata: ["state": "\(last.to.rawValue)", "since": "\(last.at)", "reason": "\(last.reason)"])
        } else {
            machine = ESSMachine(policy: policy.policy.ess, symbols: policy.policy.allowedSymbols, now: now)
            let first = ESSTransition(
                from: .armed, to: .armed, trigger: .conditionsCleared, reason: machine.reason, source: ESSMachine.source, at: now)
            try await store.record(first, memory: machine.memory)
            logger.notice("ESS started armed; no earlier state")
        }
        let engine = ESSEngine(
            machine: machine, policyVersion: policy.version, store: store, redis: redis, events: events, clock: clock, logger: logger)
        FloatingPointCounter(label: "vakt_ess_tripped_seconds_total").increment(by: 0.0)
        await engine.confirm()
        await engine.recordMetrics()
        return engine
    }

    var status: ESSStatus { machine.status(confirmedAt: clock()) }

    /// The evaluator inputs, as `GET /api/ess` and the metrics show them.
    var inputs: JSONValue {
        let now = clock()
        var fields: [String: JSONValue] = [
            "executionErrors": .number(Double(machine.executionErrors(at: now))),
            "errorWindowSeconds": .number(Double(machine.policy.errorWindowSeconds)),
        ]
        if let drawdown = machine.drawdown { fields["drawdown"] = .decimal(drawdown) }
        if let peak = machine.memory.peakEquity { fields["peakEquity"] = .decimal(peak) }
        if let equity = machine.memory.equity { fields["equity"] = .decimal(equity) }
        if let dailyPnl = machine.memory.dailyPnl { fields["dailyPnl"] = .decimal(dailyPnl) }
        if let (symbol, age) = machine.feedAge(at: now) {
            fields["stalestFeed"] = .object(["symbol": .string(symbol), "ageSeconds": .number(age.rounded())])
        }
        return .object(fields)
    }

    /// Applies one input. Throws only when the change could not be persisted; the machine is
    /// then as it was.
    @discardableResult
    func handle(_ input: ESSInput) async throws -> ESSOutcome {
        let now = clock()
        var next = machine
        let outcome = next.apply(input, at: now)
        if case .transitioned(let transition) = outcome {
            try await store.record(transition, memory: next.memory)
            machine = next
            logger.notice(
                "ESS transition",
                metadata: [
                    "from": "\(transition.from.rawValue)", "to": "\(transition.to.rawValue)", "trigger": "\(transition.trigger.rawValue)",
                    "reason": "\(transition.reason)", "source": "\(transition.source)",
                ])
            Counter(
                label: "vakt_ess_transitions_total", dimensions: [("to", transition.to.rawValue), ("trigger", transition.trigger.rawValue)]
            )
            .increment()
            unpublished.append(transition)
            await publishPending()
            await confirm()
        } else {
            if next.memory != machine.memory { try await store.save(memory: next.memory) }
            machine = next
        }
        return outcome
    }

    /// The periodic tick: takes a new policy version, re-evaluates, checks PostgreSQL and
    /// confirms the status in Redis only while PostgreSQL answers.
    func tick(policy: PolicyDocument?) async {
        let now = clock()
        if machine.state == .tripped {
            // Fractions add up: ticks may be far shorter than a second.
            FloatingPointCounter(label: "vakt_ess_tripped_seconds_total").increment(by: max(0, now.timeIntervalSince(lastEvaluation)))
        }
        lastEvaluation = now
        do {
            if let policy { try await adopt(policy) }
            try await handle(.evaluate)
            try await store.ping()
            if !storeReachable { logger.notice("PostgreSQL reachable again; confirming the ESS status") }
            storeReachable = true
            await confirm()
        } catch {
            if storeReachable {
                logger.error(
                    "cannot persist ESS state; no longer confirming the status, so readers will treat it as tripped",
                    metadata: ["error": "\(error)"])
            }
            storeReachable = false
        }
        await publishPending()
        recordMetrics()
    }

    /// Takes a policy version the machine does not run under yet.
    func adopt(_ policy: PolicyDocument) async throws {
        guard policy.version != policyVersion else { return }
        try await handle(.policy(policy.policy.ess, symbols: policy.policy.allowedSymbols))
        policyVersion = policy.version
    }

    func recent(_ limit: Int) async throws -> [ESSTransition] {
        try await store.recent(limit)
    }

    /// Mirrors the status in Redis, confirmed now.
    private func confirm() async {
        let status = machine.status(confirmedAt: clock())
        do {
            let reply = try await redis.pipeline(bytes: [
                [Array("SET".utf8), Array(ESSClient.mirrorKey.utf8), Array(status.json.encoded())]
            ])
            if case .error(let message) = reply.first { throw RedisError.server(message) }
        } catch {
            logger.warning("cannot mirror the ESS status in Redis", metadata: ["error": "\(error)"])
        }
    }

    /// Publishes transitions in order, once each. Calls overlap (a tick while an event is
    /// handled): only one drains the queue, the others leave their transitions to it.
    private func publishPending() async {
        guard !publishing else { return }
        publishing = true
        defer { publishing = false }
        while let transition = unpublished.first {
            let change = ESSStateChanged(transition: transition, status: machine.status(confirmedAt: clock()))
            do {
                try await events.publish(EventEnvelope(change, source: "risk"))
                unpublished.removeFirst()
            } catch {
                logger.error("cannot publish ess.state_changed; retrying on the next tick", metadata: ["error": "\(error)"])
                return
            }
        }
    }

    private func recordMetrics() {
        let now = clock()
        for state in ESSState.allCases {
            Gauge(label: "vakt_ess_state", dimensions: [("state", state.rawValue)]).record(machine.state == state ? 1 : 0)
        }
        if let drawdown = machine.drawdown {
            Gauge(label: "vakt_ess_drawdown_ratio").record(NSDecimalNumber(decimal: drawdown).doubleValue)
        }
        if let dailyPnl = machine.memory.dailyPnl {
            Gauge(label: "vakt_ess_daily_pnl").record(NSDecimalNumber(decimal: dailyPnl).doubleValue)
        }
        Gauge(label: "vakt_ess_execution_errors").record(machine.executionErrors(at: now))
        if let (_, age) = machine.feedAge(at: now) { Gauge(label: "vakt_ess_feed_age_seconds").record(age) }
    }
}
