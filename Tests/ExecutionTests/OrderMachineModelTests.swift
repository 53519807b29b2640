import Execution
import Money
import Testing
import VaktTesting

/// The order state machine against a reference model that derives an order's state from the
/// whole history of the events it accepted (rather than step by step), over thousands of
/// random sequences that include the real world's odd cases: fills after a cancel, failed
/// cancels, the same fill reported twice, an accepted report for an order never marked sent.
@Suite struct OrderMachineModelTests {
    /// The model: what happened, and the state it implies.
    struct Reference {
        let quantity: Int
        var sent = false
        var accepted = false
        var trades: [Int64: Int] = [:]
        var terminal: OrderState?
        var cancelPending = false

        var filled: Int { trades.values.reduce(0, +) }

        var state: OrderState {
            if filled == quantity { return .filled }
            if let terminal { return terminal }
            if cancelPending { return .pendingCancel }
            if filled > 0 { return .partiallyFilled }
            if accepted { return .accepted }
            return sent ? .submitted : .pendingSubmit
        }

        /// What the model says an event does: nil refused, false duplicate, true changes.
        mutating func step(_ event: OrderEvent) -> Bool? {
            let state = self.state
            let onTheBook: Set<OrderState> = [.submitted, .accepted, .partiallyFilled, .pendingCancel]
            switch event {
            case .sent:
                guard state == .pendingSubmit else { return nil }
                sent = true
            case .accepted:
                if state == .rejected { return nil }
                guard state == .pendingSubmit || state == .submitted else { return false }
                accepted = true
            case .fill(let tradeId, let quantity, _):
                if trades[tradeId] != nil { return false }
                let steps = Int(quantity.value.units / FixedDecimal(1).units)
                guard state != .rejected, filled + steps <= self.quantity else { return nil }
                trades[tradeId] = steps
            case .cancelRequested:
                guard state == .accepted || state == .partiallyFilled else { return nil }
                cancelPending = true
            case .cancelFailed:
                guard state == .pendingCancel else { return nil }
                cancelPending = false
            case .canceled, .expired, .rejected:
                let to: OrderState = event == .canceled ? .canceled : event == .expired ? .expired : .rejected
                if state == to { return false }
                let from: Set<OrderState> = to == .rejected ? [.pendingSubmit, .submitted] : onTheBook
                guard from.contains(state) else { return nil }
                terminal = to
                cancelPending = false
            }
            return true
        }
    }

    static func randomEvent(_ random: inout SplitMix64) -> OrderEvent {
        switch random.next(upTo: 12) {
        case 0: .sent
        case 1: .accepted(orderId: 7)
        case 2, 3, 4, 5:
            .fill(
                tradeId: Int64(random.next(upTo: 12)), quantity: Quantity(1 + Int(random.next(upTo: 3))),
                quote: Money(100 + Int(random.next(upTo: 5))))
        case 6: .cancelRequested
        case 7: .cancelFailed
        case 8: .canceled
        case 9: .expired
        case 10: .rejected
        default: .sent
        }
    }

    @Test func randomSequencesAgreeWithTheReferenceModelAtEveryStep() async {
        var random = SplitMix64(seed: 0x0DE5_5EED)
        var edges: [String: Int] = [:]
        var outcomes = (changed: 0, duplicate: 0, refused: 0)
        for sequence in 0..<5_000 {
            // Pure computation: give the other tests' tasks their turn on the pool.
            if sequence % 100 == 0 { await Task.yield() }
            let quantity = 1 + Int(random.next(upTo: 8))
            var order = TrackedOrder(clientOrderId: "vk-\(sequence)", quantity: Quantity(quantity))
            var model = Reference(quantity: quantity)
            var quote = Money.zero
            for step in 0..<40 {
                let event = Self.randomEvent(&random)
                let before = order
                let outcome = OrderMachine.apply(event, to: &order)
                let expected = model.step(event)
                let context = "sequence \(sequence) step \(step): \(event) from \(before.state)"
                switch outcome {
                case .changed(let from, let to):
                    outcomes.changed += 1
                    edges["\(from.rawValue)->\(to.rawValue)", default: 0] += 1
                    #expect(expected == true, "\(context): changed, the model says \(String(describing: expected))")
                    #expect(from == before.state && to == order.state, "\(context)")
                    if case .fill(_, _, let amount) = event { quote = (try? quote + amount) ?? quote }
                case .duplicate:
                    outcomes.duplicate += 1
                    #expect(expected == false, "\(context): duplicate, the model says \(String(describing: expected))")
                    #expect(order.state == before.state && order.executed == before.executed, "\(context)")
                case .refused:
                    outcomes.refused += 1
                    #expect(expected == nil, "\(context): refused, the model says \(String(describing: expected))")
                    #expect(order == before, "\(context)")
                }
                #expect(order.state == model.state, "\(context)")
                #expect(order.executed == Quantity(model.filled), "\(context)")
                #expect(order.cumulativeQuote == quote, "\(context)")
                if order.state != model.state { return }
            }
        }
        #expect(outcomes.changed > 10_000 && outcomes.duplicate > 1_000 && outcomes.refused > 10_000)
        let required = [
            "pending_submit->submitted", "pending_submit->accepted", "pending_submit->rejected", "pending_submit->partially_filled",
            "pending_submit->filled", "submitted->accepted", "submitted->rejected", "submitted->partially_filled", "submitted->filled",
            "submitted->canceled", "submitted->expired", "accepted->partially_filled", "accepted->filled", "accepted->pending_cancel",
            "accepted->canceled", "accepted->expired", "partially_filled->partially_filled", "partially_filled->filled",
            "partially_filled->pending_cancel", "partially_filled->canceled", "partially_filled->expired",
            "pending_cancel->accepted", "pending_cancel->partially_filled", "pending_cancel->pending_cancel", "pending_cancel->filled",
            "pending_cancel->canceled", "canceled->canceled", "canceled->filled", "expired->expired", "expired->filled",
        ]
        for edge in required { #expect(edges[edge, default: 0] > 10, "edge \(edge) seen \(edges[edge, default: 0]) times") }
    }

    @Test func aFillAfterTheCancelIsBookedAndAFilledOrderCannotBeCanceled() {
        var order = TrackedOrder(clientOrderId: "vk-1", quantity: Quantity(3))
        #expect(OrderMachine.apply(.sent, to: &order) == .changed(from: .pendingSubmit, to: .submitted))
        #expect(OrderMachine.apply(.accepted(orderId: 41), to: &order) == .changed(from: .submitted, to: .accepted))
        #expect(OrderMachine.apply(.cancelRequested, to: &order) == .changed(from: .accepted, to: .pendingCancel))
        #expect(OrderMachine.apply(.canceled, to: &order) == .changed(from: .pendingCancel, to: .canceled))
        // The trade happened before the cancel; its report came after.
        let fill = OrderEvent.fill(tradeId: 9, quantity: Quantity(1), quote: Money(100))
        #expect(OrderMachine.apply(fill, to: &order) == .changed(from: .canceled, to: .canceled))
        #expect(order.executed == Quantity(1) && order.exchangeOrderId == 41)
        #expect(OrderMachine.apply(fill, to: &order) == .duplicate)
        if case .refused = OrderMachine.apply(.fill(tradeId: 10, quantity: Quantity(3), quote: Money(300)), to: &order) {
        } else {
            Issue.record("an overfill must be refused")
        }
        var filled = TrackedOrder(clientOrderId: "vk-2", quantity: Quantity(1), state: .accepted)
        _ = OrderMachine.apply(.fill(tradeId: 1, quantity: Quantity(1), quote: Money(5)), to: &filled)
        #expect(filled.state == .filled)
        if case .refused = OrderMachine.apply(.cancelRequested, to: &filled) {} else { Issue.record("a filled order cannot be canceled") }
    }
}
