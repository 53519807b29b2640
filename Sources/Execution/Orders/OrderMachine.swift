import Money

/// Where an order stands in our books.
public enum OrderState: String, Sendable, CaseIterable, Codable {
    /// Written to the outbox; not sent yet (or sent by a process that died before it recorded so).
    case pendingSubmit = "pending_submit"
    /// Sent; the exchange's answer is not known yet (or was lost: it is reconciled).
    case submitted
    /// On the exchange's book, nothing filled.
    case accepted
    case partiallyFilled = "partially_filled"
    /// A cancel is on its way; fills may still come.
    case pendingCancel = "pending_cancel"
    case filled
    case canceled
    case rejected
    case expired

    /// Nothing more will happen to it (a late fill of a canceled order is still booked).
    public var isFinal: Bool { [.filled, .canceled, .rejected, .expired].contains(self) }
}

/// What can happen to an order: our own steps and the exchange's reports.
public enum OrderEvent: Sendable, Equatable {
    case sent
    case accepted(orderId: Int64)
    case fill(tradeId: Int64, quantity: Quantity, quote: Money)
    case cancelRequested
    /// The exchange refused the cancel (the order had filled, or was not found yet).
    case cancelFailed
    case canceled
    case rejected
    case expired
}

/// One order as the machine tracks it.
public struct TrackedOrder: Sendable, Equatable {
    public var clientOrderId: String
    public var quantity: Quantity
    public var state: OrderState
    public var exchangeOrderId: Int64?
    public var executed: Quantity
    public var cumulativeQuote: Money
    /// The trades booked, so a fill reported twice (stream and reconciliation) counts once.
    public var tradeIds: Set<Int64>

    public init(clientOrderId: String, quantity: Quantity, state: OrderState = .pendingSubmit) {
        self.clientOrderId = clientOrderId
        self.quantity = quantity
        self.state = state
        exchangeOrderId = nil
        executed = .zero
        cumulativeQuote = .zero
        tradeIds = []
    }
}

/// The order state machine, pure: an event and an order in, the order after it and what
/// happened out. The real world's odd cases are part of it: a fill after a cancel was asked
/// (or after it was done: the trade happened first, its report came later), a cancel that
/// fails because the order filled, the same fill reported twice, an accepted report for an
/// order a crashed process never recorded as sent.
public enum OrderMachine {
    public enum Outcome: Sendable, Equatable {
        /// The order changed (its state, or its fills within the same state).
        case changed(from: OrderState, to: OrderState)
        /// Already known: nothing to do.
        case duplicate
        /// Not possible from where the order stands; the order is unchanged.
        case refused(String)
    }

    public static func apply(_ event: OrderEvent, to order: inout TrackedOrder) -> Outcome {
        let from = order.state
        func move(_ to: OrderState) -> Outcome {
            order.state = to
            return .changed(from: from, to: to)
        }
        func refuse() -> Outcome { .refused("\(event) is not possible for an order \(from.rawValue)") }
        switch event {
        case .sent:
            return from == .pendingSubmit ? move(.submitted) : refuse()
        case .accepted(let orderId):
            switch from {
            case .pendingSubmit, .submitted:
                order.exchangeOrderId = orderId
                return move(.accepted)
            case .rejected: return refuse()
            default:
                if order.exchangeOrderId == nil { order.exchangeOrderId = orderId }
                return .duplicate
            }
        case .fill(let tradeId, let quantity, let quote):
            if order.tradeIds.contains(tradeId) { return .duplicate }
            guard from != .rejected, quantity > .zero else { return refuse() }
            guard let executed = try? order.executed + quantity, executed <= order.quantity,
                let cumulative = try? order.cumulativeQuote + quote
            else {
                return .refused("fill \(tradeId) of \(quantity) would take \(order.clientOrderId) past its quantity \(order.quantity)")
            }
            order.executed = executed
            order.cumulativeQuote = cumulative
            order.tradeIds.insert(tradeId)
            if executed == order.quantity { return move(.filled) }
            switch from {
            case .pendingSubmit, .submitted, .accepted: return move(.partiallyFilled)
            default: return move(from)
            }
        case .cancelRequested:
            return from == .accepted || from == .partiallyFilled ? move(.pendingCancel) : refuse()
        case .cancelFailed:
            guard from == .pendingCancel else { return refuse() }
            return move(order.executed == .zero ? .accepted : .partiallyFilled)
        case .canceled, .expired:
            let to: OrderState = event == .canceled ? .canceled : .expired
            if from == to { return .duplicate }
            return [.submitted, .accepted, .partiallyFilled, .pendingCancel].contains(from) ? move(to) : refuse()
        case .rejected:
            if from == .rejected { return .duplicate }
            return from == .pendingSubmit || from == .submitted ? move(.rejected) : refuse()
        }
    }
}
