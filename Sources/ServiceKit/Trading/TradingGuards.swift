import EmergencyStop
import EventBus
import Foundation
import Logging
import PolicyStore
import RedisClient
import ServiceLifecycle
import VaktConfig

/// What a trading service (execution, the AI engine, the gateway) asks before it adds
/// exposure: its copy of the risk policy and its fail-safe reader of the ESS, kept current by
/// the runtime (the policy refreshed and followed on `policy.updated`, the ESS read from the
/// risk service's mirror and followed on `ess.state_changed`), with their health checks. A
/// service asks for them with ``VaktService/usesTradingGuards``; others carry neither.
public final class TradingGuards: Sendable {
    public let policy: PolicyReplica
    public let ess: ESSClient

    init(policy: PolicyReplica, ess: ESSClient) {
        self.policy = policy
        self.ess = ess
    }

    /// May `question`'s order go out now? See ``ExposureRules``.
    public func check(_ question: ExposureQuestion) -> ExposureVerdict {
        ExposureRules.decide(question, ess: ess.current, policy: policy.current?.document.policy)
    }

    var healthChecks: [any HealthCheck] { [ESSStatusCheck(client: ess)] }

    /// The ESS mirror read (three times per `ess.state_max_age`, by ``ESSClient/run()``), and
    /// `ess.state_changed` followed.
    func services(context: ServiceContext) -> [any ServiceLifecycle.Service] {
        let ess = self.ess
        return [
            UntilShutdown { await ess.run() },
            context.subscribe(to: [.essStateChanged], role: "ess") { try ess.handle($0) },
        ]
    }
}

/// `ess:status` in a trading service's `/health`: `warn` while the ESS it reads is not armed or
/// not confirmed (trading is stopped, which is the ESS's job, not a fault of this service).
struct ESSStatusCheck: HealthCheck {
    let client: ESSClient
    let key = "ess:status"
    let componentType = "component"

    func measure() async throws -> HealthMeasurement {
        let status = client.current
        let text = "\(status.state.rawValue): \(status.reason)"
        return status.state == .armed ? HealthMeasurement(output: text) : HealthMeasurement(status: .warn, output: text)
    }
}
