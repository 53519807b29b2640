import VaktConfig

/// Why a child's run ended, as the supervisor classifies it.
public enum ExitReason: Sendable, Equatable, CustomStringConvertible {
    /// It exited or was killed by a signal on its own.
    case exited(ExitStatus)
    /// It missed its watchdog deadline or asked for `WATCHDOG=trigger`, and was killed.
    case watchdog(ExitStatus)
    /// It did not become ready within its start timeout, and was killed.
    case startTimeout(ExitStatus)
    /// Its `/health` failed `restart_after_failed_probes` probes in a row, and it was stopped.
    case liveness(ExitStatus)
    /// An operator or the supervisor's shutdown stopped it.
    case stopped(ExitStatus)

    public var status: ExitStatus {
        switch self {
        case .exited(let status), .watchdog(let status), .startTimeout(let status), .liveness(let status), .stopped(let status): status
        }
    }

    /// The metric label.
    public var label: String {
        switch self {
        case .exited(.exited): "exit"
        case .exited(.signaled): "signal"
        case .watchdog: "watchdog"
        case .startTimeout: "start_timeout"
        case .liveness: "liveness"
        case .stopped: "stopped"
        }
    }

    public var description: String {
        switch self {
        case .exited(let status): status.description
        case .watchdog(let status): "missed its watchdog deadline; \(status)"
        case .startTimeout(let status): "not ready within its start timeout; \(status)"
        case .liveness(let status): "its health probe failed too many times in a row; \(status)"
        case .stopped(let status): "stopped on request; \(status)"
        }
    }
}

/// Decides what follows a child's exit: restart after a backoff, stay down, or give up.
///
/// Pure: time comes in as the monotonic offset `now`, randomness as `jitterSample` in -1...1,
/// so every decision can be checked exactly.
public struct RestartTracker: Sendable {
    public enum Decision: Sendable, Equatable {
        case restart(after: Duration)
        /// The policy does not restart after this kind of exit.
        case stayDown
        /// More restarts within the intensity period than allowed: the child is `failed`.
        case giveUp(reason: String)
    }

    public let policy: ServiceSettings.RestartPolicy
    public let backoff: ServiceSettings.Backoff
    public let intensity: ServiceSettings.Intensity
    public let stableAfter: Duration
    public private(set) var consecutiveFailures = 0
    public private(set) var restartTimes: [Duration] = []

    public init(settings: ServiceSettings) {
        policy = settings.restart
        backoff = settings.backoff
        intensity = settings.intensity
        stableAfter = settings.stableAfter
    }

    public mutating func decide(after reason: ExitReason, ranFor: Duration, now: Duration, jitterSample: Double) -> Decision {
        if case .stopped = reason { return .stayDown }
        let clean = reason == .exited(.exited(code: 0))
        switch policy {
        case .never: return .stayDown
        case .onFailure where clean: return .stayDown
        default: break
        }
        if ranFor >= stableAfter { consecutiveFailures = 0 }
        restartTimes.removeAll { now - $0 >= intensity.period }
        if restartTimes.count >= intensity.maxRestarts {
            return .giveUp(
                reason:
                    "\(restartTimes.count) restarts within \(intensity.period.milliseconds)ms (limit \(intensity.maxRestarts)); last: \(reason)"
            )
        }
        restartTimes.append(now)
        consecutiveFailures += 1
        let base = backoff.delay(attempt: consecutiveFailures)
        let factor = 1 + backoff.jitter * max(-1, min(1, jitterSample))
        return .restart(after: base * factor)
    }

    /// An operator's start after `failed` begins afresh.
    public mutating func reset() {
        consecutiveFailures = 0
        restartTimes = []
    }
}
