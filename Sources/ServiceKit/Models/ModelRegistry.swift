import Forecasting
import Foundation
import Logging
import PostgresNIO

/// The model registry in PostgreSQL (`model_registry`): every model set trained, with its
/// symbol and interval, training window, features, evaluation, what triggered it, its lineage
/// (the live model it was measured against) and the models themselves (JSON). A model is
/// registered in one statement once training is done, so a killed training run leaves nothing
/// behind; promotion and rollback each change the live model in one statement.
public struct ModelRegistry: Sendable {
    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// The table, owned by the rl-training service's migrations.
    public static let migrations = [
        Migration(
            version: 1, name: "model registry",
            statements: [
                """
                CREATE TABLE model_registry (
                    version text PRIMARY KEY, symbol text NOT NULL, interval text NOT NULL,
                    status text NOT NULL CHECK (status IN ('candidate', 'live', 'retired', 'rejected', 'rolled_back')),
                    trained_at timestamptz NOT NULL, window_from bigint NOT NULL, window_to bigint NOT NULL,
                    features text NOT NULL, evaluation text NOT NULL, trigger text NOT NULL, parent text,
                    models text NOT NULL, changed_at timestamptz NOT NULL DEFAULT now())
                """,
                "CREATE UNIQUE INDEX model_registry_one_live ON model_registry (symbol, interval) WHERE status = 'live'",
            ])
    ]

    public enum Status: String, Sendable, Codable {
        case candidate, live, retired, rejected
        case rolledBack = "rolled_back"
    }

    public struct Entry: Sendable {
        public var version: String
        public var symbol: String
        public var interval: String
        public var status: Status
        public var trainedAt: Date
        public var window: ClosedRange<Int64>
        public var evaluation: String
        public var trigger: String
        public var parent: String?
    }

    /// Registers a trained candidate.
    public func register(
        version: String, symbol: String, interval: String, trainedAt: Date, window: ClosedRange<Int64>, evaluation: String,
        trigger: String, parent: String?, models: ModelSet
    ) async throws {
        let json = String(decoding: try JSONEncoder().encode(models), as: UTF8.self)
        try await client.query(
            """
            INSERT INTO model_registry (version, symbol, interval, status, trained_at, window_from, window_to, features, evaluation,
                                        trigger, parent, models)
            VALUES (\(version), \(symbol), \(interval), 'candidate', \(trainedAt), \(window.lowerBound), \(window.upperBound),
                    \(FeatureExtractor.names.joined(separator: ",")), \(evaluation), \(trigger), \(parent), \(json))
            """, logger: logger)
    }

    /// Makes `version` the live model of its symbol and interval, retiring the one before; the
    /// one before, if any.
    public func promote(_ version: String) async throws -> String? {
        let rows = try await client.query(
            """
            WITH target AS (SELECT symbol, interval FROM model_registry WHERE version = \(version) AND status = 'candidate'),
            retired AS (
                UPDATE model_registry SET status = 'retired', changed_at = now()
                WHERE status = 'live' AND (symbol, interval) IN (SELECT symbol, interval FROM target) RETURNING version),
            promoted AS (
                UPDATE model_registry SET status = 'live', changed_at = now() WHERE version = \(version) AND status = 'candidate'
                RETURNING version)
            SELECT (SELECT version FROM retired), (SELECT count(*) FROM promoted)
            """, logger: logger)
        for try await (previous, promoted) in rows.decode((String?, Int).self) {
            guard promoted == 1 else { throw RegistryError.notACandidate(version) }
            return previous
        }
        throw RegistryError.notACandidate(version)
    }

    public func reject(_ version: String) async throws {
        try await client.query(
            "UPDATE model_registry SET status = 'rejected', changed_at = now() WHERE version = \(version) AND status = 'candidate'",
            logger: logger)
    }

    /// Puts back the live model's parent (the model it replaced); the live one is marked
    /// rolled back. Answers (restored, rolled back).
    public func rollback(symbol: String, interval: String) async throws -> (restored: String, rolledBack: String) {
        let rows = try await client.query(
            """
            WITH current AS (
                SELECT version, parent FROM model_registry WHERE symbol = \(symbol) AND interval = \(interval) AND status = 'live'),
            demoted AS (
                UPDATE model_registry SET status = 'rolled_back', changed_at = now()
                WHERE version = (SELECT version FROM current)
                  AND EXISTS (SELECT 1 FROM model_registry WHERE version = (SELECT parent FROM current))
                RETURNING version),
            restored AS (
                UPDATE model_registry SET status = 'live', changed_at = now()
                WHERE version = (SELECT parent FROM current) AND EXISTS (SELECT 1 FROM demoted) RETURNING version)
            SELECT (SELECT version FROM restored), (SELECT version FROM demoted)
            """, logger: logger)
        for try await (restored, demoted) in rows.decode((String?, String?).self) {
            guard let restored, let demoted else { throw RegistryError.nothingToRollBackTo(symbol: symbol, interval: interval) }
            return (restored, demoted)
        }
        throw RegistryError.nothingToRollBackTo(symbol: symbol, interval: interval)
    }

    /// The live model of a symbol and interval, if any.
    public func live(symbol: String, interval: String) async throws -> (entry: Entry, models: ModelSet)? {
        try await entries("WHERE symbol = $1 AND interval = $2 AND status = 'live'", [symbol, interval]).first
    }

    /// One model by version.
    public func model(_ version: String) async throws -> (entry: Entry, models: ModelSet)? {
        try await entries("WHERE version = $1", [version]).first
    }

    /// A symbol's models, newest first.
    public func history(symbol: String, limit: Int = 50) async throws -> [Entry] {
        try await entries("WHERE symbol = $1 ORDER BY trained_at DESC, version DESC LIMIT \(max(limit, 1))", [symbol]).map(\.entry)
    }

    private func entries(_ condition: String, _ binds: [String]) async throws -> [(entry: Entry, models: ModelSet)] {
        var bindings = PostgresBindings()
        for bind in binds { bindings.append(bind) }
        let query = PostgresQuery(
            unsafeSQL: """
                SELECT version, symbol, interval, status, trained_at, window_from, window_to, evaluation, trigger, parent, models
                FROM model_registry \(condition)
                """, binds: bindings)
        var result: [(Entry, ModelSet)] = []
        for try await row in try await client.query(query, logger: logger).decode(
            (String, String, String, String, Date, Int64, Int64, String, String, String?, String).self)
        {
            let (version, symbol, interval, status, trainedAt, from, to, evaluation, trigger, parent, models) = row
            guard let status = Status(rawValue: status) else { throw RegistryError.corrupt(version, "unknown status \(status)") }
            let decoded: ModelSet
            do {
                decoded = try JSONDecoder().decode(ModelSet.self, from: Data(models.utf8))
            } catch {
                throw RegistryError.corrupt(version, "models do not decode: \(error)")
            }
            result.append(
                (
                    Entry(
                        version: version, symbol: symbol, interval: interval, status: status, trainedAt: trainedAt,
                        window: from...max(from, to), evaluation: evaluation, trigger: trigger, parent: parent), decoded
                ))
        }
        return result
    }

    /// Where the AI engine loads a promoted model from (`model.promoted`'s `location`).
    public static func location(of version: String) -> String { "postgres:model_registry/\(version)" }

    /// The version a `location` names, if it is one of this registry's.
    public static func version(at location: String) -> String? {
        location.hasPrefix("postgres:model_registry/") ? String(location.dropFirst("postgres:model_registry/".count)) : nil
    }
}

public enum RegistryError: Error, CustomStringConvertible, Equatable {
    case notACandidate(String)
    case nothingToRollBackTo(symbol: String, interval: String)
    case corrupt(String, String)

    public var description: String {
        switch self {
        case .notACandidate(let version): "model \(version) is not a registered candidate"
        case .nothingToRollBackTo(let symbol, let interval):
            "\(symbol) \(interval) has no live model with a previous one to roll back to"
        case .corrupt(let version, let reason): "model_registry row \(version): \(reason)"
        }
    }
}
