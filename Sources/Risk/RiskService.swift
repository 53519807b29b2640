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

    public func makeParts(context: ServiceContext) async throws -> ServiceParts {
        guard let events = context.events, let replica = context.policy, context.postgres != nil else {
            throw StartupError(description: "the risk service needs Redis and PostgreSQL")
        }
        let configuration = context.configuration
        let gate = StartupGate<RiskComponents>()
        let tokenSecret = configuration.ess.controlTokenSecret
        let token = context.secrets.secret(named: tokenSecret)
        if token == nil {
            context.logger.warning(
                "no control token configured; ESS trip/reset and policy changes are refused",
                metadata: ["secret": "\(SecretStore.variable(for: tokenSecret))"])
        }
        let api = RiskAPI(
            components: gate,
            authenticator: ControlAuthenticator(
                token: token, failuresPerMinute: configuration.http.authFailuresPerMinute, logger: context.logger),
            recentTransitions: configuration.ess.recentTransitions, maxBodyBytes: configuration.http.maxBodyBytes, logger: context.logger)
        let inputs = context.subscribe(to: ESSEventInputs.types, role: "ess") { event in
            guard let input = try ESSEventInputs.input(for: event) else { return }
            try await gate.wait().engine.handle(input)
        }
        let runner = RiskRunner(context: context, events: events, replica: replica, gate: gate, clock: clock)
        return ServiceParts(
            addRoutes: { api.addRoutes(to: $0) },
            backgroundServices: [runner, inputs],
            readiness: {
                let status = await gate.wait().engine.status
                return "risk: ESS \(status.state.rawValue) since \(status.since): \(status.reason)"
            },
            isMakingProgress: { runner.lastTick.withLock { Date().timeIntervalSince($0) } < 30 }
        )
    }

    struct StartupError: Error, CustomStringConvertible {
        var description: String
    }
}

/// What the API and the event handlers need once start-up is done.
struct RiskComponents: Sendable {
    let engine: ESSEngine
    let authority: PolicyAuthority
}

/// Loads the policy and the persisted ESS state once PostgreSQL's pool runs, then ticks the
/// ESS every evaluation interval until shutdown.
final class RiskRunner: ServiceLifecycle.Service, Sendable {
    let context: ServiceContext
    let events: EventPublisher
    let replica: PolicyReplica
    let gate: StartupGate<RiskComponents>
    let clock: @Sendable () -> Date
    let lastTick = Mutex(Date())

    init(
        context: ServiceContext, events: EventPublisher, replica: PolicyReplica, gate: StartupGate<RiskComponents>,
        clock: @escaping @Sendable () -> Date
    ) {
        self.context = context
        self.events = events
        self.replica = replica
        self.gate = gate
        self.clock = clock
    }

    func run() async throws {
        guard let redis = context.redis, let postgres = context.postgres else { return }
        let configuration = context.configuration
        let authority = try await PolicyAuthority.start(
            redis: redis, snapshotPath: configuration.policy.snapshotPath, events: events, replica: replica, clock: clock,
            logger: context.logger)
        let engine = try await ESSEngine.start(
            store: ESSStore(client: postgres, logger: context.logger), policy: await authority.current, redis: redis, events: events,
            clock: clock, logger: context.logger)
        gate.open(RiskComponents(engine: engine, authority: authority))
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await engine.tick(policy: self.replica.current?.document)
                self.lastTick.withLock { $0 = Date() }
                try? await Task.sleep(for: configuration.ess.evaluationInterval)
            }
        }
    }
}
