import Binance
import BinanceAdapter
import EventBus
import Foundation
import Money
import ServiceKit

/// A fill as the executor books it: the machine's event and what the events carry.
struct FillDetail: Sendable {
    var tradeId: Int64
    var quantity: Quantity
    var price: Price
    var commission: FixedDecimal
    var commissionAsset: String
}

extension OrderExecutor {
    /// Books an order report (a new order's reply, a lookup, a cancel's reply with its fills).
    @discardableResult
    func absorb(_ report: OrderReport, into id: String, _ book: inout Book) async -> StoredOrder? {
        var raised = false
        if var order = book.open[id], report.executedQty > order.exchangeExecuted {
            order.exchangeExecuted = report.executedQty
            book.open[id] = order
            raised = true
        }
        var events: [OrderEvent] = []
        var fills: [FillDetail] = []
        if report.status != .rejected { events.append(.accepted(orderId: report.orderId)) }
        for fill in report.fills {
            let detail = FillDetail(
                tradeId: fill.tradeId, quantity: fill.qty, price: fill.price, commission: fill.commission,
                commissionAsset: fill.commissionAsset)
            fills.append(detail)
            events.append(.fill(tradeId: fill.tradeId, quantity: fill.qty, quote: Self.quote(detail)))
        }
        switch report.status {
        case .canceled: events.append(.canceled)
        case .expired: events.append(.expired)
        case .rejected: events.append(.rejected)
        case .new, .partiallyFilled, .filled: break
        }
        return await change(id, events, fills: fills, &book, persist: raised)
    }

    /// Books an update from the user data stream (or its polling).
    func apply(_ update: OrderUpdate, _ book: inout Book) async {
        guard let id = update.clientOrderId else { return }
        if book.open[id] == nil {
            // A late report for an order already final (a fill after its cancel), or not ours.
            let stored: StoredOrder?
            do {
                stored = try await self.stored { try await $0.order(id) }
            } catch {
                hold(update, because: error, &book)
                return
            }
            guard let stored else {
                logger.debug("update for an order not ours", metadata: ["client_order_id": "\(id)"])
                return
            }
            book.open[id] = stored
        }
        var fills: [FillDetail] = []
        let event: OrderEvent?
        switch update.executionType {
        case "NEW": event = .accepted(orderId: update.orderId)
        case "TRADE":
            let detail = FillDetail(
                tradeId: update.tradeId, quantity: update.lastQty, price: update.lastPrice, commission: update.commission,
                commissionAsset: update.commissionAsset ?? "")
            fills.append(detail)
            event = .fill(tradeId: update.tradeId, quantity: update.lastQty, quote: Self.quote(detail))
        case "CANCELED": event = .canceled
        case "EXPIRED": event = .expired
        case "REJECTED": event = .rejected
        default: event = nil
        }
        guard let event else { return }
        await change(id, [event], fills: fills, &book)
    }

    static func quote(_ fill: FillDetail) -> Money {
        (try? Money.notional(of: fill.quantity, at: fill.price)) ?? .zero
    }

    /// A refusal of an order written to the outbox: booked and announced.
    func reject(_ id: String, reason: String, code: Int?, rule: String, _ book: inout Book) async {
        book.open[id]?.reason = reason
        metrics.rejected(rule: rule)
        await change(id, [.rejected], &book, rejection: (reason, code, rule))
    }

    /// Applies events to an order through the machine, then publishes what changed (fills
    /// first, each before it is recorded, so a crash in between publishes it again rather
    /// than never), then writes the order.
    @discardableResult
    func change(
        _ id: String, _ events: [OrderEvent], fills: [FillDetail] = [], _ book: inout Book,
        rejection: (reason: String, code: Int?, rule: String)? = nil, persist: Bool = false
    ) async -> StoredOrder? {
        guard var order = book.open[id] else { return nil }
        let now = clock()
        var changed = false
        var announcements: [any EventPayload] = []
        var newFills: [(FillDetail, Fill)] = []
        for event in events {
            switch OrderMachine.apply(event, to: &order.tracked) {
            case .duplicate:
                continue
            case .refused(let why):
                logger.warning("order report refused by the state machine", metadata: ["client_order_id": "\(id)", "why": "\(why)"])
                continue
            case .changed(let from, let to):
                changed = true
                switch event {
                case .accepted(let orderId):
                    announcements.append(
                        OrderSubmitted(
                            clientOrderId: id, orderId: Int(orderId), symbol: order.symbol, side: order.side, kind: .limit,
                            quantity: order.tracked.quantity, price: order.price))
                case .fill(let tradeId, _, _):
                    guard let detail = fills.first(where: { $0.tradeId == tradeId }) else { continue }
                    let fill = Fill(
                        clientOrderId: id, orderId: Int(order.tracked.exchangeOrderId ?? 0), symbol: order.symbol, side: order.side,
                        tradeId: Int(tradeId), lastQuantity: detail.quantity, lastPrice: detail.price,
                        cumulativeQuantity: order.tracked.executed, cumulativeQuote: order.tracked.cumulativeQuote,
                        commission: Money(detail.commission), commissionAsset: detail.commissionAsset,
                        trigger: order.purpose == .stopLoss || order.purpose == .takeProfit ? order.purpose.rawValue : nil,
                        venue: order.venue)
                    newFills.append((detail, fill))
                    checkSlippage(detail, of: order, &book)
                case .canceled, .expired:
                    let reason = order.reason ?? (event == .expired ? "expired" : "canceled")
                    announcements.append(
                        OrderCanceled(
                            clientOrderId: id, orderId: Int(order.tracked.exchangeOrderId ?? 0), symbol: order.symbol,
                            executedQuantity: order.tracked.executed, reason: reason))
                case .rejected:
                    let reason = rejection?.reason ?? order.reason ?? "rejected by the exchange"
                    order.reason = reason
                    announcements.append(
                        OrderRejected(
                            clientOrderId: id, symbol: order.symbol, reason: reason, code: rejection?.code,
                            rule: rejection?.rule ?? "exchange"))
                default: break
                }
                if from != to, to.isFinal { metrics.finished(order) }
            }
        }
        guard changed || persist else {
            book.open[id] = order
            return order
        }
        order.updatedAt = now
        armExits(&order)
        if order.side == .sell, order.state.isFinal, order.tracked.executed > .zero,
            order.purpose == .entry || order.purpose == .reprice || order.purpose == .close
        {
            await disarmExits(on: order.symbol, by: id, &book)
        }
        // Announced first, so a crash before the write below announces them again (the
        // portfolio books by trade id) rather than never.
        for (_, fill) in newFills {
            let payload: any EventPayload =
                fill.cumulativeQuantity == order.tracked.quantity ? OrderFilled(fill) : OrderPartiallyFilled(fill)
            await publish(payload)
        }
        for announcement in announcements { await publish(announcement) }
        let recorded = newFills.map { detail, _ in
            RecordedFill(
                clientOrderId: id, symbol: order.symbol, tradeId: detail.tradeId, quantity: detail.quantity, price: detail.price,
                commission: detail.commission, commissionAsset: detail.commissionAsset, time: now)
        }
        await write(order, fills: recorded, &book)
        if !newFills.isEmpty || order.state.isFinal { book.accounts[order.venue]?.readAt = nil }
        return order
    }

    /// A buy that ended with something filled arms its exits (take-profit above its average
    /// price, stop-loss below), when the settings place them.
    func armExits(_ order: inout StoredOrder) {
        guard order.side == .buy, order.state.isFinal, order.exitState == .none, order.tracked.executed > .zero,
            order.purpose == .entry || order.purpose == .reprice, let average = order.averagePrice,
            settings.takeProfit > .zero || settings.stopLoss > .zero
        else { return }
        let tick = client.rules(for: order.symbol)?.price?.tickSize
        func level(_ share: FixedDecimal, up: Bool) -> Price? {
            guard share > .zero, let factor = try? (up ? FixedDecimal(1) + share : FixedDecimal(1) - share),
                let raw = try? average.value.multiplied(by: factor)
            else { return nil }
            guard let tick else { return Price(raw) }
            return try? Price(raw).rounded(toTick: tick, rounding: up ? .up : .down)
        }
        order.takeProfit = level(settings.takeProfit, up: true)
        order.stopLoss = level(settings.stopLoss, up: false)
        order.exitState = .armed
    }

    /// A sell signal's order, or an operator's close, exits the position itself: the exits armed
    /// for earlier buys on the symbol stand down.
    func disarmExits(on symbol: String, by sell: String, _ book: inout Book) async {
        for id in book.open.keys.sorted() {
            guard var order = book.open[id], order.symbol == symbol, order.exitState == .armed else { continue }
            order.exitState = .done
            order.reason = "exits stood down: the position was sold by \(sell)"
            order.updatedAt = clock()
            await write(order, &book)
        }
    }

    /// A fill further from the signal's price than `max_slippage` stops the order: its
    /// remainder is canceled at the next maintenance, and re-priced.
    func checkSlippage(_ fill: FillDetail, of order: StoredOrder, _ book: inout Book) {
        guard order.referencePrice > .zero,
            let difference = try?
                (order.side == .buy
                ? fill.price.value - order.referencePrice.value
                : order.referencePrice.value
                    - fill.price.value),
            let share = try? difference.divided(by: order.referencePrice.value, scale: 8, rounding: .halfEven)
        else { return }
        metrics.slippage(Double(share.description) ?? 0, symbol: order.symbol)
        // A re-price is placed at the market then, within the collar: only an entry is held to
        // its signal's price.
        if share > settings.maxSlippage, order.purpose == .entry {
            logger.warning(
                "fill beyond the slippage limit; stopping the order",
                metadata: ["client_order_id": "\(order.clientOrderId)", "slippage": "\(share)", "limit": "\(settings.maxSlippage)"])
            book.stopNow.insert(order.clientOrderId)
            wake(.maintain)
        }
    }
}
