import EmergencyStop
import EventBus
import Foundation
import Logging
import PostgresNIO
import ServiceKit

/// The ESS's durable record in PostgreSQL: the current state (one row, with what the machine
/// remembers) and an append-only log of transitions. A transition is written here, in one
/// transaction with the current state, before anyone hears of it.
struct ESSStore: Sendable {
    let client: PostgresClient
    let logger: Logger

    /// The ESS's schema. Version 1 is what the service created before it had migrations, so a
    /// database from then is taken over as it is.
    static let migrations = [
        Migration(
            version: 1, name: "ESS state and transition log",
            statements: [
                """
                CREATE TABLE IF NOT EXISTS ess_state (
                    id smallint PRIMARY KEY CHECK (id = 1),
                    state text NOT NULL, since timestamptz NOT NULL, trigger text NOT NULL,
                    reason text NOT NULL, source text NOT NULL, memory text NOT NULL,
                    updated_at timestamptz NOT NULL)
                """,
                """
                CREATE TABLE IF NOT EXISTS ess_transitions (
                    id bigserial PRIMARY KEY, at timestamptz NOT NULL,
                    from_state text NOT NULL, to_state text NOT NULL, trigger text NOT NULL,
                    reason text NOT NULL, source text NOT NULL)
                """,
            ])
    ]

    /// The persisted state, if any: the transition that led to it and the machine's memory.
    func load() async throws -> (last: ESSTransition, memory: ESSMachine.Memory)? {
        let rows = try await client.query(
            "SELECT state, since, trigger, reason, source, memory FROM ess_state WHERE id = 1", logger: logger)
        for try await (state, since, trigger, reason, source, memoryText) in rows.decode(
            (String, Date, String, String, String, String).self)
        {
            guard let state = ESSState(rawValue: state), let trigger = ESSTrigger(rawValue: trigger) else {
                throw StoreError.corrupt("ess_state names an unknown state \"\(state)\" or trigger \"\(trigger)\"")
            }
            let memory = try ESSMachine.Memory(json: JSONValue(parsing: memoryText.utf8))
            return (ESSTransition(from: state, to: state, trigger: trigger, reason: reason, source: source, at: since), memory)
        }
        return nil
    }

    /// Writes a transition and the state it leads to, atomically (one statement), and returns
    /// once they are committed: in a transaction of its own, because a lone statement's answer
    /// comes before its commit (see `docs/decisions.md`).
    func record(_ transition: ESSTransition, memory: ESSMachine.Memory) async throws {
        let memoryText = String(decoding: memory.json.encoded(), as: UTF8.self)
        try await client.withTransaction(logger: logger) { connection in
            _ = try await connection.query(
                """
                WITH logged AS (
                    INSERT INTO ess_transitions (at, from_state, to_state, trigger, reason, source)
                    VALUES (\(transition.at), \(transition.from.rawValue), \(transition.to.rawValue), \(transition.trigger.rawValue),
                            \(transition.reason), \(transition.source)))
                INSERT INTO ess_state (id, state, since, trigger, reason, source, memory, updated_at)
                VALUES (1, \(transition.to.rawValue), \(transition.at), \(transition.trigger.rawValue), \(transition.reason),
                        \(transition.source), \(memoryText), now())
                ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, since = EXCLUDED.since, trigger = EXCLUDED.trigger,
                    reason = EXCLUDED.reason, source = EXCLUDED.source, memory = EXCLUDED.memory, updated_at = now()
                """, logger: logger)
        }
    }

    /// Saves what the machine remembers when it changed without a transition (a new peak),
    /// committed before it returns: a peak answered but lost would measure the drawdown from a
    /// lower one after a failover.
    func save(memory: ESSMachine.Memory) async throws {
        let memoryText = String(decoding: memory.json.encoded(), as: UTF8.self)
        try await client.withTransaction(logger: logger) { connection in
            _ = try await connection.query("UPDATE ess_state SET memory = \(memoryText), updated_at = now() WHERE id = 1", logger: logger)
        }
    }

    func recent(_ limit: Int) async throws -> [ESSTransition] {
        let rows = try await client.query(
            "SELECT at, from_state, to_state, trigger, reason, source FROM ess_transitions ORDER BY id DESC LIMIT \(limit)", logger: logger)
        var transitions: [ESSTransition] = []
        for try await (at, from, to, trigger, reason, source) in rows.decode((Date, String, String, String, String, String).self) {
            guard let from = ESSState(rawValue: from), let to = ESSState(rawValue: to), let trigger = ESSTrigger(rawValue: trigger) else {
                continue
            }
            transitions.append(ESSTransition(from: from, to: to, trigger: trigger, reason: reason, source: source, at: at))
        }
        return transitions
    }

    func ping() async throws {
        try await client.query("SELECT 1", logger: logger)
    }

    enum StoreError: Error, CustomStringConvertible {
        case corrupt(String)
        var description: String {
            switch self {
            case .corrupt(let reason): reason
            }
        }
    }
}
