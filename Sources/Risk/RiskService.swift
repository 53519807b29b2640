// Risk: Risk & Safety (8003): the Emergency Stop System and the PolicyStore authority. It
// evaluates the ESS on every portfolio snapshot, order rejection, stop-loss fill and market
// tick (plus a periodic tick), persists every transition in PostgreSQL before announcing it,
// and is the only writer of the risk policy.

import EmergencyStop
import EventBus
import Foundation
import Logging
import PolicyStore
import ServiceKit
import ServiceLifecycle
import Synchronization
import VaktConfig

/// The risk service.
public struct RiskService: VaktService {
    public let kind = ServiceKind.risk
    let clock: @Sendable () -> Date

    public init(clock: @escaping @Sendable () -> Date = { Date() }) {
        self.clock = clock
    }

    public var migrations: [Migration] { ESSStore.migrations }
    /// The policy's authority keeps the copy it announces, as every reader does.
    public var keepsPolicyCopy: Bool { true }

    /// The start-up phase: loads the policy and the persisted ESS state (the schema is already
    /// migrated), then serves and ticks the ESS every evaluation interval until shutdown.
    public func makeParts(context: ServiceContext) async throws -> ServiceParts {
        guard let events = context.events, let replica = context.policy, let redis = context.redis, let postgres = context.postgres else {
            throw StartupError(description: "the risk service needs Redis and PostgreSQL")
        }
        let configuration = context.configuration
        let tokenSecret = configuration.ess.controlTokenSecret
        let token = context.secrets.secret(named: tokenSecret)
        if token == nil {
            context.logger.warning(
                "no control token configured; ESS trip/reset and policy changes are refused",
                metadata: ["secret": "\(SecretStore.variable(for: tokenSecret))"])
        }
        let authority = try await PolicyAuthority.start(
            redis: redis, snapshotPath: configuration.policy.snapshotPath, events: events, replica: replica, clock: clock,
            logger: context.logger)
        let engine = try await ESSEngine.start(
            store: ESSStore(client: postgres, logger: context.logger), policy: await authority.current, redis: redis, events: events,
            clock: clock, logger: context.logger)
        let api = RiskAPI(
            engine: engine, authority: authority,
            authenticator: ControlAuthenticator(
                token: token, failuresPerMinute: configuration.http.authFailuresPerMinute, logger: context.logger),
            recentTransitions: configuration.ess.recentTransitions, maxBodyBytes: configuration.http.maxBodyBytes, logger: context.logger)
        let inputs = context.subscribe(to: ESSEventInputs.types, role: "ess") { event in
            guard let input = try ESSEventInputs.input(for: event) else { return }
            // PostgreSQL down: the input waits (in order) until its transition can be recorded;
            // everyone reads the ESS as tripped meanwhile, since its status goes unconfirmed.
            _ = try await PostgresOutage.surfaced { try await engine.handle(input) }
        }
        // The ESS ticks on its own too, so that time-based conditions (a feed going stale, a
        // cooldown ending) are seen without an event.
        let lastTick = Mutex(Date())
        let ticker = PeriodicService(every: configuration.ess.evaluationInterval) {
            await engine.tick(policy: replica.current?.document)
            lastTick.withLock { $0 = Date() }
        }
        return ServiceParts(
            addRoutes: { api.addRoutes(to: $0) },
            backgroundServices: [ticker, inputs],
            readiness: {
                let status = await engine.status
                return "risk: ESS \(status.state.rawValue) since \(status.since): \(status.reason)"
            },
            isMakingProgress: { lastTick.withLock { Date().timeIntervalSince($0) } < 30 }
        )
    }

    struct StartupError: Error, CustomStringConvertible {
        var description: String
    }
}
