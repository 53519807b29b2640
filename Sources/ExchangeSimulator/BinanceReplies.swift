import Binance
import EventBus
import Money
import PaperExchange

/// The paper exchange's state in Binance's reply shapes (rest-api.md): amounts as decimal
/// strings with at least eight places, times in milliseconds.
enum BinanceReplies {
    static func amount(_ value: FixedDecimal) -> JSONValue {
        .string((try? value.text(places: max(8, value.places))) ?? value.description)
    }

    static func amount(_ value: some DecimalAmount) -> JSONValue { amount(value.value) }

    static func integer(_ value: Int64) -> JSONValue { .number(Double(value)) }

    /// The fields every order shape shares.
    private static func orderCore(_ order: PaperOrder) -> [String: JSONValue] {
        [
            "symbol": .string(order.symbol), "orderId": integer(order.id), "orderListId": .number(-1),
            "price": amount(order.price), "origQty": amount(order.origQty), "executedQty": amount(order.executedQty),
            "origQuoteOrderQty": amount(order.origQuoteOrderQty), "cummulativeQuoteQty": amount(order.cumulativeQuoteQty),
            "status": .string(order.status.rawValue), "timeInForce": .string(order.timeInForce.rawValue),
            "type": .string(order.type.rawValue), "side": .string(order.side.rawValue), "selfTradePreventionMode": .string("NONE"),
        ]
    }

    /// `GET /api/v3/order` and each of `openOrders`.
    static func order(_ order: PaperOrder) -> JSONValue {
        var fields = orderCore(order)
        fields["clientOrderId"] = .string(order.clientOrderId)
        fields["stopPrice"] = amount(FixedDecimal.zero)
        fields["icebergQty"] = amount(FixedDecimal.zero)
        fields["time"] = integer(order.time)
        fields["updateTime"] = integer(order.updateTime)
        fields["isWorking"] = .bool(true)
        fields["workingTime"] = integer(order.time)
        return .object(fields)
    }

    enum ResponseType: String, CaseIterable {
        case ack = "ACK"
        case result = "RESULT"
        case full = "FULL"
    }

    /// `POST /api/v3/order` in the asked shape.
    static func placed(_ placed: PaperExchange.Placed, as type: ResponseType) -> JSONValue {
        let order = placed.order
        var fields: [String: JSONValue] = [
            "symbol": .string(order.symbol), "orderId": integer(order.id), "orderListId": .number(-1),
            "clientOrderId": .string(order.clientOrderId), "transactTime": integer(order.time),
        ]
        guard type != .ack else { return .object(fields) }
        fields.merge(orderCore(order)) { _, core in core }
        fields["workingTime"] = integer(order.time)
        guard type == .full else { return .object(fields) }
        fields["fills"] = .array(
            placed.fills.map { fill in
                .object([
                    "price": amount(fill.price), "qty": amount(fill.qty), "commission": amount(fill.commission),
                    "commissionAsset": .string(fill.commissionAsset), "tradeId": integer(fill.id),
                ])
            })
        return .object(fields)
    }

    /// `DELETE /api/v3/order`: `clientOrderId` is the cancel's own id.
    static func canceled(_ order: PaperOrder, cancelId: String, at time: Int64) -> JSONValue {
        var fields = orderCore(order)
        fields["origClientOrderId"] = .string(order.clientOrderId)
        fields["clientOrderId"] = .string(cancelId)
        fields["transactTime"] = integer(time)
        return .object(fields)
    }

    static func trade(_ trade: PaperTrade) -> JSONValue {
        .object([
            "symbol": .string(trade.symbol), "id": integer(trade.id), "orderId": integer(trade.orderId), "orderListId": .number(-1),
            "price": amount(trade.price), "qty": amount(trade.qty), "quoteQty": amount(trade.quoteQty),
            "commission": amount(trade.commission), "commissionAsset": .string(trade.commissionAsset), "time": integer(trade.time),
            "isBuyer": .bool(trade.isBuyer), "isMaker": .bool(trade.isMaker), "isBestMatch": .bool(true),
        ])
    }

    /// `GET /api/v3/account`.
    static func account(_ exchange: PaperExchange, omitZeroBalances: Bool) -> JSONValue {
        let settings = exchange.settings
        func basisPoints(_ rate: FixedDecimal) -> JSONValue {
            let points = (try? rate.multiplied(by: FixedDecimal(10_000), scale: 0, rounding: .halfEven)) ?? .zero
            return .number(Double(points.units / FixedDecimal(1).units))
        }
        let balances = exchange.accountBalances.filter { !omitZeroBalances || !$0.balance.free.isZero || !$0.balance.locked.isZero }
        return .object([
            "makerCommission": basisPoints(settings.makerCommission), "takerCommission": basisPoints(settings.takerCommission),
            "buyerCommission": .number(0), "sellerCommission": .number(0),
            "commissionRates": .object([
                "maker": amount(settings.makerCommission), "taker": amount(settings.takerCommission),
                "buyer": amount(FixedDecimal.zero), "seller": amount(FixedDecimal.zero),
            ]),
            "canTrade": .bool(true), "canWithdraw": .bool(false), "canDeposit": .bool(false), "brokered": .bool(false),
            "requireSelfTradePrevention": .bool(false), "preventSor": .bool(false), "updateTime": integer(exchange.updateTime),
            "accountType": .string("SPOT"),
            "balances": .array(
                balances.map {
                    .object(["asset": .string($0.asset), "free": amount($0.balance.free), "locked": amount($0.balance.locked)])
                }),
            "permissions": .array([.string("SPOT")]), "uid": .number(1),
        ])
    }

    /// One kline as Binance's 12-element array.
    static func kline(_ candle: Candle, tickSize: Price) -> JSONValue {
        func price(_ ticks: Int) -> JSONValue { amount(Tick.price(ticks, tickSize: tickSize)) }
        return .array([
            integer(candle.openTime), price(candle.open), price(candle.high), price(candle.low), price(candle.close),
            amount(candle.volume), integer(candle.closeTime), amount(candle.quoteVolume), .number(Double(candle.trades)),
            amount(candle.takerBuyVolume), amount(candle.takerBuyQuoteVolume), .string("0"),
        ])
    }

    static func depth(_ book: PaperExchange.Book) -> JSONValue {
        func side(_ levels: [PaperExchange.Level]) -> JSONValue {
            .array(levels.map { .array([amount($0.price), amount($0.qty)]) })
        }
        return .object(["lastUpdateId": integer(book.lastUpdateId), "bids": side(book.bids), "asks": side(book.asks)])
    }

    static func bookTicker(symbol: String, _ book: PaperExchange.Book) -> JSONValue {
        .object([
            "symbol": .string(symbol), "bidPrice": amount(book.bids.first?.price ?? .zero), "bidQty": amount(book.bids.first?.qty ?? .zero),
            "askPrice": amount(book.asks.first?.price ?? .zero), "askQty": amount(book.asks.first?.qty ?? .zero),
        ])
    }
}
