// Portfolio: the portfolio service (8004): positions, exact PnL, equity, drawdown, snapshots.

import EventBus
import Foundation
import HealthFormat
import Hummingbird
import Money
import ServiceKit
import ServiceLifecycle
import VaktConfig

/// The portfolio service: fills (`order.partially_filled`, `order.filled`) booked once each
/// into the exact ``Ledger`` through the journal in PostgreSQL, marked to `market.tick`,
/// `position.updated` and `portfolio.snapshot` published, positions checked against the
/// exchange's balances. `GET /api/portfolio/positions`, `/api/portfolio/pnl`,
/// `/api/portfolio/trades?limit=&before=`.
public struct PortfolioService: VaktService {
    public let kind = ServiceKind.portfolio

    public var migrations: [Migration] { TradeJournal.migrations }

    public init() {}

    public func makeParts(context: ServiceContext) async throws -> ServiceParts {
        guard let events = context.events, let postgres = context.postgres else {
            throw PortfolioUnavailable(what: "Redis and PostgreSQL")
        }
        let configuration = context.configuration
        let exchange = try ExchangeAccess(context: context)
        let journal = TradeJournal(client: postgres, logger: context.logger)
        let book = PortfolioBook(
            settings: configuration.portfolio, exchange: exchange, secondVenue: SecondVenueAccess.client(context), journal: journal,
            events: events, logger: context.logger, source: "\(configuration.system.instance)/portfolio")
        let settings = configuration.portfolio
        return ServiceParts(
            addRoutes: { router in PortfolioAPI.addRoutes(to: router, book: book, journal: journal) },
            healthChecks: [exchange.healthCheck, BalancesCheck(book: book)],
            backgroundServices: [
                exchange,
                OnceService { await book.open() },
                // Fills are taken once the ledger is open: until then their handler could only
                // wait, and each restart meanwhile (an exchange ban keeps it from opening) would
                // count as a failed delivery, until the fills were dead-lettered.
                StartAfter(
                    book.opened,
                    run: context.subscribe(to: [.orderPartiallyFilled, .orderFilled]) { try await book.book($0) }),
                context.subscribe(to: [.marketTick], role: "marks") { try book.mark($0) },
                PeriodicService(every: settings.snapshotInterval) { await book.snapshot() },
                PeriodicService(every: settings.reconcileInterval) { await book.reconcile() },
                PeriodicService(every: .seconds(3_600)) {
                    try? await journal.prune(before: Date().addingTimeInterval(-90 * 86_400))
                },
            ],
            statusUpdates: book.statusUpdates)
    }
}

/// `portfolio:balances`: warns until the ledger is open, fails while a position or the cash
/// differs from the exchange's balance at two checks in a row.
struct BalancesCheck: HealthCheck {
    let book: PortfolioBook
    let key = "portfolio:balances"
    let componentType = "component"

    func measure() async throws -> HealthMeasurement {
        let (open, differences, checked) = book.state.withLock { ($0.ledger != nil, $0.differences, $0.lastReconciled) }
        guard open else { return HealthMeasurement(status: .warn, output: "opening the ledger (waiting for the exchange and PostgreSQL)") }
        guard differences.isEmpty else {
            let text = differences.map { "\($0.asset): ledger \($0.ledger), exchange \($0.exchange)" }.joined(separator: "; ")
            return HealthMeasurement(status: .fail, value: Double(differences.count), output: "differs from the exchange: \(text)")
        }
        return HealthMeasurement(
            value: 0, output: checked == nil ? "not compared with the exchange yet" : "positions and cash equal the exchange's balances")
    }
}

struct PortfolioUnavailable: Error, CustomStringConvertible {
    var what: String
    var description: String { "the portfolio service needs \(what)" }
}
