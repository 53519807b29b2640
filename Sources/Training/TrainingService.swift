// Training: RL training (8006): continuous learning, drift detection, model registry.

import ServiceKit
import VaktConfig

/// The rl-training service. Its capabilities arrive with later issues; today it runs on the shared
/// runtime: configuration, `/health` over its real dependencies, `/metrics`, sd_notify.
public struct TrainingService: VaktService {
    public let kind = ServiceKind.rlTraining

    public init() {}
}
