import Foundation
import HealthFormat
import Synchronization
import VaktConfig

/// One real measurement that feeds `/health`, keyed `component:measurement` as the format asks.
public protocol HealthCheck: Sendable {
    var key: String { get }
    var componentType: String { get }
    /// Measures once; a thrown error is reported as `fail` with the error as `output`.
    func measure() async throws -> HealthMeasurement
}

/// What one check observed.
public struct HealthMeasurement: Sendable {
    public var status: HealthStatus
    public var value: Double?
    public var unit: String?
    public var output: String?

    public init(status: HealthStatus = .pass, value: Double? = nil, unit: String? = nil, output: String? = nil) {
        self.status = status
        self.value = value
        self.unit = unit
        self.output = output
    }
}

/// Runs every check concurrently, each bounded by a timeout, and assembles the report.
public struct HealthChecker: Sendable {
    public var checks: [any HealthCheck]
    public var timeout: Duration
    public var serviceId: String
    public var version: String

    public init(checks: [any HealthCheck], timeout: Duration, serviceId: String, version: String) {
        self.checks = checks
        self.timeout = timeout
        self.serviceId = serviceId
        self.version = version
    }

    public func report() async -> HealthReport {
        let timeout = self.timeout
        let results = await withTaskGroup(of: (String, HealthCheckResult).self) { group in
            for check in checks {
                group.addTask { (check.key, await Self.run(check, timeout: timeout)) }
            }
            var results: [String: [HealthCheckResult]] = [:]
            for await (key, result) in group { results[key, default: []].append(result) }
            return results
        }
        return HealthReport(version: version, serviceId: serviceId, checks: results)
    }

    static func run(_ check: any HealthCheck, timeout: Duration) async -> HealthCheckResult {
        let started = ContinuousClock.now
        do {
            let measurement = try await withTimeout(timeout) { try await check.measure() }
            return HealthCheckResult(
                status: measurement.status, componentType: check.componentType, observedValue: measurement.value,
                observedUnit: measurement.unit, output: measurement.output)
        } catch {
            let elapsed = (ContinuousClock.now - started).milliseconds
            return HealthCheckResult(
                status: .fail, componentType: check.componentType, observedValue: Double(elapsed), observedUnit: "ms",
                output: "\(error)")
        }
    }
}

/// The time limit of ``withTimeout(_:operation:)`` ran out.
public struct TimeoutError: Error, CustomStringConvertible {
    public var limit: Duration
    public var description: String { "no answer within \(limit.milliseconds) ms" }
}

/// Runs `operation`, cancelling it and throwing ``TimeoutError`` when it takes longer than `limit`.
///
/// The caller gets its answer at the limit even when `operation` ignores its cancellation (a
/// PostgreSQL query in flight on a connection whose server is gone but whose socket stays open
/// waits for an answer that never comes): the operation is left to end on its own, and what it
/// returns then is dropped. Its cost is bounded by what it holds: a stuck query holds one of its
/// pool's connections.
public func withTimeout<T: Sendable>(
    _ limit: Duration, operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    let outcome = TimeoutRace<T>()
    let work = Task {
        do {
            outcome.settle(with: .success(try await operation()))
        } catch {
            outcome.settle(with: .failure(error))
        }
    }
    let timer = Task {
        try await Task.sleep(for: limit)
        outcome.settle(with: .failure(TimeoutError(limit: limit)))
    }
    defer {
        work.cancel()
        timer.cancel()
    }
    return try await withTaskCancellationHandler {
        try await outcome.value()
    } onCancel: {
        outcome.settle(with: .failure(CancellationError()))
    }
}

/// The first of an operation's result, its time limit and its caller's cancellation; the later
/// ones are dropped.
private final class TimeoutRace<T: Sendable>: Sendable {
    private enum State {
        case waiting(CheckedContinuation<T, any Error>?)
        case settled(Result<T, any Error>)
    }
    private let state = Mutex(State.waiting(nil))

    func settle(with result: Result<T, any Error>) {
        let waiter: CheckedContinuation<T, any Error>? = state.withLock { state in
            guard case .waiting(let continuation) = state else { return nil }
            state = .settled(result)
            return continuation
        }
        waiter?.resume(with: result)
    }

    func value() async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let settled: Result<T, any Error>? = state.withLock { state in
                switch state {
                case .settled(let result): return result
                case .waiting:
                    state = .waiting(continuation)
                    return nil
                }
            }
            if let settled { continuation.resume(with: settled) }
        }
    }
}
