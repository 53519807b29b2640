import Binance
import EventBus
import HTTPTypes
import Money
import OKXAdapter
import PaperExchange

/// OKX's private spot endpoints over the paper exchange's OKX account: its own balances,
/// orders and fills, trading against its own copy of the simulated markets (the same seed and
/// clock, so the same prices; liquidity one venue's account takes is not taken from the
/// other's). `POST trade/order` (`tdMode` `cash`; `limit`, `market`, `ioc`, `fok`; `clOrdId`
/// up to 32 letters and digits, refused with 51016 while an order with it is open),
/// `POST trade/cancel-order`, `GET trade/order`, `GET account/balance`, `GET trade/fills` and
/// `trade/fills-history` (the same fills: the simulator keeps fewer than three days').
enum OKXAccountRoutes {
    typealias Register = (OKXEndpoint, @escaping OKXRoutes.Handler) -> Void
    typealias Failure = OKXRoutes.Failure

    /// Why a private request is refused before it is read (OKX's 401 codes), or nil: the key,
    /// then the signature over timestamp, method, path with query, and body, then the
    /// timestamp within 30 s of the server's clock, then the passphrase.
    static func unauthenticated(
        _ headers: HTTPFields, method: String, requestPath: String, body: String, credentials: OKXRoutes.Credentials?, now: Int64
    ) -> Failure? {
        func header(_ name: String) -> String? {
            headers.first { $0.name.canonicalName == name.lowercased() }.flatMap { $0.value.isEmpty ? nil : $0.value }
        }
        guard let key = header("OK-ACCESS-KEY") else {
            return .unauthorized(OKXCode.keyEmpty, "Request header OK-ACCESS-KEY can not be empty.")
        }
        guard let signature = header("OK-ACCESS-SIGN") else {
            return .unauthorized(OKXCode.signEmpty, "Request header OK-ACCESS-SIGN can not be empty.")
        }
        guard let timestamp = header("OK-ACCESS-TIMESTAMP") else {
            return .unauthorized(OKXCode.timestampEmpty, "Request header OK-ACCESS-TIMESTAMP can not be empty.")
        }
        guard let passphrase = header("OK-ACCESS-PASSPHRASE") else {
            return .unauthorized(OKXCode.passphraseEmpty, "Request header OK-ACCESS-PASSPHRASE can not be empty.")
        }
        guard let credentials, credentials.apiKey.matches(key) else { return .unauthorized(OKXCode.keyInvalid, "Invalid OK-ACCESS-KEY.") }
        guard let sent = OKXSignature.milliseconds(of: timestamp) else {
            return .unauthorized(OKXCode.timestampInvalid, "Invalid OK-ACCESS-TIMESTAMP.")
        }
        guard
            OKXSignature.isValid(
                signature, timestamp: timestamp, method: method, requestPath: requestPath, body: body, secret: credentials.secret)
        else { return .unauthorized(OKXCode.signInvalid, "Invalid Sign.") }
        guard abs(now - sent) <= 30_000 else { return .unauthorized(OKXCode.timestampExpired, "Timestamp request expired.") }
        guard credentials.passphrase.matches(passphrase) else {
            return .unauthorized(OKXCode.passphraseWrong, "OK-ACCESS-PASSPHRASE incorrect.")
        }
        return nil
    }

    /// A POST's JSON body: an object of string values (OKX's own form); anything else is
    /// refused naming the field.
    static func parameters(json body: String) -> Result<[String: String], Failure> {
        guard !body.isEmpty else { return .success([:]) }
        guard case .object(let object)? = try? JSONValue(parsing: Array(body.utf8)) else {
            return .failure(Failure(status: .badRequest, code: OKXCode.jsonFormat, message: "Json data format error."))
        }
        var parameters: [String: String] = [:]
        for (name, value) in object {
            guard case .string(let text) = value else { return .failure(.invalid(name)) }
            parameters[name] = text
        }
        return .success(parameters)
    }

    static func add(
        to route: Register, symbol: @escaping @Sendable ([String: String]) throws(Failure) -> ListedSymbol, markets: SimulatedMarkets
    ) {
        route(.placeOrder) { parameters, exchange, now throws(Failure) in
            let listed = try symbol(parameters)
            let clOrdId = parameters["clOrdId"] ?? ""
            let order = try newOrder(parameters, listed: listed)
            do throws(BinanceError) {
                let placed = try exchange.place(order, now: now).order
                return [
                    .object([
                        "clOrdId": .string(clOrdId), "ordId": .string(String(placed.id)), "tag": .string(""), "ts": .string(String(now)),
                        "sCode": .string(OKXCode.ok), "sMsg": .string("Order placed"),
                    ])
                ]
            } catch {
                let (code, message) = refusal(error, side: order.terms.side, listed: listed)
                throw .operationFailed(code, message, clOrdId: clOrdId, now: now)
            }
        }
        route(.cancelOrder) { parameters, exchange, now throws(Failure) in
            let listed = try symbol(parameters)
            let reference = try orderReference(parameters)
            do throws(BinanceError) {
                let order = try exchange.cancel(
                    symbol: listed.name, orderId: reference.ordId, clientOrderId: reference.clOrdId, newClientOrderId: nil, now: now)
                return [
                    .object([
                        "clOrdId": .string(clientOrderId(order)), "ordId": .string(String(order.id)), "ts": .string(String(now)),
                        "sCode": .string(OKXCode.ok), "sMsg": .string(""),
                    ])
                ]
            } catch {
                throw .operationFailed(
                    OKXCode.cancelFailed, "Order cancellation failed as the order has been filled, canceled or does not exist",
                    clOrdId: reference.clOrdId ?? "", ordId: reference.ordId.map(String.init) ?? "", now: now)
            }
        }
        route(.order) { parameters, exchange, _ throws(Failure) in
            let listed = try symbol(parameters)
            let reference = try orderReference(parameters)
            do throws(BinanceError) {
                let order = try exchange.order(symbol: listed.name, orderId: reference.ordId, clientOrderId: reference.clOrdId)
                let fills = try exchange.trades(
                    symbol: listed.name, orderId: order.id, fromId: nil, startTime: nil, endTime: nil, limit: 10_000)
                return [try details(order, fills: fills, listed: listed)]
            } catch {
                throw Failure(status: .ok, code: OKXCode.orderUnknown, message: "Order does not exist")
            }
        }
        route(.balance) { parameters, exchange, now throws(Failure) in
            let wanted = parameters["ccy"].map { Set($0.split(separator: ",").map(String.init)) }
            var details: [JSONValue] = []
            var total = FixedDecimal.zero
            for (asset, balance) in exchange.balances.assets.sorted(by: { $0.key < $1.key }) where wanted?.contains(asset) ?? true {
                let equity = (try? balance.free + balance.locked) ?? balance.free
                total = (try? total + value(equity, of: asset, in: exchange, markets: markets)) ?? total
                details.append(
                    .object([
                        "ccy": .string(asset), "eq": .string(equity.description), "cashBal": .string(equity.description),
                        "availBal": .string(balance.free.description), "frozenBal": .string(balance.locked.description),
                        "ordFrozen": .string(balance.locked.description), "uTime": .string(String(now)),
                    ]))
            }
            return [.object(["totalEq": .string(total.description), "uTime": .string(String(now)), "details": .array(details)])]
        }
        let fills: OKXRoutes.Handler = { parameters, exchange, _ throws(Failure) in
            if let type = parameters["instType"], type != "SPOT" { throw .invalid("instType") }
            let chosen = try parameters["instId"].map { _ throws(Failure) in [try symbol(parameters)] } ?? markets.symbols
            var limit = 100
            if let text = parameters["limit"] {
                guard let value = Int(text), (1...100).contains(value) else { throw .invalid("limit") }
                limit = value
            }
            func time(_ name: String) throws(Failure) -> Int64? {
                guard let text = parameters[name] else { return nil }
                guard let value = Int64(text) else { throw .invalid(name) }
                return value
            }
            let ordId = try parameters["ordId"].map { text throws(Failure) in
                guard let id = Int64(text) else { throw .invalid("ordId") }
                return id
            }
            let (begin, end) = (try time("begin"), try time("end"))
            var found: [(PaperTrade, ListedSymbol)] = []
            for listed in chosen {
                let trades =
                    (try? exchange.trades(
                        symbol: listed.name, orderId: ordId, fromId: nil, startTime: begin, endTime: end, limit: Int.max)) ?? []
                found += trades.map { ($0, listed) }
            }
            return found.sorted { ($0.0.time, $0.0.id) > ($1.0.time, $1.0.id) }.prefix(limit).map { trade, listed in
                fill(
                    trade, listed: listed,
                    clOrdId: (try? exchange.order(symbol: listed.name, orderId: trade.orderId, clientOrderId: nil)).map(clientOrderId) ?? ""
                )
            }
        }
        route(.fills, fills)
        route(.fillsHistory, fills)
    }

    // MARK: - Reading a request

    /// `POST trade/order`'s parameters as the paper exchange's order; OKX's error for the first
    /// one missing or wrong.
    static func newOrder(_ parameters: [String: String], listed: ListedSymbol) throws(Failure) -> PaperExchange.NewOrder {
        func required(_ name: String) throws(Failure) -> String {
            guard let value = parameters[name], !value.isEmpty else { throw .empty(name) }
            return value
        }
        guard try required("tdMode") == "cash" else { throw .invalid("tdMode") }
        guard let side = OrderSide(rawValue: try required("side").uppercased()) else { throw .invalid("side") }
        let ordType = try required("ordType")
        guard let size = try? FixedDecimal(parsing: try required("sz")), size > .zero else { throw .invalid("sz") }
        if let clOrdId = parameters["clOrdId"], !clOrdId.isEmpty {
            guard clOrdId.count <= 32, clOrdId.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
                throw .invalid("clOrdId")
            }
        }
        let clientOrderId = parameters["clOrdId"].flatMap { $0.isEmpty ? nil : $0 }
        switch ordType {
        case "market":
            // A market buy is sized in the quote currency unless `tgtCcy` says base, as on OKX.
            let target = parameters["tgtCcy"] ?? (side == .buy ? "quote_ccy" : "base_ccy")
            guard target == "quote_ccy" || target == "base_ccy" else { throw .invalid("tgtCcy") }
            let terms =
                target == "quote_ccy"
                ? OrderTerms(symbol: listed.name, side: side, type: .market, quantity: nil, quoteQuantity: Money(size), price: nil)
                : OrderTerms(symbol: listed.name, side: side, type: .market, quantity: Quantity(size), quoteQuantity: nil, price: nil)
            return PaperExchange.NewOrder(terms: terms, clientOrderId: clientOrderId)
        case "limit", "ioc", "fok":
            guard let price = try? Price(parsing: try required("px")), price > .zero else { throw .invalid("px") }
            let timeInForce: TimeInForce = ordType == "limit" ? .gtc : ordType == "ioc" ? .ioc : .fok
            return PaperExchange.NewOrder(
                terms: OrderTerms(
                    symbol: listed.name, side: side, type: .limit, quantity: Quantity(size), quoteQuantity: nil, price: price),
                timeInForce: timeInForce, clientOrderId: clientOrderId)
        default:
            throw .invalid("ordType")
        }
    }

    /// `ordId` or `clOrdId` (OKX takes `ordId` when both are given).
    static func orderReference(_ parameters: [String: String]) throws(Failure) -> (ordId: Int64?, clOrdId: String?) {
        if let text = parameters["ordId"], !text.isEmpty {
            guard let id = Int64(text) else { throw .invalid("ordId") }
            return (id, nil)
        }
        guard let clOrdId = parameters["clOrdId"], !clOrdId.isEmpty else { throw .empty("ordId or clOrdId") }
        return (nil, clOrdId)
    }

    /// OKX's code and message for what the matching engine refused.
    static func refusal(_ error: BinanceError, side: OrderSide, listed: ListedSymbol) -> (String, String) {
        switch error.code {
        case -1013 where error.msg.hasSuffix("LOT_SIZE"):
            return (OKXCode.notLotSizeMultiple, "Order quantity must be a multiple of the lot size.")
        case -1013 where error.msg.hasSuffix("NOTIONAL"):
            return (OKXCode.belowMinimum, "Your order should meet or exceed the minimum order amount.")
        case -1013 where error.msg.contains("PERCENT_PRICE"):
            return (OKXCode.priceOutOfLimit, "Order price is not within the price limit")
        case -1013 where error.msg.hasSuffix("PRICE_FILTER"):
            return (OKXCode.parameterError, "Parameter px error")
        case -2010 where error.msg.hasPrefix("Duplicate"):
            return (OKXCode.duplicateClientOrderId, "Duplicated clOrdId")
        case -2010 where error.msg.contains("insufficient balance"):
            let currency = side == .buy ? listed.quoteAsset : listed.baseAsset
            return (OKXCode.insufficientBalance, "Order failed. Insufficient \(currency) balance in account.")
        default:
            return (OKXCode.parameterError, error.msg)
        }
    }

    // MARK: - Replies

    /// The order's client id as OKX shows it: empty when none was given (the paper exchange
    /// names such orders `paper<id>`).
    static func clientOrderId(_ order: PaperOrder) -> String {
        order.clientOrderId == "paper\(order.id)" ? "" : order.clientOrderId
    }

    /// `GET trade/order`'s item. Fees are negative, in the currency received, as on OKX.
    static func details(_ order: PaperOrder, fills: [PaperTrade], listed: ListedSymbol) throws(BinanceError) -> JSONValue {
        let ordType =
            order.type == .market ? "market" : order.timeInForce == .ioc ? "ioc" : order.timeInForce == .fok ? "fok" : "limit"
        let state =
            switch order.status {
            case .new: "live"
            case .partiallyFilled: "partially_filled"
            case .filled: "filled"
            default: "canceled"
            }
        let byQuote = order.type == .market && order.origQuoteOrderQty.value > .zero
        var fee = FixedDecimal.zero
        for trade in fills { fee = try exact { () throws(FixedDecimalError) in try fee - trade.commission } }
        var average = ""
        if order.executedQty > .zero {
            let (quote, quantity) = (order.cumulativeQuoteQty.value, order.executedQty.value)
            average = try exact { () throws(FixedDecimalError) in try quote.divided(by: quantity, scale: 8, rounding: .halfEven) }
                .description
        }
        let last = fills.last
        return .object([
            "instType": .string("SPOT"), "instId": .string(OKXRoutes.instrumentId(listed)), "ordId": .string(String(order.id)),
            "clOrdId": .string(clientOrderId(order)), "tag": .string(""),
            "px": .string(order.type == .market ? "" : order.price.description),
            "sz": .string(byQuote ? order.origQuoteOrderQty.description : order.origQty.description),
            "tgtCcy": .string(order.type == .market ? (byQuote ? "quote_ccy" : "base_ccy") : ""), "ordType": .string(ordType),
            "side": .string(order.side == .buy ? "buy" : "sell"), "tdMode": .string("cash"), "state": .string(state),
            "accFillSz": .string(order.executedQty.description), "avgPx": .string(average),
            "fillPx": .string(last?.price.description ?? ""), "fillSz": .string(last?.qty.description ?? ""),
            "tradeId": .string(last.map { String($0.id) } ?? ""), "fillTime": .string(last.map { String($0.time) } ?? ""),
            "fee": .string(fee.description),
            "feeCcy": .string(order.side == .buy ? listed.baseAsset : listed.quoteAsset),
            "cTime": .string(String(order.time)), "uTime": .string(String(order.updateTime)),
        ])
    }

    /// A `trade/fills` item.
    static func fill(_ trade: PaperTrade, listed: ListedSymbol, clOrdId: String) -> JSONValue {
        let fee = (try? FixedDecimal.zero - trade.commission) ?? .zero
        return .object([
            "instType": .string("SPOT"), "instId": .string(OKXRoutes.instrumentId(listed)), "tradeId": .string(String(trade.id)),
            "ordId": .string(String(trade.orderId)), "clOrdId": .string(clOrdId), "billId": .string(String(trade.id)),
            "tag": .string(""), "fillPx": .string(trade.price.description), "fillSz": .string(trade.qty.description),
            "side": .string(trade.isBuyer ? "buy" : "sell"), "execType": .string(trade.isMaker ? "M" : "T"),
            "fee": .string(fee.description), "feeCcy": .string(trade.commissionAsset), "ts": .string(String(trade.time)),
            "fillTime": .string(String(trade.time)),
        ])
    }

    /// `amount` of `asset` in the quote currency of the listed markets (`totalEq`, OKX's
    /// equity in USD: here the quote currency stands for it), at each market's last price.
    static func value(_ amount: FixedDecimal, of asset: String, in exchange: PaperExchange, markets: SimulatedMarkets) throws
        -> FixedDecimal
    {
        if markets.symbols.contains(where: { $0.quoteAsset == asset }) { return amount }
        guard let listed = markets.symbols.first(where: { $0.baseAsset == asset }) else { return .zero }
        return try Money.notional(of: Quantity(amount), at: try exchange.lastPrice(symbol: listed.name)).value
    }

    /// Arithmetic that overflows is the exchange's internal error, not a trap.
    static func exact<T>(_ body: () throws(FixedDecimalError) -> T) throws(BinanceError) -> T {
        do {
            return try body()
        } catch {
            throw BinanceError(code: -1000, msg: "arithmetic: \(error)")
        }
    }
}
