import Binance
import BinanceAdapter
import EventBus
import Foundation
import Money
import OKXAdapter
import ServiceKit

/// The second venue as an ``OrderVenue``: OKX's spot account in Binance's terms, so the
/// executor books its orders as it books Binance's. Our client order id goes to OKX as
/// `clOrdId` without its dashes (``SecondVenueAccess/clOrdId(_:)``). A limit's price is put on OKX's grid away from the market (a buy
/// rounded down, a sell up) and its size down to OKX's lot. OKX has no user data stream here:
/// the executor reads an open order back (``order(symbol:clientOrderId:)``) until it is final.
struct OKXOrderVenue: OrderVenue {
    let client: OKXClient
    /// OKX's spot instruments by Binance's symbol (`BTCUSDT`: `BTC-USDT`), read at start.
    let instruments: [String: OKXInstrument]

    var venue: TradingVenue { .okx }

    /// Lookups of an order whose placement went unanswered before its outcome is called unknown,
    /// and the misses in a row that mean it was never placed.
    static let reconcileAttempts = 5
    static let notFoundConfirmations = 2

    func instrument(_ symbol: String) throws(ExchangeError) -> OKXInstrument {
        guard let instrument = instruments[symbol], instrument.state == "live" else {
            throw .invalidRequest("\(symbol) is not a live spot instrument at okx")
        }
        return instrument
    }

    /// The price and size OKX will take for `intent`, or why not.
    func terms(_ intent: OrderIntent, _ instrument: OKXInstrument) throws(ExchangeError) -> (price: Price, size: Quantity) {
        guard intent.type == .limit, let price = intent.price, let quantity = intent.quantity else {
            throw .invalidRequest("okx: execution places limit orders with a price and a quantity only")
        }
        guard let tick = instrument.tickSize, let lot = instrument.lotSize else {
            throw .invalidRequest("okx: \(instrument.instId) has no tickSz or lotSz")
        }
        do {
            let onGrid = try price.rounded(toTick: tick, rounding: intent.side == .buy ? .down : .up)
            let size = try quantity.rounded(downToStep: lot)
            if let minimum = instrument.minSize, size < minimum {
                throw ExchangeError.refusedLocally(
                    FilterFailure(filter: "OKX_MIN_SIZE", detail: "\(size) \(instrument.baseCcy) is under okx's minSz \(minimum)"))
            }
            guard onGrid > .zero, size > .zero else {
                throw ExchangeError.refusedLocally(FilterFailure(filter: "OKX_GRID", detail: "\(price) × \(quantity) rounds to nothing"))
            }
            return (onGrid, size)
        } catch let error as ExchangeError {
            throw error
        } catch {
            throw .invalidRequest("okx: \(error)")
        }
    }

    func place(_ intent: OrderIntent) async throws(ExchangeError) -> OrderReport {
        let instrument = try instrument(intent.symbol)
        let (price, size) = try terms(intent, instrument)
        let placement: OKXPlacement
        do {
            placement = try await client.placeLimitOrder(
                instId: instrument.instId, side: intent.side == .buy ? .buy : .sell, price: price, size: size,
                clOrdId: SecondVenueAccess.clOrdId(intent.clientOrderId))
        } catch {
            switch error {
            case .rejected(let code, let message): throw .rejected(Self.refusal(code, message))
            case .rateLimited(let until): throw .rateLimited(until: until)
            case .unreachable(let reason), .malformedReply(_, let reason):
                // It may have been placed: read back by its id, never sent again.
                throw .outcomeUnknown(clientOrderId: intent.clientOrderId, reason: "okx: \(reason)")
            }
        }
        // Its state now: a limit that crosses the book has filled at once. If that read fails,
        // the order stands as accepted and the executor reads it back.
        if let report = try? await orderWithFills(symbol: intent.symbol, clientOrderId: intent.clientOrderId) { return report }
        return OrderReport(
            symbol: intent.symbol, orderId: placement.ordId, clientOrderId: intent.clientOrderId, status: .new, side: intent.side,
            type: "LIMIT", price: price, origQty: size, executedQty: .zero, cumulativeQuoteQty: .zero, fills: [], reconciled: false)
    }

    func reconcile(symbol: String, clientOrderId: String) async throws(ExchangeError) -> OrderReport {
        var misses = 0
        var lastProblem = "no lookup answered"
        for attempt in 0..<Self.reconcileAttempts {
            if attempt > 0 { try? await Task.sleep(for: .milliseconds(250 << min(attempt - 1, 4))) }
            do throws(ExchangeError) {
                guard var report = try await orderWithFills(symbol: symbol, clientOrderId: clientOrderId) else {
                    misses += 1
                    if misses >= Self.notFoundConfirmations { throw ExchangeError.notPlaced(clientOrderId: clientOrderId) }
                    continue
                }
                report.reconciled = true
                return report
            } catch .notPlaced(let id) {
                throw .notPlaced(clientOrderId: id)
            } catch {
                lastProblem = error.description
            }
        }
        throw .outcomeUnknown(clientOrderId: clientOrderId, reason: "okx: \(lastProblem)")
    }

    /// The order in Binance's terms, with its fills (read when anything filled; its quote amount
    /// is their sum); nil when OKX does not know it (51603).
    func orderWithFills(symbol: String, clientOrderId: String) async throws(ExchangeError) -> OrderReport? {
        let instrument = try instrument(symbol)
        let found: OKXOrder
        do {
            found = try await client.order(instId: instrument.instId, clOrdId: SecondVenueAccess.clOrdId(clientOrderId))
        } catch .rejected(let code, _) where code == OKXCode.orderUnknown {
            return nil
        } catch {
            throw Self.translated(error)
        }
        let fills = found.filled > .zero ? try await self.fills(symbol: symbol, orderId: found.ordId) : []
        var quote = FixedDecimal.zero
        for fill in fills {
            guard let sum = try? quote + Money.notional(of: fill.qty, at: fill.price).value else {
                throw .malformedReply(endpoint: "okx trade/fills", problem: "the fills' notional overflows")
            }
            quote = sum
        }
        return OrderReport(
            symbol: symbol, orderId: found.ordId, clientOrderId: clientOrderId, status: found.state.binanceStatus,
            side: found.side == .buy ? .buy : .sell,
            type: "LIMIT", price: found.price ?? Price(.zero), origQty: Quantity(found.size), executedQty: found.filled,
            cumulativeQuoteQty: Money(quote), fills: fills, reconciled: false)
    }

    /// An order's fills, oldest first; OKX's fee (negative when charged) as Binance's
    /// commission (positive when charged).
    func fills(symbol: String, orderId: Int64) async throws(ExchangeError) -> [FillReport] {
        let instrument = try instrument(symbol)
        let fills: [OKXFill]
        do {
            fills = try await client.fills(instId: instrument.instId, ordId: orderId)
        } catch {
            throw Self.translated(error)
        }
        return fills.sorted { ($0.time, $0.tradeId) < ($1.time, $1.tradeId) }.map { fill in
            FillReport(
                tradeId: fill.tradeId, price: fill.price, qty: fill.quantity, commission: (try? .zero - fill.fee) ?? .zero,
                commissionAsset: fill.feeCcy)
        }
    }

    func cancel(symbol: String, clientOrderId: String) async throws(ExchangeError) -> OrderReport {
        let instrument = try instrument(symbol)
        do {
            try await client.cancel(instId: instrument.instId, clOrdId: SecondVenueAccess.clOrdId(clientOrderId))
        } catch .rejected(let code, let message) where code == OKXCode.cancelFailed {
            // Binance's "Unknown order sent.": it is not open any more, read it back.
            throw .rejected(BinanceError(code: -2011, msg: "okx \(code): \(message)"))
        } catch {
            throw Self.translated(error)
        }
        guard let report = try await orderWithFills(symbol: symbol, clientOrderId: clientOrderId) else {
            throw .malformedReply(endpoint: "okx trade/order", problem: "an order just canceled is unknown")
        }
        return report
    }

    func balances() async throws(ExchangeError) -> [BalanceReport] {
        do {
            return try await client.balances().map { BalanceReport(asset: $0.ccy, free: $0.available, locked: $0.frozen) }
        } catch {
            throw Self.translated(error)
        }
    }

    /// OKX's refusal as an exchange error: its code (51008, 51016, …) and message, named.
    static func refusal(_ code: String, _ message: String) -> BinanceError {
        BinanceError(code: Int(code) ?? 0, msg: "okx \(code): \(message)")
    }

    static func translated(_ error: OKXError) -> ExchangeError {
        switch error {
        case .rejected(let code, let message): .rejected(refusal(code, message))
        case .rateLimited(let until): .rateLimited(until: until)
        case .malformedReply(let endpoint, let problem): .malformedReply(endpoint: "okx \(endpoint)", problem: problem)
        case .unreachable(let reason): .unreachable("okx: \(reason)")
        }
    }
}
