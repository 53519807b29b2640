import Binance
import EventBus
import Money
import NIOHTTP1

/// A new order as the caller means it; the adapter puts it on the symbol's grid.
public struct OrderIntent: Sendable, Equatable {
    public var symbol: String
    public var side: OrderSide
    public var type: BinanceOrderType
    /// LIMIT only (GTC, IOC, FOK).
    public var timeInForce: TimeInForce?
    public var quantity: Quantity?
    /// MARKET by quote amount.
    public var quoteQuantity: Money?
    public var price: Price?
    /// The caller's id for this order: the same id on every retry, so it is placed once.
    public var clientOrderId: String
    /// What a MARKET order's notional is judged at (the last price the caller saw); nil skips
    /// that local check, and the exchange judges it.
    public var referencePrice: Price?
    /// The symbol's open orders the caller knows of, for MAX_NUM_ORDERS.
    public var openOrders: Int

    public init(
        symbol: String, side: OrderSide, type: BinanceOrderType, timeInForce: TimeInForce? = nil, quantity: Quantity? = nil,
        quoteQuantity: Money? = nil, price: Price? = nil, clientOrderId: String, referencePrice: Price? = nil, openOrders: Int = 0
    ) {
        self.symbol = symbol
        self.side = side
        self.type = type
        self.timeInForce = timeInForce
        self.quantity = quantity
        self.quoteQuantity = quoteQuantity
        self.price = price
        self.clientOrderId = clientOrderId
        self.referencePrice = referencePrice
        self.openOrders = openOrders
    }
}

extension BinanceClient {
    /// Places an order: conformed to the symbol's filters (price to the tick, never worse
    /// than asked; quantity down to the step) or refused here naming the filter; sent with the
    /// caller's client order id and a FULL reply. When the reply is lost (no answer, 5xx,
    /// Binance's "status unknown") or unreadable, the order is looked up by its client order id
    /// until its real outcome is known; it is never sent twice.
    public func place(_ intent: OrderIntent) async throws(ExchangeError) -> OrderReport {
        guard ClientOrderID.isValid(intent.clientOrderId) else {
            throw .invalidRequest("client order id \"\(intent.clientOrderId)\" is not 1 to 36 of [.A-Z:/a-z0-9_-]")
        }
        guard let filters = rules(for: intent.symbol) else {
            throw state.withLock(\.rules).isEmpty ? .notConnected : .invalidRequest("unknown symbol \(intent.symbol)")
        }
        let parameters = try Self.orderParameters(intent, filters: filters)
        let problem: String
        do {
            let reply = try await call(.POST, "order", parameters, signed: true)
            return try Self.read("order") { () throws(PayloadError) in try OrderReport(reply) }
        } catch .unreachable(let reason) {
            problem = "reply lost: \(reason)"
        } catch .malformedReply(_, let reason) {
            // Answered, so quite possibly placed: what it did is read back below.
            problem = "reply unreadable: \(reason)"
        }
        logger.warning(
            "order outcome not in its reply; reconciling by client order id",
            metadata: ["client_order_id": "\(intent.clientOrderId)", "problem": "\(problem)"])
        return try await reconcile(symbol: intent.symbol, clientOrderId: intent.clientOrderId)
    }

    /// A new order's parameters as Binance reads them: the intent conformed to the symbol's
    /// filters (or refused naming the filter), amounts at the grid's places.
    public static func orderParameters(_ intent: OrderIntent, filters: SymbolFilters) throws(ExchangeError) -> [(String, String)] {
        let asked = OrderTerms(
            symbol: intent.symbol, side: intent.side, type: intent.type, quantity: intent.quantity, quoteQuantity: intent.quoteQuantity,
            price: intent.price)
        let terms: OrderTerms
        switch filters.conform(asked, referencePrice: intent.referencePrice, openOrders: intent.openOrders) {
        case .success(let conformed): terms = conformed
        case .failure(let failure): throw .refusedLocally(failure)
        }
        var parameters = [("symbol", terms.symbol), ("side", terms.side.rawValue), ("type", terms.type.rawValue)]
        if terms.type == .limit { parameters.append(("timeInForce", (intent.timeInForce ?? .gtc).rawValue)) }
        if let quantity = terms.quantity {
            parameters.append(("quantity", text(quantity.value, grid: filters.lotSize?.stepSize.value)))
        }
        if let quote = terms.quoteQuantity { parameters.append(("quoteOrderQty", quote.value.description)) }
        if let price = terms.price { parameters.append(("price", text(price.value, grid: filters.price?.tickSize.value))) }
        parameters += [("newClientOrderId", intent.clientOrderId), ("newOrderRespType", "FULL")]
        return parameters
    }

    /// Looks an order up by its client order id until its outcome is known: found (with its
    /// fills read from the account's trades), or not found `notFoundConfirmations` times in a
    /// row (``ExchangeError/notPlaced(clientOrderId:)``), or neither within `reconcileAttempts`
    /// lookups (``ExchangeError/outcomeUnknown(clientOrderId:reason:)``). It throws nothing
    /// else: a lookup that fails for any other reason (a ban, a 429, an unreadable reply) says
    /// nothing about the order, so it is asked again after the pause.
    public func reconcile(symbol: String, clientOrderId: String) async throws(ExchangeError) -> OrderReport {
        var misses = 0
        var lastProblem = "no lookup answered"
        for attempt in 0..<max(settings.reconcileAttempts, 1) {
            if attempt > 0 {
                // 250 ms doubling to 4 s on the exchange's clock, lengthened by up to a half.
                let delay = Int64(250 << min(attempt - 1, 4))
                try? await clock.sleep(until: clock.now() + delay + Int64.random(in: 0...(delay / 2)))
            }
            do throws(ExchangeError) {
                guard var report = try await order(symbol: symbol, clientOrderId: clientOrderId) else {
                    misses += 1
                    if misses >= settings.notFoundConfirmations {
                        metrics.reconciled(outcome: "not_placed")
                        logger.notice("reconciled: order never reached the exchange", metadata: ["client_order_id": "\(clientOrderId)"])
                        throw ExchangeError.notPlaced(clientOrderId: clientOrderId)
                    }
                    continue
                }
                misses = 0
                report.fills = try await fills(symbol: symbol, orderId: report.orderId)
                report.reconciled = true
                metrics.reconciled(outcome: "found")
                logger.notice(
                    "reconciled: order found", metadata: ["client_order_id": "\(clientOrderId)", "status": "\(report.status.rawValue)"])
                return report
            } catch .notPlaced(let id) {
                throw .notPlaced(clientOrderId: id)
            } catch {
                // Unreachable, throttled, banned (refused here until the ban ends, never sent),
                // a lookup refused or unreadable: none says the order is not there, so it may be.
                lastProblem = error.description
            }
        }
        metrics.reconciled(outcome: "unknown")
        throw .outcomeUnknown(clientOrderId: clientOrderId, reason: lastProblem)
    }

    /// An order by client order id (`GET /api/v3/order`); nil when the exchange does not know it.
    public func order(symbol: String, clientOrderId: String) async throws(ExchangeError) -> OrderReport? {
        let reply: JSONValue
        do {
            reply = try await call(.GET, "order", [("symbol", symbol), ("origClientOrderId", clientOrderId)], signed: true)
        } catch .rejected(let error) where error.code == -2013 {
            return nil
        }
        return try Self.read("order") { () throws(PayloadError) in try OrderReport(reply) }
    }

    /// Cancels an open order by client order id (`DELETE /api/v3/order`).
    public func cancel(symbol: String, clientOrderId: String) async throws(ExchangeError) -> OrderReport {
        let reply = try await call(.DELETE, "order", [("symbol", symbol), ("origClientOrderId", clientOrderId)], signed: true)
        return try Self.read("order") { () throws(PayloadError) in try OrderReport(reply, clientOrderIdField: "origClientOrderId") }
    }

    /// Open orders, on one symbol or all.
    public func openOrders(symbol: String?) async throws(ExchangeError) -> [OrderReport] {
        let reply = try await call(.GET, "openOrders", symbol.map { [("symbol", $0)] } ?? [], signed: true)
        return try Self.list(reply, endpoint: "openOrders") { item, _ throws(PayloadError) in try OrderReport(item) }
    }

    /// The account's orders on `symbol`, oldest first, from the exchange's order id `fromId`
    /// (or the most recent), at most `limit` (`GET /api/v3/allOrders`).
    public func allOrders(symbol: String, fromId: Int64?, limit: Int = 500) async throws(ExchangeError) -> [OrderReport] {
        var parameters = [("symbol", symbol), ("limit", String(min(max(limit, 1), 1_000)))]
        if let fromId { parameters.append(("orderId", String(fromId))) }
        let reply = try await call(.GET, "allOrders", parameters, signed: true)
        return try Self.list(reply, endpoint: "allOrders") { item, _ throws(PayloadError) in try OrderReport(item) }
    }

    /// The fills of one order (`GET /api/v3/myTrades?orderId=`).
    public func fills(symbol: String, orderId: Int64) async throws(ExchangeError) -> [FillReport] {
        let reply = try await call(.GET, "myTrades", [("symbol", symbol), ("orderId", String(orderId))], signed: true)
        return try Self.list(reply, endpoint: "myTrades") { item, index throws(PayloadError) in
            try FillReport(item, name: "myTrades[\(index)]")
        }
    }

    /// The account's balances (`GET /api/v3/account`), the assets held.
    public func balances() async throws(ExchangeError) -> [BalanceReport] {
        let reply = try await call(.GET, "account", [("omitZeroBalances", "true")], signed: true)
        guard case .object(let fields) = reply, let balances = fields["balances"] else {
            throw .malformedReply(endpoint: "account", problem: "balances: missing")
        }
        return try Self.list(balances, endpoint: "account") { item, index throws(PayloadError) in
            let reader = try PayloadReader(item, name: "balances[\(index)]")
            let asset = reader.string("asset", maxLength: 16)
            let free = reader.exactDecimal("free")
            let locked = reader.exactDecimal("locked")
            try reader.finish(allowing: true)
            guard let asset, let free, let locked else { throw PayloadError(problems: ["balances[\(index)]: incomplete"]) }
            return BalanceReport(asset: asset, free: free, locked: locked)
        }
    }

    /// An amount as the exchange wants it: with the places of the symbol's grid.
    static func text(_ value: FixedDecimal, grid: FixedDecimal?) -> String {
        let places = max(grid.map(\.places) ?? 0, value.places)
        return (try? value.text(places: places)) ?? value.description
    }

    /// A reply read into a type; what cannot be read is named.
    static func read<T>(_ endpoint: String, _ body: () throws(PayloadError) -> T) throws(ExchangeError) -> T {
        do {
            return try body()
        } catch {
            throw .malformedReply(endpoint: endpoint, problem: "\(error)")
        }
    }

    static func list<T>(_ value: JSONValue, endpoint: String, _ item: (JSONValue, Int) throws(PayloadError) -> T) throws(ExchangeError)
        -> [T]
    {
        guard case .array(let items) = value else { throw .malformedReply(endpoint: endpoint, problem: "expected a list") }
        var result: [T] = []
        for (index, entry) in items.enumerated() {
            do {
                result.append(try item(entry, index))
            } catch {
                throw .malformedReply(endpoint: endpoint, problem: "\(error)")
            }
        }
        return result
    }
}

extension BinanceClient {
    /// The account's trades on `symbol` from trade id `fromId` (`GET /api/v3/myTrades`).
    public func trades(symbol: String, fromId: Int64?, limit: Int = 500) async throws(ExchangeError) -> [TradeReport] {
        var parameters = [("symbol", symbol), ("limit", String(min(max(limit, 1), 1_000)))]
        if let fromId { parameters.append(("fromId", String(fromId))) }
        let reply = try await call(.GET, "myTrades", parameters, signed: true)
        return try Self.list(reply, endpoint: "myTrades") { item, index throws(PayloadError) in
            try TradeReport(item, name: "myTrades[\(index)]")
        }
    }

    /// An order by the exchange's id; nil when the exchange does not know it.
    public func order(symbol: String, orderId: Int64) async throws(ExchangeError) -> OrderReport? {
        let reply: JSONValue
        do {
            reply = try await call(.GET, "order", [("symbol", symbol), ("orderId", String(orderId))], signed: true)
        } catch .rejected(let error) where error.code == -2013 {
            return nil
        }
        return try Self.read("order") { () throws(PayloadError) in try OrderReport(reply) }
    }
}
