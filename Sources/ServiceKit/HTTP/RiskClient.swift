import EmergencyStop
import EventBus
import Foundation

/// The risk service's ESS API, typed: what the supervisor's safety driver, `vakt ess` and the
/// tests ask of it. An answer of an unexpected shape is an error naming the field.
public struct RiskClient: Sendable {
    public let control: ControlClient

    public init(_ control: ControlClient) {
        self.control = control
    }

    /// `GET /api/ess`.
    public struct Report: Sendable {
        public var status: ESSStatus
        /// What the evaluator last saw (equity, drawdown, feed ages…), as the service reports it.
        public var inputs: [String: JSONValue]
        public var recent: [ESSTransition]
        public var cooldownRemainingSeconds: Int?
        /// The whole answer, for `--json`.
        public var json: JSONValue
    }

    /// What a trip, reduce or reset did.
    public enum Outcome: Sendable, Equatable {
        case transitioned(ESSTransition, now: ESSStatus)
        case unchanged(ESSStatus)

        public var status: ESSStatus {
            switch self {
            case .transitioned(_, let now): now
            case .unchanged(let status): status
            }
        }
    }

    public enum Change: String, Sendable, CaseIterable {
        case trip, reduce, reset
    }

    public func ess() async throws -> Report {
        let json = try Self.decode(try await control.get("/api/ess"))
        let fields = try Self.object(json, "GET /api/ess")
        guard let status = fields["status"] else { throw PayloadError(problems: ["GET /api/ess: status: missing"]) }
        var recent: [ESSTransition] = []
        if case .array(let entries)? = fields["recent"] {
            recent = try entries.map { entry throws(PayloadError) in try ESSTransition(json: entry) }
        }
        var inputs: [String: JSONValue] = [:]
        if case .object(let values)? = fields["inputs"] { inputs = values }
        var cooldown: Int?
        if case .number(let seconds)? = fields["cooldownRemainingSeconds"] { cooldown = Int(seconds) }
        return Report(status: try ESSStatus(json: status), inputs: inputs, recent: recent, cooldownRemainingSeconds: cooldown, json: json)
    }

    /// `POST /api/ess/{trip|reduce|reset}` with the control token; a refusal (409, 401) throws
    /// the service's message.
    public func change(_ change: Change, reason: String, source: String) async throws -> Outcome {
        let json = try Self.decode(
            try await control.send(
                .POST, "/api/ess/\(change.rawValue)", body: .object(["reason": .string(reason), "source": .string(source)])))
        let name = "POST /api/ess/\(change.rawValue)"
        let fields = try Self.object(json, name)
        guard let statusJSON = fields["status"] else { throw PayloadError(problems: ["\(name): status: missing"]) }
        let status = try ESSStatus(json: statusJSON)
        switch fields["outcome"] {
        case .string("transitioned")?:
            guard let transition = fields["transition"] else { throw PayloadError(problems: ["\(name): transition: missing"]) }
            return .transitioned(try ESSTransition(json: transition), now: status)
        case .string("unchanged")?:
            return .unchanged(status)
        default:
            throw PayloadError(problems: ["\(name): outcome: expected \"transitioned\" or \"unchanged\""])
        }
    }

    private static func object(_ json: JSONValue, _ name: String) throws(PayloadError) -> [String: JSONValue] {
        guard case .object(let fields) = json else { throw PayloadError(problems: ["\(name): expected a JSON object"]) }
        return fields
    }

    private static func decode(_ data: Data) throws -> JSONValue {
        do {
            return try JSONValue(parsing: data)
        } catch {
            throw PayloadError(problems: [
                "the risk service's answer is not JSON (\(error)): \(String(decoding: data.prefix(200), as: UTF8.self))"
            ])
        }
    }
}
