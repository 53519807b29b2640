import Binance
import EventBus
import HTTPTypes
import PaperExchange

/// Binance's `SIGNED` trading and account endpoints over the paper account: new orders, their
/// query and cancel, open orders, the account's balances and trades.
enum TradingRoutes {
    static func add(to route: MarketDataRoutes.Register, markets: SimulatedMarkets) {
        route(.post, "order") { parameters, exchange, now throws(BinanceError) in
            let parsed = try NewOrderRequest.read(parameters.values, markets: markets).get()
            let placed = try exchange.place(parsed.order, now: now)
            return BinanceReplies.placed(placed, as: parsed.responseType)
        }
        // A new order checked as Binance checks it (signature, time, parameters, filters,
        // MARKET notional at the current price), never placed.
        route(.post, "order/test") { parameters, exchange, _ throws(BinanceError) in
            let parsed = try NewOrderRequest.read(parameters.values, markets: markets).get()
            let terms = parsed.order.terms
            let filters = markets.symbol(terms.symbol)?.filters ?? SymbolFilters()
            let open = try exchange.openOrders(symbol: terms.symbol).count
            if let failure = filters.failure(of: terms, referencePrice: try exchange.midPrice(symbol: terms.symbol), openOrders: open) {
                throw .filter(failure)
            }
            return .object([:])
        }
        route(.get, "order") { parameters, exchange, _ throws(BinanceError) in
            let symbol = try parameters.symbol(in: markets)
            let reference = try parameters.orderReference()
            return BinanceReplies.order(try exchange.order(symbol: symbol, orderId: reference.id, clientOrderId: reference.clientOrderId))
        }
        route(.delete, "order") { parameters, exchange, now throws(BinanceError) in
            let symbol = try parameters.symbol(in: markets)
            let reference = try parameters.orderReference()
            let cancelId = parameters.present("newClientOrderId")
            let order = try exchange.cancel(
                symbol: symbol, orderId: reference.id, clientOrderId: reference.clientOrderId, newClientOrderId: cancelId, now: now)
            return BinanceReplies.canceled(order, cancelId: cancelId ?? "cancel\(order.id)", at: now)
        }
        route(.get, "openOrders") { parameters, exchange, _ throws(BinanceError) in
            .array(try exchange.openOrders(symbol: try parameters.optionalSymbol(in: markets)).map(BinanceReplies.order))
        }
        route(.delete, "openOrders") { parameters, exchange, now throws(BinanceError) in
            let symbol = try parameters.symbol(in: markets)
            return .array(
                try exchange.cancelAll(symbol: symbol, now: now).map { BinanceReplies.canceled($0, cancelId: "cancel\($0.id)", at: now) })
        }
        route(.get, "allOrders") { parameters, exchange, _ throws(BinanceError) in
            let limit = try parameters.integer("limit") ?? 500
            guard (1...1_000).contains(limit) else { throw BinanceError(code: -1130, msg: "Data sent for parameter 'limit' is not valid.") }
            return .array(
                try exchange.allOrders(
                    symbol: try parameters.symbol(in: markets), fromId: try parameters.integer("orderId"), limit: Int(limit)
                )
                .map(BinanceReplies.order))
        }
        route(.get, "account") { parameters, exchange, _ in
            BinanceReplies.account(exchange, omitZeroBalances: parameters.flag("omitZeroBalances"))
        }
        route(.get, "myTrades") { parameters, exchange, _ throws(BinanceError) in
            let symbol = try parameters.symbol(in: markets)
            let trades = try exchange.trades(
                symbol: symbol, orderId: try parameters.integer("orderId"), fromId: try parameters.integer("fromId"),
                startTime: try parameters.integer("startTime"), endTime: try parameters.integer("endTime"),
                limit: try parameters.limit(default: 500, max: 1_000))
            return .array(trades.map(BinanceReplies.trade))
        }
    }
}
