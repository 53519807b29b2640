// HealthFormat: the IETF health check response format (`application/health+json`) every Vakt
// process answers `/health` with, and the supervisor's health mesh reads: the status, one
// check's result and the report. Foundation only, so that the mesh's pure rules and the alert
// pipeline can use it without the service runtime.

import Foundation

/// The health of a service in the IETF "Health Check Response Format for HTTP APIs"
/// (draft-inadarei-api-health-check), media type `application/health+json`.
public enum HealthStatus: String, Sendable, Codable, Comparable, CaseIterable {
    case pass, warn, fail

    private var severity: Int {
        switch self {
        case .pass: 0
        case .warn: 1
        case .fail: 2
        }
    }

    public static func < (lhs: HealthStatus, rhs: HealthStatus) -> Bool { lhs.severity < rhs.severity }
}

/// One measurement of one component, an entry under `checks["component:measurement"]`.
public struct HealthCheckResult: Sendable, Codable, Equatable {
    public var componentType: String?
    public var observedValue: Double?
    public var observedUnit: String?
    public var status: HealthStatus
    public var time: Date
    public var output: String?

    public init(
        status: HealthStatus, componentType: String? = nil, observedValue: Double? = nil, observedUnit: String? = nil,
        time: Date = Date(), output: String? = nil
    ) {
        self.status = status
        self.componentType = componentType
        self.observedValue = observedValue
        self.observedUnit = observedUnit
        self.time = time
        self.output = output
    }
}

/// A whole `/health` response.
public struct HealthReport: Sendable, Codable, Equatable {
    public var status: HealthStatus
    public var version: String?
    public var releaseId: String?
    public var serviceId: String?
    public var description: String?
    public var output: String?
    public var checks: [String: [HealthCheckResult]]

    public init(
        status: HealthStatus? = nil, version: String? = nil, releaseId: String? = nil, serviceId: String? = nil,
        description: String? = nil, output: String? = nil, checks: [String: [HealthCheckResult]]
    ) {
        self.status = status ?? checks.values.joined().map(\.status).max() ?? .pass
        self.version = version
        self.releaseId = releaseId
        self.serviceId = serviceId
        self.description = description
        self.output = output
        self.checks = checks
    }

    public static let mediaType = "application/health+json"

    /// HTTP 200 for pass and warn, 503 for fail, as the format prescribes.
    public var httpStatusCode: Int { status == .fail ? 503 : 200 }

    public func encoded() -> Data {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        // Encoding these plain value types cannot fail.
        return try! encoder.encode(self)
    }
}

extension HealthReport {
    /// Why a `/health` body is not a valid health report.
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public var reason: String
        public var description: String { reason }
    }

    /// The largest body accepted; a larger one is refused unread.
    public static let maximumBodyBytes = 256 * 1024

    /// Parses a body with precise reasons for each way it can be wrong.
    public static func parse(_ body: some Collection<UInt8>) throws(ParseError) -> HealthReport {
        guard body.count <= maximumBodyBytes else {
            throw ParseError(reason: "body of \(body.count) bytes exceeds the \(maximumBodyBytes)-byte limit")
        }
        guard !body.isEmpty else { throw ParseError(reason: "empty body") }
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed])
        } catch {
            throw ParseError(reason: "not JSON: \(Self.firstLine(of: body))")
        }
        guard let object = json as? [String: Any] else { throw ParseError(reason: "top level is not a JSON object") }
        guard let statusText = object["status"] as? String else { throw ParseError(reason: "missing string field \"status\"") }
        guard let status = HealthStatus(rawValue: statusText) else {
            throw ParseError(reason: "\"status\" is \"\(statusText)\", expected pass, warn or fail")
        }
        var checks: [String: [HealthCheckResult]] = [:]
        if let rawChecks = object["checks"] {
            guard let checkMap = rawChecks as? [String: Any] else { throw ParseError(reason: "\"checks\" is not an object") }
            for (key, value) in checkMap {
                guard let entries = value as? [[String: Any]] else {
                    throw ParseError(reason: "checks[\"\(key)\"] is not an array of objects")
                }
                checks[key] = try entries.enumerated().map { (index, entry) throws(ParseError) in
                    try checkResult(entry, at: "checks[\"\(key)\"][\(index)]")
                }
            }
        }
        return HealthReport(
            status: status, version: object["version"] as? String, releaseId: object["releaseId"] as? String,
            serviceId: object["serviceId"] as? String, description: object["description"] as? String,
            output: object["output"] as? String, checks: checks)
    }

    private static func checkResult(_ entry: [String: Any], at path: String) throws(ParseError) -> HealthCheckResult {
        guard let statusText = entry["status"] as? String, let status = HealthStatus(rawValue: statusText) else {
            throw ParseError(reason: "\(path).status is missing or not pass, warn or fail")
        }
        var time = Date()
        if let timeText = entry["time"] as? String {
            guard let parsed = try? Date(timeText, strategy: .iso8601) else {
                throw ParseError(reason: "\(path).time \"\(timeText)\" is not an ISO 8601 time")
            }
            time = parsed
        }
        return HealthCheckResult(
            status: status, componentType: entry["componentType"] as? String,
            observedValue: (entry["observedValue"] as? NSNumber)?.doubleValue, observedUnit: entry["observedUnit"] as? String,
            time: time, output: entry["output"] as? String)
    }

    private static func firstLine(of body: some Collection<UInt8>) -> String {
        let text = String(decoding: body.prefix(80), as: UTF8.self)
        return String(text.prefix { $0 != "\n" && $0 != "\r" })
    }
}
