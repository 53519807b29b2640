import AsyncHTTPClient
import Foundation
import HealthMesh
import NIOCore
import NIOHTTP1
import NIOPosix
import PostgresNIO
import RedisClient
import ServiceKit
import VaktConfig

/// How one target is asked whether it is healthy.
enum ProbeMethod: Sendable {
    /// `GET` a `/health` that answers in the health+json format (the request of ``Prober/request(_:)``).
    case healthEndpoint(HTTPClientRequest)
    /// `GET` Binance's `/api/v3/ping`, which answers 200 `{}`.
    case exchangePing(HTTPClientRequest)
    /// A datastore's own health check, as every service runs it (`RedisPingCheck`,
    /// `PostgresPingCheck`).
    case dependencyCheck(any HealthCheck)
}

/// Runs one probe and says precisely what went wrong. Nothing a target answers can disturb the
/// supervisor: bodies are read only up to the cap, redirects are not followed, and every probe
/// ends by its timeout.
struct Prober: Sendable {
    /// A client of the probes' own, on one event loop: redirects are refused (a redirect loop
    /// costs one request), and connections are kept alive between probes.
    let httpClient: HTTPClient
    /// Where the probe tasks run: the client's event loop.
    let executor: EventLoopExecutor

    init() {
        let eventLoop = MultiThreadedEventLoopGroup.singleton.next()
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(2)))
        configuration.connectionPool = .init(idleTimeout: .seconds(60))
        configuration.decompression = .disabled
        httpClient = HTTPClient(eventLoopGroupProvider: .shared(eventLoop), configuration: configuration)
        executor = EventLoopExecutor(eventLoop: eventLoop)
    }

    /// Waits for a probe's next turn without leaving the probes' event loop.
    func sleep(until deadline: ContinuousClock.Instant) async {
        await executor.sleep(until: deadline)
    }

    func probe(_ method: ProbeMethod, settings: ProbeSettings) async -> ProbeResult {
        let started = ContinuousClock.now
        do {
            switch method {
            case .healthEndpoint, .exchangePing:
                // The HTTP client's deadline bounds the whole exchange, body included; a task
                // group racing a timer would cost more than the request itself.
                return try await run(method, settings: settings, started: started)
            case .dependencyCheck:
                return try await withTimeout(settings.timeout) {
                    try await self.run(method, settings: settings, started: started)
                }
            }
        } catch let error as TimeoutError {
            return .failure(.timeout, latency: ContinuousClock.now - started, detail: error.description)
        } catch {
            return .failure(
                Self.reason(for: error), latency: ContinuousClock.now - started, detail: Self.describe(error, timeout: settings.timeout))
        }
    }

    private func run(_ method: ProbeMethod, settings: ProbeSettings, started: ContinuousClock.Instant) async throws -> ProbeResult {
        switch method {
        case .healthEndpoint(let request):
            let (status, body) = try await get(request, settings: settings)
            let latency = ContinuousClock.now - started
            if let failure = Self.redirectOrStatus(status, allowed: [200, 503], latency: latency) { return failure }
            let report: HealthReport
            do {
                report = try HealthReport.parse(body.readableBytesView)
            } catch {
                return .failure(.malformed, latency: latency, detail: "\(error)")
            }
            switch report.status {
            case .fail:
                return .failure(.reportedFail, latency: latency, detail: Self.failingChecks(report))
            case .warn:
                return .success(.warn, latency: latency, output: Self.failingChecks(report))
            case .pass:
                return .success(.pass, latency: latency, output: nil)
            }
        case .exchangePing(let request):
            let (status, body) = try await get(request, settings: settings)
            let latency = ContinuousClock.now - started
            if let failure = Self.redirectOrStatus(status, allowed: [200], latency: latency) { return failure }
            guard (try? JSONSerialization.jsonObject(with: Data(buffer: body))) is [String: Any] else {
                return .failure(.malformed, latency: latency, detail: "ping answered something other than a JSON object")
            }
            return .success(.pass, latency: latency, output: nil)
        case .dependencyCheck(let check):
            let measurement = try await check.measure()
            let latency = ContinuousClock.now - started
            guard measurement.status != .fail else {
                return .failure(.check, latency: latency, detail: measurement.output ?? "\(check.key) fails")
            }
            return .success(measurement.status, latency: latency, output: measurement.output)
        }
    }

    /// A probe's request, built once per target.
    static func request(_ url: String) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Accept", value: "\(HealthReport.mediaType), application/json")
        return request
    }

    private func get(_ request: HTTPClientRequest, settings: ProbeSettings) async throws -> (HTTPResponseStatus, ByteBuffer) {
        let response = try await httpClient.execute(request, timeout: .milliseconds(settings.timeout.milliseconds))
        if (300..<400).contains(response.status.code) {
            // Not read: the answer is the redirect itself.
            return (response.status, ByteBuffer(string: response.headers.first(name: "location") ?? ""))
        }
        if let length = response.headers.first(name: "content-length").flatMap(Int.init), length > settings.maxBodyBytes {
            throw BodyTooLarge(limit: settings.maxBodyBytes, announced: length)
        }
        do {
            return (response.status, try await response.body.collect(upTo: settings.maxBodyBytes))
        } catch is NIOTooManyBytesError {
            throw BodyTooLarge(limit: settings.maxBodyBytes, announced: nil)
        }
    }

    struct BodyTooLarge: Error, CustomStringConvertible {
        var limit: Int
        var announced: Int?
        var description: String {
            "body " + (announced.map { "of \($0) bytes " } ?? "") + "exceeds the \(limit)-byte limit"
        }
    }

    private static func redirectOrStatus(_ status: HTTPResponseStatus, allowed: Set<UInt>, latency: Duration) -> ProbeResult? {
        if (300..<400).contains(status.code) {
            return .failure(.redirect, latency: latency, detail: "HTTP \(status.code) redirect; probes do not follow redirects")
        }
        guard allowed.contains(status.code) else {
            return .failure(.httpStatus, latency: latency, detail: "HTTP \(status.code) \(status.reasonPhrase)")
        }
        return nil
    }

    /// `redis:responseTime fail: connection refused; …` for the checks that do not pass.
    static func failingChecks(_ report: HealthReport) -> String {
        let problems = report.checks.keys.sorted().flatMap { key in
            (report.checks[key] ?? []).filter { $0.status != .pass }.map {
                "\(key) \($0.status.rawValue)" + ($0.output.map { ": \($0)" } ?? "")
            }
        }
        return problems.isEmpty ? "reports \(report.status.rawValue)" : problems.joined(separator: "; ")
    }

    static func reason(for error: any Error) -> ProbeFailureReason {
        switch error {
        case is BodyTooLarge: return .bodyTooLarge
        case is RedisError, is PSQLError: return .check
        case let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout:
            return .timeout
        default: return .connection
        }
    }

    static func describe(_ error: any Error, timeout: Duration) -> String {
        switch error {
        case let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout:
            "no answer within \(timeout.milliseconds) ms"
        case let error as PSQLError: String(reflecting: error.code) + (error.serverInfo?[.message].map { ": \($0)" } ?? "")
        default: "\(error)"
        }
    }
}
