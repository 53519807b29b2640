import EventBus
import Foundation

/// `ess.state_changed`: the risk service's ESS moved from one state to another; every
/// service's ``ESSClient`` reads the status from it.
public struct ESSStateChanged: EventPayload {
    public static let eventType = EventType.essStateChanged
    public var transition: ESSTransition
    /// The status after the transition.
    public var status: ESSStatus

    public init(transition: ESSTransition, status: ESSStatus) {
        self.transition = transition
        self.status = status
    }

    public init?(reading reader: PayloadReader) {
        let transition = reader.reading("transition", with: ESSTransition.init(json:))
        let status = reader.reading("status", with: ESSStatus.init(json:))
        guard let transition, let status else { return nil }
        self.init(transition: transition, status: status)
    }

    public var json: JSONValue { .object(["transition": transition.json, "status": status.json]) }

    public static let example: ESSStateChanged = {
        let at = Date(timeIntervalSince1970: 1_796_000_000)
        return ESSStateChanged(
            transition: ESSTransition(
                from: .armed, to: .tripped, trigger: .drawdown, reason: "drawdown 5.2% over 5%", source: "risk", at: at),
            status: ESSStatus(
                state: .tripped, since: at, reason: "drawdown 5.2% over 5%", source: "risk", trigger: .drawdown,
                cooldownEndsAt: nil, confirmedAt: at))
    }()
}
