// AIEngine: the AI engine (8001): model ensemble, meta-strategy controller, RL position sizing.

import ServiceKit
import VaktConfig

/// The ai-engine service. Its capabilities arrive with later issues; today it runs on the shared
/// runtime: configuration, `/health` over its real dependencies, `/metrics`, sd_notify.
public struct AIEngineService: VaktService {
    public let kind = ServiceKind.aiEngine

    /// It will add exposure (or act for those who do): it carries the trading guards.
    public var usesTradingGuards: Bool { true }

    public init() {}
}
