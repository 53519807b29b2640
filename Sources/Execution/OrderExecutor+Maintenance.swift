import Binance
import BinanceAdapter
import EventBus
import Foundation
import Money
import ServiceKit

extension OrderExecutor {
    /// How long an order whose outcome is unknown, or whose cancel is unanswered, waits
    /// before it is looked up again.
    static let lookupAfter: TimeInterval = 2

    // MARK: - Start-up

    /// Loads what an earlier run left open and resolves each with the exchange; until every
    /// one is resolved no signal is traded (``ExecutionView/reconciling``).
    func reconcileAtStart(_ book: inout Book) async {
        var delay = Duration.milliseconds(500)
        while !Task.isCancelled {
            do {
                for order in try await stored({ try await $0.unfinished() }) { book.open[order.clientOrderId] = order }
                break
            } catch {
                logger.warning("could not read the outbox; retrying", metadata: ["error": "\(PostgresErrorText.describe(error))"])
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(10))
            }
        }
        let unresolved = book.open.values.filter { !$0.state.isFinal || $0.missesFills }.map(\.clientOrderId).sorted()
        if !unresolved.isEmpty {
            logger.notice("reconciling orders left open by an earlier run", metadata: ["orders": "\(unresolved.count)"])
        }
        for id in unresolved { await lookUp(id, &book) }
        finishReconciliation(&book)
    }

    func finishReconciliation(_ book: inout Book) {
        guard book.reconciling else { return }
        let unknown = book.open.values.filter { $0.state == .pendingSubmit || $0.state == .submitted }
        if unknown.isEmpty {
            book.reconciling = false
            logger.notice("orders reconciled; trading", metadata: ["open": "\(book.open.count)"])
        }
    }

    /// Learns an order's true state at the exchange by its client order id (and, for a final
    /// order missing fills, its fills).
    func lookUp(_ id: String, _ book: inout Book) async {
        guard let order = book.open[id] else { return }
        do {
            let venue = try orderVenue(order.venue)
            let report: OrderReport
            switch order.state {
            case .filled, .canceled, .expired, .rejected:
                // Final, but the exchange reported fills not booked yet: read them back.
                guard order.missesFills || order.tracked.exchangeOrderId == nil,
                    let found = try await venue.orderWithFills(symbol: order.symbol, clientOrderId: id)
                else { return }
                report = found
            case .pendingSubmit, .submitted:
                report = try await venue.reconcile(symbol: order.symbol, clientOrderId: id)
            default:
                guard let found = try await venue.orderWithFills(symbol: order.symbol, clientOrderId: id) else {
                    // Known to us as placed, unknown to the exchange: it aged out of its history.
                    logger.error("an order we placed is unknown to the exchange", metadata: ["client_order_id": "\(id)"])
                    return
                }
                report = found
            }
            let after = await absorb(report, into: id, &book)
            logger.info(
                "order looked up",
                metadata: [
                    "client_order_id": "\(id)", "exchange": "\(report.status.rawValue) \(report.executedQty)",
                    "ours": "\(after?.state.rawValue ?? "?") \(after?.tracked.executed.description ?? "?")",
                ])
        } catch .notPlaced {
            await reject(
                id, reason: "never reached the exchange (written, not sent, before a restart)", code: nil, rule: "placement", &book)
        } catch {
            logger.warning("order lookup failed; will retry", metadata: ["client_order_id": "\(id)", "error": "\(error)"])
        }
    }

    // MARK: - Maintenance

    /// Every half second: the drops reported, orders of unknown outcome looked up, resting
    /// remainders past `order_timeout` (or stopped for slippage) canceled and re-priced, the
    /// balances read again when old.
    func maintain(_ book: inout Book) async {
        let now = clock()
        await reportDrops(now, &book)
        await catchUpRecords(&book)
        for id in book.open.keys.sorted() {
            guard let order = book.open[id], !order.state.isFinal || order.missesFills else { continue }
            let age = now.timeIntervalSince(order.updatedAt)
            if order.state.isFinal {
                if age >= Self.lookupAfter { await lookUp(id, &book) }
                continue
            }
            switch order.state {
            case .pendingSubmit, .submitted, .pendingCancel:
                if age >= Self.lookupAfter { await lookUp(id, &book) }
            case .accepted, .partiallyFilled:
                let timedOut = now.timeIntervalSince(order.createdAt) >= Double(settings.orderTimeout.milliseconds) / 1_000
                if timedOut || book.stopNow.contains(id) {
                    book.stopNow.remove(id)
                    await cancelAndReprice(id, reason: timedOut ? "unfilled after \(settings.orderTimeout)" : "slippage", &book)
                }
            default: break
            }
        }
        if book.reconciling { finishReconciliation(&book) }
        await openSecondVenue(&book)
        // Each venue's balances read again every 5 s (tried again no sooner while it fails).
        for venue in venues.keys.sorted(by: { $0.rawValue < $1.rawValue }) {
            let account = book.accounts[venue]
            let stale = account?.readAt.map { now.timeIntervalSince($0) > 5 } ?? true
            if stale, account?.triedAt.map({ now.timeIntervalSince($0) >= 5 }) ?? true { await refreshBalances(venue, &book) }
        }
        await pollSecondVenue(now, &book)
        // The policy sees Binance every half second (its failback counts how long Binance has
        // been up), and new orders that waited go as soon as they can.
        let waited = book.holding != nil
        if await chooseVenue(&book) != nil, waited { wake(.signals) }
    }

    /// With `execution.on_binance_down: failover`, reads OKX's spot instruments until it can:
    /// then orders can go there.
    func openSecondVenue(_ book: inout Book) async {
        guard let okx, secondVenue.withLock({ $0 == nil }) else { return }
        let now = clock()
        if let tried = book.secondVenueTriedAt, now.timeIntervalSince(tried) < 5 { return }
        book.secondVenueTriedAt = now
        do {
            let listed = try await okx.spotInstruments()
            let bySymbol = Dictionary(listed.map { ($0.binanceSymbol, $0) }, uniquingKeysWith: { first, _ in first })
            secondVenue.withLock { $0 = OKXOrderVenue(client: okx, instruments: bySymbol) }
            logger.notice(
                "second venue ready for failover", metadata: ["venue": "okx", "instruments": "\(bySymbol.count)"])
        } catch {
            logger.warning("could not read okx's instruments; retrying", metadata: ["error": "\(error)"])
        }
    }

    /// Open orders on a venue without a user data stream here (OKX) are read back at most once a
    /// second until final: their fills come that way.
    func pollSecondVenue(_ now: Date, _ book: inout Book) async {
        for id in book.open.keys.sorted() {
            guard let order = book.open[id], order.venue == .okx, order.state == .accepted || order.state == .partiallyFilled
            else { continue }
            if let polled = book.polledAt[id], now.timeIntervalSince(polled) < 1 { continue }
            book.polledAt[id] = now
            await lookUp(id, &book)
        }
        book.polledAt = book.polledAt.filter { book.open[$0.key].map { !$0.state.isFinal } ?? false }
    }

    func reportDrops(_ now: Date, _ book: inout Book) async {
        guard now.timeIntervalSince(book.lastDropReport) >= 1 else { return }
        let taken = drops.withLock { drops -> Drops? in
            guard !drops.counts.isEmpty else { return nil }
            defer { drops = Drops(since: now) }
            return drops
        }
        guard let taken else { return }
        book.lastDropReport = now
        await publish(
            SignalsDropped(
                replaced: taken.counts[.replaced, default: 0], expired: taken.counts[.expired, default: 0],
                overflow: taken.counts[.overflow, default: 0], lastSymbol: taken.lastSymbol, since: taken.since))
    }

    /// Cancels an order's remainder; once canceled, places it again at the market's price
    /// (``reprice(_:_:)``).
    func cancelAndReprice(_ id: String, reason: String, _ book: inout Book) async {
        if let after = await cancelRemainder(id, reason: reason, &book), after.state == .canceled, after.remaining > .zero {
            await reprice(after, &book)
        }
    }

    /// Cancels an order's remainder, with what filled before the cancel read back; the order
    /// after, or nil when the cancel was not answered (retried at a later maintenance) or the
    /// order was no longer open (what it did is read back).
    @discardableResult
    func cancelRemainder(_ id: String, reason: String, _ book: inout Book) async -> StoredOrder? {
        guard var order = book.open[id] else { return nil }
        order.reason = reason
        book.open[id] = order
        await change(id, [.cancelRequested], &book)
        let after: StoredOrder?
        do {
            let venue = try orderVenue(order.venue)
            var report = try await venue.cancel(symbol: order.symbol, clientOrderId: id)
            // A cancel's reply carries no fills on Binance (OKX's is read back with them).
            if report.fills.isEmpty, report.executedQty > .zero {
                report.fills = (try? await venue.fills(symbol: order.symbol, orderId: report.orderId)) ?? []
            }
            after = await absorb(report, into: id, &book)
        } catch .rejected(let refusal) where refusal.code == -2011 {
            // Not open any more (it filled, or expired): what it did is read back.
            await change(id, [.cancelFailed], &book)
            await lookUp(id, &book)
            return nil
        } catch {
            logger.warning("cancel failed; will retry", metadata: ["client_order_id": "\(id)", "error": "\(error)"])
            await change(id, [.cancelFailed], &book)
            return nil
        }
        logger.info(
            "remainder canceled",
            metadata: [
                "client_order_id": "\(id)", "reason": "\(reason)",
                "ours": "\(after?.state.rawValue ?? "?") \(after?.tracked.executed.description ?? "?")",
            ])
        return after
    }

    /// Places a canceled order's remainder again at the market's price then, within
    /// `max_slippage` of it and (for an entry) within the policy's collar of the signal's
    /// price, at most `max_reprices` times.
    func reprice(_ parent: StoredOrder, _ book: inout Book) async {
        guard parent.reprices < settings.maxReprices else {
            logger.info(
                "remainder dropped: re-priced as often as allowed",
                metadata: ["client_order_id": "\(parent.clientOrderId)", "remaining": "\(parent.remaining)"])
            return
        }
        guard let mark = marks.withLock({ $0[parent.symbol] }), let filters = client.rules(for: parent.symbol),
            let assets = client.assets(of: parent.symbol)
        else { return }
        guard let price = try? EntryPlanner.limitPrice(parent.side, from: mark, slippage: settings.maxSlippage, filters: filters)
        else { return }
        var quantity = parent.remaining
        if parent.side == .sell { quantity = min(quantity, Quantity(book.accounts[parent.venue]?.free[assets.base] ?? .zero)) }
        if let step = filters.lotSize?.stepSize, let stepped = try? quantity.rounded(downToStep: step) { quantity = stepped }
        guard quantity > .zero else { return }
        if parent.purpose == .entry || parent.purpose == .reprice, let policy = guards.policy.current?.document.policy,
            let collar = try? FixedDecimal(parsing: ExactDecimal.text(policy.priceCollar)),
            let distance = try? (price.value - parent.referencePrice.value).magnitude.divided(
                by: parent.referencePrice.value, scale: 8, rounding: .up),
            distance > collar
        {
            logger.info(
                "remainder dropped: the market moved beyond the collar of the signal's price",
                metadata: ["client_order_id": "\(parent.clientOrderId)", "price": "\(price)", "reference": "\(parent.referencePrice)"])
            return
        }
        let notional = (try? Money.notional(of: quantity, at: price)) ?? .zero
        let verdict = guards.check(ExposureQuestion(symbol: parent.symbol, notional: notional, reducesExposure: parent.side == .sell))
        if case .refused(let rule, let reason) = verdict {
            logger.info(
                "remainder not re-priced",
                metadata: ["client_order_id": "\(parent.clientOrderId)", "rule": "\(rule)", "reason": "\(reason)"])
            return
        }
        let child = StoredOrder(
            clientOrderId: ClientOrderIDs.reprice(of: parent.clientOrderId, number: parent.reprices + 1), signalId: parent.signalId,
            purpose: parent.purpose == .entry ? .reprice : parent.purpose, parent: parent.clientOrderId, symbol: parent.symbol,
            side: parent.side, quantity: quantity, price: price, referencePrice: parent.referencePrice, reprices: parent.reprices + 1,
            createdAt: clock(), venue: parent.venue)
        _ = await submit(child, &book)
    }

    // MARK: - Exits

    /// A market price past an armed exit's level places it: a sell of what the buy got (at
    /// most what is free), at the market less `max_slippage`.
    func checkExits(_ book: inout Book) async {
        let now = clock()
        let prices = marks.withLock { $0 }
        for id in book.open.keys.sorted() {
            guard var order = book.open[id], order.exitState == .armed, let mark = prices[order.symbol] else { continue }
            if let retry = book.exitRetryAfter[id], retry > now { continue }
            let purpose: OrderPurpose
            if let level = order.takeProfit, mark >= level {
                purpose = .takeProfit
            } else if let level = order.stopLoss, mark <= level {
                purpose = .stopLoss
            } else {
                continue
            }
            guard let filters = client.rules(for: order.symbol), let assets = client.assets(of: order.symbol) else { continue }
            // Sold where it was bought: each venue holds its own.
            var quantity = min(order.tracked.executed, Quantity(book.accounts[order.venue]?.free[assets.base] ?? .zero))
            if let step = filters.lotSize?.stepSize, let stepped = try? quantity.rounded(downToStep: step) { quantity = stepped }
            let price = (try? EntryPlanner.limitPrice(.sell, from: mark, slippage: settings.maxSlippage, filters: filters)) ?? mark
            let notional = (try? Money.notional(of: quantity, at: price)) ?? .zero
            if quantity > .zero,
                case .refused(let rule, let reason) = guards.check(
                    ExposureQuestion(symbol: order.symbol, notional: notional, reducesExposure: true))
            {
                logger.warning("exit held back", metadata: ["client_order_id": "\(id)", "rule": "\(rule)", "reason": "\(reason)"])
                book.exitRetryAfter[id] = now.addingTimeInterval(Double(settings.orderTimeout.milliseconds) / 1_000)
                continue
            }
            order.exitState = .done
            order.reason = quantity > .zero ? "\(purpose.rawValue) at \(mark)" : "\(purpose.rawValue) at \(mark): nothing left to sell"
            order.updatedAt = now
            book.exitRetryAfter[id] = nil
            await write(order, &book)
            guard quantity > .zero else { continue }
            let exit = StoredOrder(
                clientOrderId: ClientOrderIDs.exit(of: id, purpose: purpose), signalId: order.signalId, purpose: purpose, parent: id,
                symbol: order.symbol, side: .sell, quantity: quantity, price: price, referencePrice: mark, createdAt: now,
                venue: order.venue)
            logger.notice("exit placed", metadata: ["entry": "\(id)", "purpose": "\(purpose.rawValue)", "mark": "\(mark)"])
            _ = await submit(exit, &book)
        }
    }
}
