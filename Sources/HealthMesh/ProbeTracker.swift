// HealthMesh: the supervisor's view of the system's health. Probe results become per-target
// statuses under Kubernetes-style thresholds (``ProbeTracker``); statuses become a dependency
// graph with effective statuses, root causes and single points of failure (``MeshGraph``);
// the graph drives the emergency-stop rules (``SafetyEvaluator``). Everything here is pure:
// time comes in as an argument, so the rules are exact under test.

import Foundation
import HealthFormat
import VaktConfig

/// Why one probe failed, as the `reason` label of `vakt_probe_failures_total`.
public enum ProbeFailureReason: String, Sendable, Codable, CaseIterable {
    /// No answer (or no whole body) before the probe timeout.
    case timeout
    /// Connection refused, reset or closed before an answer.
    case connection
    /// A redirect; probes do not follow them, so a redirect loop costs one request.
    case redirect
    /// An HTTP status other than 200 or 503.
    case httpStatus = "http_status"
    case bodyTooLarge = "body_too_large"
    /// Not JSON, or JSON that is not a health report.
    case malformed
    /// A well-formed report whose status is `fail`.
    case reportedFail = "reported_fail"
    /// A datastore's own check (PING, SELECT 1) failed.
    case check
}

/// One probe's answer.
public enum ProbeResult: Sendable, Equatable {
    /// `warn` when the target says it is degraded.
    case success(HealthStatus, latency: Duration, output: String?)
    case failure(ProbeFailureReason, latency: Duration, detail: String)
}

/// One target's probe state under its thresholds: `failureThreshold` consecutive failures turn
/// it failing, `successThreshold` consecutive successes turn it passing again, and failures
/// inside the start grace after a (re)start are not counted.
public struct ProbeTracker: Sendable {
    public let settings: ProbeSettings
    /// nil until the first verdict: still in its start grace, or never answered.
    public private(set) var status: HealthStatus?
    public private(set) var consecutiveFailures = 0
    public private(set) var consecutiveSuccesses = 0
    public private(set) var lastResult: ProbeResult?
    public private(set) var lastProbeAt: Date?
    public private(set) var lastError: String?
    public private(set) var lastTransition: MeshTransition?
    private var graceEndsAt: Date

    public init(settings: ProbeSettings, startedAt: Date) {
        self.settings = settings
        graceEndsAt = startedAt + settings.startGrace.seconds
    }

    /// The target (re)started: its old verdict no longer says anything.
    public mutating func restarted(at now: Date) {
        graceEndsAt = now + settings.startGrace.seconds
        consecutiveFailures = 0
        consecutiveSuccesses = 0
        set(nil, at: now, because: "restarted")
    }

    /// Whether the target has failed `limit` probes in a row outside its start grace, so that it
    /// must be restarted (a liveness probe). Answers true once: the count starts again and a new
    /// start grace begins, so the restart is not asked for again while it is under way.
    public mutating func claimLivenessRestart(limit: Int, at now: Date) -> Bool {
        guard now >= graceEndsAt, consecutiveFailures >= limit else { return false }
        consecutiveFailures = 0
        graceEndsAt = now + settings.startGrace.seconds
        return true
    }

    /// Records one result; returns the transition it caused, if any.
    @discardableResult
    public mutating func record(_ result: ProbeResult, at now: Date) -> MeshTransition? {
        lastResult = result
        lastProbeAt = now
        switch result {
        case .success(let reported, _, let output):
            consecutiveSuccesses += 1
            consecutiveFailures = 0
            // A target that never failed passes at its first answer; one that failed must prove itself.
            let needed = status == .fail ? settings.successThreshold : 1
            if consecutiveSuccesses >= needed {
                return set(reported, at: now, because: output ?? "probe succeeded")
            }
        case .failure(let reason, _, let detail):
            consecutiveFailures += 1
            consecutiveSuccesses = 0
            lastError = "\(reason.rawValue): \(detail)"
            if now >= graceEndsAt && consecutiveFailures >= settings.failureThreshold {
                return set(.fail, at: now, because: lastError!)
            }
        }
        return nil
    }

    @discardableResult
    private mutating func set(_ newStatus: HealthStatus?, at now: Date, because reason: String) -> MeshTransition? {
        guard newStatus != status else { return nil }
        let transition = MeshTransition(from: status, to: newStatus, at: now, reason: reason)
        status = newStatus
        lastTransition = transition
        return transition
    }
}

/// A change of one status, kept for `/api/mesh` and the log.
public struct MeshTransition: Sendable, Equatable, Codable {
    public var from: HealthStatus?
    public var to: HealthStatus?
    public var at: Date
    public var reason: String

    public init(from: HealthStatus?, to: HealthStatus?, at: Date, reason: String) {
        self.from = from
        self.to = to
        self.at = at
        self.reason = reason
    }
}
