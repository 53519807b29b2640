import AsyncHTTPClient
import Foundation
import HealthFormat
import HealthMesh
import NIOCore
import NIOHTTP1
import NIOPosix
import PostgresNIO
import RedisClient
import ServiceKit
import Synchronization
import VaktConfig

/// How one target is asked whether it is healthy.
enum ProbeMethod: Sendable {
    /// `GET` a `/health` that answers in the health+json format.
    case healthEndpoint(HTTPProbeTarget)
    /// `GET` Binance's `/api/v3/ping`, which answers 200 `{}`.
    case exchangePing(HTTPProbeTarget)
    /// A datastore's own health check, as every service runs it (`RedisPingCheck`,
    /// `PostgresPingCheck`).
    case dependencyCheck(any HealthCheck)
}

/// Where a probe's `GET` goes: a plain `http://` target over a connection of its own, anything
/// else (`https://`) through AsyncHTTPClient, where TLS is the work (docs/decisions.md).
enum HTTPProbeTarget: Sendable {
    case plain(ProbeConnection)
    case viaHTTPClient(HTTPClientRequest)
}

/// Runs one probe and says precisely what went wrong. Nothing a target answers can disturb the
/// supervisor: bodies are read only up to the cap, redirects are not followed, and every probe
/// ends by its timeout.
final class Prober: Sendable {
    /// For `https://` targets, on the probes' event loop: redirects are refused (a redirect loop
    /// costs one request), and connections are kept alive between probes.
    private let httpClient: HTTPClient
    /// Where the probe tasks run and their connections live.
    let executor: EventLoopExecutor
    private let connections = Mutex<[ProbeConnection]>([])

    init() {
        let eventLoop = MultiThreadedEventLoopGroup.singleton.next()
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(2)))
        configuration.connectionPool = .init(idleTimeout: .seconds(60))
        configuration.decompression = .disabled
        httpClient = HTTPClient(eventLoopGroupProvider: .shared(eventLoop), configuration: configuration)
        executor = EventLoopExecutor(eventLoop: eventLoop)
    }

    /// The target for `GET url`, built once per target.
    func httpTarget(_ url: String) -> HTTPProbeTarget {
        let accept = "\(HealthReport.mediaType), application/json"
        if let connection = ProbeConnection(url: url, accept: accept, eventLoop: executor.eventLoop) {
            connections.withLock { $0.append(connection) }
            return .plain(connection)
        }
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Accept", value: accept)
        return .viaHTTPClient(request)
    }

    /// Closes every probe connection.
    func shutdown() async {
        for connection in connections.withLock({ $0 }) { connection.close() }
        try? await httpClient.shutdown()
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
            if let failure = Self.redirectOrStatus(status, body: body, allowed: [200, 503], latency: latency) { return failure }
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
            if let failure = Self.redirectOrStatus(status, body: body, allowed: [200], latency: latency) { return failure }
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

    private func get(_ target: HTTPProbeTarget, settings: ProbeSettings) async throws -> (HTTPResponseStatus, ByteBuffer) {
        switch target {
        case .plain(let connection):
            let response = try await connection.get(timeout: settings.timeout, maxBodyBytes: settings.maxBodyBytes)
            return (response.status, response.body)
        case .viaHTTPClient(let request):
            return try await getViaHTTPClient(request, settings: settings)
        }
    }

    /// The same over TLS, with the same limits: the redirect not read, the body read up to its cap.
    private func getViaHTTPClient(_ request: HTTPClientRequest, settings: ProbeSettings) async throws -> (HTTPResponseStatus, ByteBuffer) {
        let response = try await httpClient.execute(request, timeout: .milliseconds(settings.timeout.milliseconds))
        if (300..<400).contains(response.status.code) {
            // Not read: the answer is the redirect itself.
            return (response.status, ByteBuffer(string: response.headers.first(name: "location") ?? ""))
        }
        if let length = response.headers.first(name: "content-length").flatMap(Int.init), length > settings.maxBodyBytes {
            throw ProbeConnection.BodyTooLarge(limit: settings.maxBodyBytes, announced: length)
        }
        do {
            return (response.status, try await response.body.collect(upTo: settings.maxBodyBytes))
        } catch is NIOTooManyBytesError {
            throw ProbeConnection.BodyTooLarge(limit: settings.maxBodyBytes, announced: nil)
        }
    }

    /// - Parameter body: for a redirect, the `Location` it names.
    private static func redirectOrStatus(
        _ status: HTTPResponseStatus, body: ByteBuffer, allowed: Set<UInt>, latency: Duration
    ) -> ProbeResult? {
        if (300..<400).contains(status.code) {
            let location = String(buffer: body)
            return .failure(
                .redirect, latency: latency,
                detail: "HTTP \(status.code) redirect" + (location.isEmpty ? "" : " to \(location)") + "; probes do not follow redirects")
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
        case is ProbeConnection.BodyTooLarge: return .bodyTooLarge
        case is RedisError, is PSQLError: return .check
        case is HTTPParserError: return .malformed
        case is ProbeConnection.Timeout, ChannelError.connectTimeout: return .timeout
        case let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout:
            return .timeout
        default: return .connection
        }
    }

    static func describe(_ error: any Error, timeout: Duration) -> String {
        switch error {
        case is ProbeConnection.Timeout, ChannelError.connectTimeout: "no answer within \(timeout.milliseconds) ms"
        case let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout:
            "no answer within \(timeout.milliseconds) ms"
        case let error as HTTPParserError: "not an HTTP answer: \(error)"
        case let error as NIOConnectionError:
            "cannot connect to \(error.host):\(error.port)" + (error.connectionErrors.first.map { ": \($0.error)" } ?? "")
        case is PSQLError: PostgresErrorText.describe(error)
        default: "\(error)"
        }
    }
}
