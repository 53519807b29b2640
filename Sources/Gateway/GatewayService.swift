// Gateway: the API gateway (8000). The dashboard's one source: a snapshot of every section
// (positions, PnL, equity, trades, orders, ESS, health mesh, alerts, AI) cached from the services
// that own them and kept current by events; a WebSocket that fans the bus's events out to
// clients, batched, rate-limited and coalesced per key, with resume after a reconnect; and the
// operators' actions relayed to their owners with the control token, each audited as an event.
//
// Pure cores: `ClientOutbox` (what one client is owed, and when) and `LatestValues` (what a
// resuming client missed); the shell: `FanoutHub`, `ClientConnection`, `SnapshotRefresher`.

import EventBus
import Foundation
import HealthFormat
import Hummingbird
import NIOCore
import ServiceKit
import Synchronization
import VaktConfig

/// The gateway service.
public struct GatewayService: VaktService {
    public let kind = ServiceKind.gateway

    /// It keeps a copy of the policy (its `/health` shows the copy's age) but adds no exposure
    /// itself: the actions it relays are the owners' to check.
    public var keepsPolicyCopy: Bool { true }

    public init() {}

    public func makeParts(context: ServiceContext) async throws -> ServiceParts {
        let configuration = context.configuration
        let settings = configuration.gateway
        let readToken = context.secrets.secret(named: settings.readTokenSecret)
        let controlToken = context.secrets.secret(named: configuration.ess.controlTokenSecret)
        let readers = ControlAuthenticator(
            tokens: [readToken, controlToken].compactMap { $0 }, failuresPerMinute: 60, logger: context.logger)
        let controllers = ControlAuthenticator(token: controlToken, failuresPerMinute: 20, logger: context.logger)
        if readToken == nil {
            context.logger.warning(
                "no read token: the snapshot and the WebSocket take only the control token",
                metadata: ["secret": "\(SecretStore.variable(for: settings.readTokenSecret))"])
        }
        let hub = FanoutHub(
            limits: .init(
                batchWindow: settings.batchWindow, maxMessagesPerSecond: settings.maxMessagesPerSecond, capacity: settings.clientQueue),
            resumeKeys: settings.resumeKeys, maxClients: settings.maxClients, framesPerSecond: settings.maxFramesPerSecond)
        let cache = SnapshotCache(sections: SnapshotSource.all.map(\.section))
        let baseURL: @Sendable (ServiceKind) -> String = { configuration.baseURL(of: $0) }
        let refresher = SnapshotRefresher(
            sources: SnapshotSource.all, cache: cache,
            baseURL: { baseURL($0.service) }, httpClient: context.httpClient, interval: settings.refreshInterval,
            minimumSpacing: settings.refreshSpacing, timeout: settings.refreshTimeout, logger: context.logger)
        let relay = ControlRelay(
            baseURL: baseURL, httpClient: context.httpClient, events: context.events, maxBodyBytes: 16 << 10, logger: context.logger)
        let connection = ClientConnection(
            hub: hub, access: readers, stallTimeout: settings.stallTimeout, helloTimeout: settings.helloTimeout, logger: context.logger)
        let lastEvent = Mutex<ContinuousClock.Instant?>(nil)
        let consumer = context.subscribe(to: EventType.allCases, group: settings.consumerGroup) { envelope in
            hub.publish(envelope)
            refresher.eventArrived(envelope.type)
            lastEvent.withLock { $0 = .now }
        }
        return ServiceParts(
            addRoutes: { router in
                // Reads carry a bearer token, never a cookie, so any origin may ask: a page
                // elsewhere cannot read without the token.
                router.middlewares.add(CORSMiddleware(allowOrigin: .all, allowMethods: [.get, .post, .options]))
                let reads = router.group().add(middleware: ControlTokenMiddleware<BasicRequestContext>(readers))
                reads.get("/api/snapshot") { _, _ -> Response in
                    Response(
                        status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                        body: .init(byteBuffer: cache.render(at: Date(), epoch: hub.epoch, sequence: hub.sequence)))
                }
                reads.get("/api/gateway") { _, _ -> Response in
                    JSONResponse.make(
                        .ok,
                        .object([
                            "epoch": .string(hub.epoch), "sequence": .number(Double(hub.sequence)),
                            "clients": .number(Double(hub.clientCount)),
                            "sectionAgesSeconds": .object(cache.ages(at: Date()).mapValues { .number($0) }),
                        ]))
                }
                relay.addRoutes(to: router.controlRoutes(controllers))
            },
            healthChecks: [
                BusAgeCheck(lastEvent: { lastEvent.withLock { $0 } }, limit: settings.busAgeLimit),
                SnapshotAgeCheck(cache: cache, limit: settings.refreshInterval * 5),
            ],
            backgroundServices: [consumer, refresher, UntilShutdown { await hub.runDistribution(every: settings.batchWindow / 2) }],
            webSocket: { request in
                guard request.path?.split(separator: "?").first == "/ws" else { return .dontUpgrade }
                return .upgrade([:]) { inbound, outbound, _ in try await connection.serve(inbound, outbound) }
            })
    }
}

/// How long ago the last event arrived from the bus: in a running system market data ticks every
/// second, so silence means the bus or the gateway's consumer is stuck.
struct BusAgeCheck: HealthCheck {
    let lastEvent: @Sendable () -> ContinuousClock.Instant?
    let limit: Duration
    let key = "eventBus:lastEvent"
    let componentType = "component"

    func measure() async throws -> HealthMeasurement {
        guard let last = lastEvent() else { return HealthMeasurement(status: .warn, output: "no event received yet") }
        let age = ContinuousClock.now - last
        let seconds = age.seconds
        guard age <= limit else {
            return HealthMeasurement(status: .warn, value: seconds, unit: "s", output: "no event for \(Int(seconds)) s")
        }
        return HealthMeasurement(value: seconds, unit: "s")
    }
}

/// The oldest snapshot section: a section not read for several refresh intervals means its
/// service does not answer, and the dashboard shows old data (with its age).
struct SnapshotAgeCheck: HealthCheck {
    let cache: SnapshotCache
    let limit: Duration
    let key = "snapshot:age"
    let componentType = "component"

    func measure() async throws -> HealthMeasurement {
        let ages = cache.ages(at: Date())
        var stale: [String] = []
        var oldest = 0.0
        for name in cache.names {
            guard let age = ages[name] else {
                stale.append("\(name) (never read: \(cache.section(name)?.error ?? "not yet"))")
                continue
            }
            oldest = max(oldest, age)
            if age > limit.seconds { stale.append("\(name) (\(Int(age)) s: \(cache.section(name)?.error ?? ""))") }
        }
        guard stale.isEmpty else {
            return HealthMeasurement(status: .warn, value: oldest, unit: "s", output: "stale: " + stale.joined(separator: "; "))
        }
        return HealthMeasurement(value: oldest, unit: "s")
    }
}
