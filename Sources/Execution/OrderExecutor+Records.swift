import Binance
import BinanceAdapter
import Foundation
import ServiceKit

extension OrderExecutor {
    /// Writes an order with the fills that brought it where it is. When PostgreSQL cannot take
    /// it, the order stays in the book with those fills (``Book/unwritten``), is written again
    /// at every maintenance, and no signal is traded until it is: a restart must find the
    /// orders as the exchange holds them, and an order final in memory only would be watched
    /// by no one.
    func write(_ order: StoredOrder, fills: [RecordedFill] = [], _ book: inout Book) async {
        let id = order.clientOrderId
        let waiting = book.unwritten[id] ?? []
        defer { keep(order, &book) }
        if let retry = book.writesRetryAt, clock() < retry {
            // PostgreSQL refused a moment ago: queued behind the others, not tried now.
            book.unwritten[id] = waiting + fills
            return
        }
        do {
            let all = waiting + fills
            try await stored { try await $0.save(order, fills: all) }
            book.writesRetryAt = nil
            book.writeBackoff = 0
            if book.unwritten.removeValue(forKey: id) != nil {
                logger.notice("order written after all", metadata: ["client_order_id": "\(id)", "fills": "\(all.count)"])
            }
        } catch {
            if book.unwritten[id] == nil {
                logger.error(
                    "could not write an order; holding new orders until it is written",
                    metadata: ["client_order_id": "\(id)", "error": "\(PostgresErrorText.describe(error))"])
            }
            book.unwritten[id] = waiting + fills
            book.writeBackoff = min(max(book.writeBackoff * 2, 0.5), 5)
            book.writesRetryAt = clock().addingTimeInterval(book.writeBackoff)
        }
    }

    /// How long the loop waits for PostgreSQL before it takes a call as failed: an outage must
    /// not stop the loop (reports, cancels and exits go on while new orders are held).
    static let storeTimeout: Duration = .seconds(3)

    /// A call to the outbox within ``storeTimeout``.
    func stored<T: Sendable>(_ operation: @escaping @Sendable (OrderStore) async throws -> T) async throws -> T {
        let store = self.store
        return try await withTimeout(Self.storeTimeout) { try await operation(store) }
    }

    /// How many reports may wait for PostgreSQL (``Book/deferredUpdates``); past it the oldest
    /// is dropped with an error in the log (what it carried is then missing from the records
    /// until `vakt audit` shows it): memory stays bounded through an outage of any length.
    static let deferredUpdateLimit = 10_000

    /// A report for an order not in the book, which PostgreSQL could not look up: kept until it
    /// answers (the order may be ours and final, with a late fill), holding new orders meanwhile.
    func hold(_ update: OrderUpdate, because error: any Error, _ book: inout Book) {
        if book.deferredUpdates.isEmpty {
            logger.error(
                "could not look up a reported order; holding the report and new orders until PostgreSQL answers",
                metadata: ["client_order_id": "\(update.clientOrderId ?? "")", "error": "\(PostgresErrorText.describe(error))"])
        }
        if book.deferredUpdates.count >= Self.deferredUpdateLimit {
            let dropped = book.deferredUpdates.removeFirst()
            logger.error(
                "too many reports wait for PostgreSQL; dropping the oldest",
                metadata: ["client_order_id": "\(dropped.clientOrderId ?? "")", "limit": "\(Self.deferredUpdateLimit)"])
        }
        book.deferredUpdates.append(update)
    }

    /// The order in the book, or out of it once settled and written.
    func keep(_ order: StoredOrder, _ book: inout Book) {
        let id = order.clientOrderId
        book.open[id] = order.isSettled && book.unwritten[id] == nil ? nil : order
    }

    /// At maintenance: the orders PostgreSQL could not take are written again (oldest
    /// change first; the rest wait while it still refuses), then the reports that arrived
    /// for orders that had to be read from it are applied. Trading resumes once both are done.
    func catchUpRecords(_ book: inout Book) async {
        guard !book.isRecordComplete, book.writesRetryAt.map({ clock() >= $0 }) ?? true else { return }
        let changedAt = book.unwritten.keys.map { ($0, book.open[$0]?.updatedAt ?? .distantPast) }
        let oldestFirst = changedAt.sorted { $0.1 < $1.1 }.map(\.0)
        for id in oldestFirst {
            guard let order = book.open[id] else {
                book.unwritten[id] = nil
                continue
            }
            await write(order, &book)
            if book.unwritten[id] != nil { return }
        }
        var held = book.deferredUpdates[...]
        book.deferredUpdates = []
        while let update = held.popFirst() {
            await apply(update, &book)
            // Held again: PostgreSQL still does not answer; the rest wait behind it, in order.
            if !book.deferredUpdates.isEmpty {
                book.deferredUpdates += held
                return
            }
        }
        if book.isRecordComplete {
            logger.notice("order records complete again; trading resumes")
            wake(.signals)
        }
    }
}

extension OrderExecutor.Book {
    /// Every order change written, and every report applied.
    var isRecordComplete: Bool { unwritten.isEmpty && deferredUpdates.isEmpty }

    /// Signals are traded: the orders of an earlier run are resolved, every change is written,
    /// and new orders have a venue to go to.
    var isTrading: Bool { !reconciling && isRecordComplete && holding == nil }
}
