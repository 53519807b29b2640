import EmergencyStop
import EventBus
import Foundation
import Money

/// The events the ESS evaluates, and the input each becomes, read through their payload types
/// (docs/events.md); fields a publisher adds beyond them are allowed and ignored.
enum ESSEventInputs {
    static let types: [EventType] = [.portfolioSnapshot, .orderRejected, .orderFilled, .marketTick]

    /// The input for an event, or nil for an event the ESS does not count (a fill that was not
    /// a stop-loss). A malformed payload throws, naming the field.
    static func input(for event: EventEnvelope) throws(PayloadError) -> ESSInput? {
        switch event.type {
        case .portfolioSnapshot:
            let snapshot = try event.decode(PortfolioSnapshot.self)
            return .portfolio(equity: try decimal(snapshot.equity, "equity"), dailyPnl: try decimal(snapshot.dailyPnl, "dailyPnl"))
        case .orderRejected:
            let rejection = try event.decode(OrderRejected.self)
            // A pre-trade rule's refusal is the checks working, not an execution error.
            guard rejection.isExecutionError else { return nil }
            return .executionError("order rejected for \(rejection.symbol): \(rejection.reason)")
        case .orderFilled:
            let fill = try event.decode(OrderFilled.self).fill
            return fill.trigger == "stop_loss" ? .executionError("stop-loss hit on \(fill.symbol)") : nil
        case .marketTick:
            return .marketTick(symbol: try event.decode(MarketTick.self).symbol, occurredAt: event.occurredAt)
        default:
            return nil
        }
    }

    /// The ESS still computes in Foundation's `Decimal`; every amount the payloads carry fits it.
    private static func decimal(_ amount: Money, _ field: String) throws(PayloadError) -> Decimal {
        guard let decimal = ExactDecimal.parse(amount.description) else {
            throw PayloadError(problems: ["\(field): \(amount) does not fit the ESS's decimal type"])
        }
        return decimal
    }
}
