// Dashboard: the operators' web UI (3000), plain HTML, CSS and JavaScript (ES modules) with no
// build step, no CDN and no external fonts. The page draws from the gateway (its snapshot and
// WebSocket); this service serves the files, tells the page where the gateway is, and relays each
// service's `/health` so the page still shows what is up while the gateway is away.

import AsyncHTTPClient
import Foundation
import HealthFormat
import Hummingbird
import NIOCore
import ServiceKit
import VaktConfig

/// Serves the static UI, the gateway's port, and each service's `/health` for degraded mode.
public struct DashboardService: VaktService {
    public let kind = ServiceKind.dashboard

    public init() {}

    public func makeParts(context: ServiceContext) async throws -> ServiceParts {
        guard let publicFolder = Bundle.module.url(forResource: "Public", withExtension: nil)?.path else {
            throw DashboardError.missingAssets
        }
        let configuration = context.configuration
        let services = ServiceKind.allCases.filter { configuration.service($0).enabled || $0 == .supervisor }
        return ServiceParts(
            addRoutes: { router in
                router.middlewares.add(FileMiddleware(publicFolder, searchForIndexHtml: true, logger: context.logger))
                // Where the page finds the gateway (on the host it was loaded from).
                router.get("/api/config") { _, _ -> Response in
                    try Self.json(["gatewayPort": configuration.service(.gateway).port ?? ServiceKind.gateway.defaultPort])
                }
                router.get("/api/services") { _, _ -> Response in
                    let entries = services.map { kind in
                        ServiceEntry(
                            name: kind.rawValue, port: configuration.service(kind).port ?? kind.defaultPort,
                            criticalForTrading: configuration.service(kind).critical)
                    }
                    return try Self.json(entries)
                }
                router.get("/api/health/{service}") { _, requestContext -> Response in
                    let name = try requestContext.parameters.require("service")
                    guard let kind = ServiceKind(rawValue: name), services.contains(kind) else {
                        throw HTTPError(.notFound, message: "unknown service \"\(name)\"")
                    }
                    return await Self.relayHealth(of: kind, context: context)
                }
            },
            healthChecks: [GatewayReachableCheck(context: context)]
        )
    }

    struct ServiceEntry: Encodable {
        var name: String
        var port: Int
        var criticalForTrading: Bool
    }

    enum DashboardError: Error, CustomStringConvertible {
        case missingAssets
        var description: String { "the dashboard's Public folder is missing from the build" }
    }

    static func json(_ value: some Encodable) throws -> Response {
        let data = try JSONEncoder().encode(value)
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(data: data)))
    }

    /// Fetches a service's `/health`; an unreachable or invalid answer becomes a `fail` report
    /// that says why, so the page always has something true to show.
    static func relayHealth(of kind: ServiceKind, context: ServiceContext) async -> Response {
        let configuration = context.configuration
        let url = "http://\(configuration.http.host):\(configuration.service(kind).port ?? kind.defaultPort)/health"
        let report: HealthReport
        do {
            let response = try await context.httpClient.execute(
                HTTPClientRequest(url: url), timeout: .milliseconds(configuration.health.checkTimeout.milliseconds))
            let body = try await response.body.collect(upTo: HealthReport.maximumBodyBytes)
            report = try HealthReport.parse(Array(buffer: body))
        } catch {
            report = HealthReport(
                status: .fail, serviceId: kind.rawValue, output: "GET \(url): \(error)",
                checks: [:])
        }
        return Response(
            status: .ok, headers: [.contentType: HealthReport.mediaType, .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(data: report.encoded())))
    }
}

/// The dashboard draws its data from the gateway; without it the page still loads but is
/// degraded, so an unreachable gateway is a warning, not a failure.
struct GatewayReachableCheck: HealthCheck {
    let context: ServiceContext
    let key = "gateway:responseTime"
    let componentType = "component"

    func measure() async throws -> HealthMeasurement {
        let configuration = context.configuration
        let url = "http://\(configuration.http.host):\(configuration.service(.gateway).port ?? ServiceKind.gateway.defaultPort)/health"
        let started = ContinuousClock.now
        do {
            let response = try await context.httpClient.execute(HTTPClientRequest(url: url), timeout: .seconds(5))
            _ = try await response.body.collect(upTo: HealthReport.maximumBodyBytes)
            return HealthMeasurement(value: (ContinuousClock.now - started).fractionalMilliseconds, unit: "ms")
        } catch {
            return HealthMeasurement(status: .warn, output: "gateway unreachable at \(url): \(error)")
        }
    }
}
