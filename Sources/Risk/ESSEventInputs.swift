import EmergencyStop
import EventBus
import Foundation

/// The events the ESS evaluates, and the input each becomes. Payloads carry amounts as decimal
/// strings (docs/events.md); other fields a publisher adds are allowed and ignored.
enum ESSEventInputs {
    static let types: [EventType] = [.portfolioSnapshot, .orderRejected, .orderFilled, .marketTick]

    /// The input for an event, or nil for an event the ESS does not count (a fill that was not
    /// a stop-loss). A malformed payload throws, naming the field.
    static func input(for event: EventEnvelope) throws(PayloadError) -> ESSInput? {
        let reader = try PayloadReader(event.payload, name: "\(event.type.rawValue) payload")
        let input: ESSInput?
        switch event.type {
        case .portfolioSnapshot:
            let equity = reader.decimal("equity")
            let dailyPnl = reader.decimal("dailyPnl")
            if let equity, equity < 0 { reader.report("equity", "must not be negative, got \(ExactDecimal.text(equity))") }
            input = equity.flatMap { equity in dailyPnl.map { .portfolio(equity: equity, dailyPnl: $0) } }
        case .orderRejected:
            let symbol = reader.string("symbol", maxLength: 32)
            let reason = reader.string("reason", maxLength: 1000)
            input = symbol.flatMap { symbol in reason.map { .executionError("order rejected for \(symbol): \($0)") } }
        case .orderFilled:
            let symbol = reader.string("symbol", maxLength: 32)
            let trigger = reader.optionalString("trigger", maxLength: 64)
            input = trigger == "stop_loss" ? symbol.map { .executionError("stop-loss hit on \($0)") } : nil
        case .marketTick:
            let symbol = reader.string("symbol", maxLength: 32)
            _ = reader.decimal("price")
            input = symbol.map { .marketTick(symbol: $0, occurredAt: event.occurredAt) }
        default:
            input = nil
        }
        try reader.finish(allowing: true)
        return input
    }
}
