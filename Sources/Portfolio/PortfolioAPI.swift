import EventBus
import Foundation
import Hummingbird
import Money
import ServiceKit

/// The portfolio's REST API for the gateway and operators: positions, PnL by period, and the
/// trade history newest first with paging (`before` is the last page's `next`), and the equity
/// history of the snapshots for charts.
enum PortfolioAPI {
    static func addRoutes(to router: Router<BasicRequestContext>, book: PortfolioBook, journal: TradeJournal) {
        router.get("/api/portfolio/positions") { _, _ -> Response in
            guard let ledger = book.state.withLock({ $0.ledger }) else {
                return JSONResponse.error(.serviceUnavailable, "the portfolio is opening")
            }
            let positions: [JSONValue] = ledger.positions.keys.sorted().compactMap { symbol in
                guard let position = ledger.positions[symbol] else { return nil }
                let mark = ledger.marks[symbol]
                return .fields([
                    "symbol": .string(symbol), "quantity": .string(position.quantity.description),
                    "cost": .string(position.cost.description),
                    "averagePrice": position.averagePrice.map(JSONValue.amount), "mark": mark.map(JSONValue.amount),
                    "unrealizedPnl": mark.flatMap { try? position.unrealized(at: $0) }.map { .string($0.description) },
                    "realizedPnl": .string(position.realized.description), "fees": .string(position.fees.description),
                ])
            }
            return JSONResponse.make(.ok, .object(["account": .string(ledger.account), "positions": .array(positions)]))
        }
        router.get("/api/portfolio/pnl") { _, _ -> Response in
            let (ledger, periods, fills) = book.state.withLock { ($0.ledger, $0.periods, $0.journaled) }
            guard let ledger else { return JSONResponse.error(.serviceUnavailable, "the portfolio is opening") }
            do {
                let equity = try ledger.equity
                var fields: [String: JSONValue?] = [
                    "account": .string(ledger.account), "equity": .string(equity.description), "cash": .string(ledger.cash.description),
                    "realizedPnl": .string(try ledger.realized.description), "unrealizedPnl": .string(try ledger.unrealized.description),
                    "fees": .string(try ledger.fees.description), "exposure": .string(try ledger.exposure.description),
                    "openingEquity": .string(ledger.openingEquity.description), "peakEquity": periods.peak.map { .string($0.description) },
                    "drawdown": .string(periods.drawdown.description), "fills": .number(Double(fills)),
                ]
                var pnl: [String: JSONValue] = [:]
                for period in PeriodPnL.Period.allCases {
                    pnl[period.rawValue] = .fields([
                        "pnl": .string(periods.pnl(period).description), "since": periods.periodStart(period).map(JSONValue.time),
                    ])
                }
                fields["pnl"] = .object(pnl)
                if !ledger.otherFees.isEmpty { fields["otherFees"] = .object(ledger.otherFees.mapValues { .string($0.description) }) }
                return JSONResponse.make(.ok, JSONValue.fields(fields))
            } catch {
                return JSONResponse.error(.internalServerError, "\(error)")
            }
        }
        router.get("/api/portfolio/trades") { request, _ -> Response in
            let parameters = request.uri.queryParameters
            let limitText = parameters.get("limit") ?? "100"
            guard let limit = Int(limitText), (1...1_000).contains(limit) else {
                return JSONResponse.error(.badRequest, "limit: expected a whole number from 1 to 1000, got \"\(limitText)\"")
            }
            var before: Int64?
            if let text = parameters.get("before") {
                guard let value = Int64(text), value > 0 else {
                    return JSONResponse.error(.badRequest, "before: expected a trade's id (a positive whole number), got \"\(text)\"")
                }
                before = value
            }
            do {
                let trades = try await journal.history(before: before, limit: limit)
                let items: [JSONValue] = trades.map { id, fill in
                    .object([
                        "id": .number(Double(id)), "symbol": .string(fill.symbol), "side": .string(fill.side.rawValue),
                        "quantity": .amount(fill.quantity), "price": .amount(fill.price),
                        "commission": .string(fill.commission.description),
                        "commissionAsset": .string(fill.commissionAsset), "tradeId": .number(Double(fill.tradeId)),
                        "clientOrderId": .string(fill.clientOrderId), "time": .time(fill.time), "venue": .string(fill.venue.rawValue),
                    ])
                }
                return JSONResponse.make(
                    .ok,
                    JSONValue.fields([
                        "trades": .array(items), "next": trades.count == limit ? trades.last.map { .number(Double($0.id)) } : nil,
                    ]))
            } catch {
                return JSONResponse.error(.serviceUnavailable, "trades: \(PostgresErrorText.describe(error))")
            }
        }
        router.get("/api/portfolio/equity") { request, _ -> Response in
            let limitText = request.uri.queryParameters.get("limit") ?? "360"
            guard let limit = Int(limitText), (1...10_000).contains(limit) else {
                return JSONResponse.error(.badRequest, "limit: expected a whole number from 1 to 10000, got \"\(limitText)\"")
            }
            do {
                let points: [JSONValue] = try await journal.equityHistory(limit: limit).map { point in
                    .object([
                        "time": .time(point.time), "equity": .string(point.equity), "drawdown": .string(point.drawdown),
                        "dayPnl": .string(point.dayPnl),
                    ])
                }
                return JSONResponse.make(.ok, .object(["points": .array(points)]))
            } catch {
                return JSONResponse.error(.serviceUnavailable, "equity history: \(PostgresErrorText.describe(error))")
            }
        }
    }
}
