import Binance
import Foundation
import Money
import ServiceKit

/// An operator's close of a position, asked through `POST /api/positions/{symbol}/close`.
struct CloseRequest: Sendable {
    var symbol: String
    /// The operator's action: the same action sent again finds the order it placed
    /// (``ClientOrderIDs/close(actionId:)``).
    var actionId: String
    var reason: String
    var requester: String
    /// Where the loop leaves the outcome (``OrderExecutor/CloseReplies``).
    var replyId: UInt64
}

/// What came of a close.
enum CloseOutcome: Sendable {
    /// The sell was placed (or its outcome is being reconciled); the open buys on the symbol
    /// that were canceled first.
    case placed(StoredOrder, canceledBuys: [String])
    /// The action was handled before: its order as it stands.
    case handledBefore(StoredOrder)
    case refused(Refusal)
    /// Nothing was done: execution could not act now.
    case unavailable(String)
}

extension OrderExecutor {
    /// The closes waiting for the loop, each with its caller: those the loop never reaches
    /// (shutdown) are answered when it ends.
    struct CloseReplies {
        var next: UInt64 = 0
        var waiting: [UInt64: CheckedContinuation<CloseOutcome, Never>] = [:]
        /// The loop has ended: no close is taken any more.
        var ended = false
    }

    /// Closes `symbol`'s position on the loop, after the commands before it.
    func close(symbol: String, actionId: String, reason: String, requester: String) async -> CloseOutcome {
        if view.withLock(\.reconciling) {
            return .unavailable("execution is reconciling its orders with the exchange; nothing was done, try again")
        }
        return await withCheckedContinuation { reply in
            let replyId = closeReplies.withLock { replies -> UInt64? in
                guard !replies.ended else { return nil }
                replies.next += 1
                replies.waiting[replies.next] = reply
                return replies.next
            }
            guard let replyId else {
                reply.resume(returning: Self.shuttingDown)
                return
            }
            wake(.close(CloseRequest(symbol: symbol, actionId: actionId, reason: reason, requester: requester, replyId: replyId)))
        }
    }

    func answer(_ request: CloseRequest, _ outcome: CloseOutcome) {
        closeReplies.withLock { $0.waiting.removeValue(forKey: request.replyId) }?.resume(returning: outcome)
    }

    static let shuttingDown = CloseOutcome.unavailable("execution is shutting down; nothing was done")

    /// Answers every close the loop will not reach, and those asked after it ended.
    func answerWaitingCloses() {
        let waiting = closeReplies.withLock { replies in
            defer {
                replies.waiting = [:]
                replies.ended = true
            }
            return replies.waiting.values
        }
        for reply in waiting { reply.resume(returning: Self.shuttingDown) }
    }

    /// Cancels the open buys on the symbol (they would open it again), then sells what is free
    /// of its base asset (``ClosePlanner``) under a client order id derived from the action.
    func closePosition(_ request: CloseRequest, _ book: inout Book) async -> CloseOutcome {
        let id = ClientOrderIDs.close(actionId: request.actionId)
        do {
            if let before = try await stored({ try await $0.order(id) }) { return .handledBefore(book.open[id] ?? before) }
        } catch {
            return .unavailable("the outbox could not be read: \(PostgresErrorText.describe(error)); nothing was done")
        }
        let symbol = request.symbol
        var canceled: [String] = []
        for buy in book.open.values.sorted(by: { $0.createdAt < $1.createdAt })
        where buy.symbol == symbol && buy.side == .buy && !buy.state.isFinal {
            let reason = "canceled: \(symbol) closed by an operator (action \(request.actionId))"
            if let after = await cancelRemainder(buy.clientOrderId, reason: reason, &book), after.state == .canceled {
                canceled.append(buy.clientOrderId)
            }
        }
        await refreshBalances(.binance, &book)
        if marks.withLock({ $0[symbol] }) == nil, client.rules(for: symbol) != nil, let last = try? await client.lastPrice(symbol: symbol) {
            marks.withLock { $0[symbol] = $0[symbol] ?? last }
        }
        let context = PlanningContext(
            ess: guards.ess.current, policy: guards.policy.current?.document.policy, settings: settings,
            filters: client.rules(for: symbol), assets: client.assets(of: symbol), marks: marks.withLock { $0 },
            free: book.accounts[.binance]?.free ?? [:], held: book.accounts[.binance]?.held ?? [:], ordersInLastMinute: 0,
            openOrders: book.open.values.filter { $0.symbol == symbol && !$0.state.isFinal }.count)
        let plan: OrderPlan
        switch ClosePlanner.plan(symbol: symbol, context) {
        case .failure(let refusal):
            logger.notice(
                "close refused", metadata: ["symbol": "\(symbol)", "rule": "\(refusal.rule)", "reason": "\(refusal.reason)"])
            return .refused(refusal)
        case .success(let value):
            plan = value
        }
        let order = StoredOrder(
            clientOrderId: id, signalId: request.actionId, purpose: .close, parent: nil, symbol: symbol, side: .sell,
            quantity: plan.quantity, price: plan.price, referencePrice: plan.referencePrice, createdAt: clock())
        logger.notice(
            "closing a position",
            metadata: [
                "symbol": "\(symbol)", "client_order_id": "\(id)", "quantity": "\(plan.quantity)", "price": "\(plan.price)",
                "reason": "\(request.reason)", "requester": "\(request.requester)",
            ])
        guard await submit(order, &book) else {
            let after = try? await stored { try await $0.order(id) }
            return .refused(Refusal(rule: "exchange", reason: book.open[id]?.reason ?? after?.reason ?? "the sell was not placed"))
        }
        if let placed = book.open[id] { return .placed(placed, canceledBuys: canceled) }
        let after = try? await stored { try await $0.order(id) }
        return .placed(after ?? order, canceledBuys: canceled)
    }
}
