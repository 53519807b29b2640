import Binance
import EventBus
import Money
import PaperExchange

/// `POST /api/v3/order` (and `/order/test`) parameters, read and checked as Binance does: each
/// problem is Binance's error for it, the first one found.
enum NewOrderRequest {
    struct Parsed {
        var order: PaperExchange.NewOrder
        /// `newOrderRespType`: FULL by default for MARKET and LIMIT, ACK for the rest, as on Binance.
        var responseType: BinanceReplies.ResponseType
    }

    static func read(_ parameters: [String: String], markets: SimulatedMarkets) -> Result<Parsed, BinanceError> {
        func present(_ name: String) -> String? { parameters[name].flatMap { $0.isEmpty ? nil : $0 } }
        guard let symbol = present("symbol") else { return .failure(.mandatory("symbol")) }
        guard markets.symbol(symbol) != nil else { return .failure(.badSymbol) }
        guard let sideText = present("side") else { return .failure(.mandatory("side")) }
        guard let side = OrderSide(rawValue: sideText) else { return .failure(.badSide) }
        guard let typeText = present("type") else { return .failure(.mandatory("type")) }
        guard let type = BinanceOrderType(rawValue: typeText) else { return .failure(.badOrderType) }

        func amount<Amount: DecimalAmount>(_ name: String) -> Result<Amount?, BinanceError> {
            guard let text = present(name) else { return .success(nil) }
            guard let value = try? Amount(parsing: text), value > .zero else { return .failure(.illegalCharacters(name)) }
            return .success(value)
        }
        let quantity: Quantity?
        let quote: Money?
        let price: Price?
        switch (
            amount("quantity") as Result<Quantity?, BinanceError>, amount("quoteOrderQty") as Result<Money?, BinanceError>,
            amount("price") as Result<Price?, BinanceError>
        )
        {
        case (.success(let q), .success(let m), .success(let p)): (quantity, quote, price) = (q, m, p)
        case (.failure(let error), _, _), (_, .failure(let error), _), (_, _, .failure(let error)): return .failure(error)
        }
        let timeInForceText = present("timeInForce")
        let timeInForce = timeInForceText.flatMap(TimeInForce.init(rawValue:))
        if timeInForceText != nil, timeInForce == nil { return .failure(.badTimeInForce) }
        switch type {
        case .limit:
            guard timeInForce != nil else { return .failure(.mandatory("timeInForce")) }
            guard quantity != nil else { return .failure(.mandatory("quantity")) }
            guard price != nil else { return .failure(.mandatory("price")) }
            if quote != nil { return .failure(.notRequired("quoteOrderQty")) }
        case .limitMaker:
            guard quantity != nil else { return .failure(.mandatory("quantity")) }
            guard price != nil else { return .failure(.mandatory("price")) }
            if timeInForceText != nil { return .failure(.notRequired("timeInForce")) }
        case .market:
            if quantity == nil, quote == nil { return .failure(.mandatory("quantity")) }
            if quantity != nil, quote != nil { return .failure(.notRequired("quoteOrderQty")) }
            if price != nil { return .failure(.notRequired("price")) }
            if timeInForceText != nil { return .failure(.notRequired("timeInForce")) }
        }
        let clientOrderId = present("newClientOrderId")
        if let clientOrderId, !ClientOrderID.isValid(clientOrderId) {
            return .failure(
                BinanceError(
                    code: -1100,
                    msg: "Illegal characters found in parameter 'newClientOrderId'; legal range is '^[\\.A-Z\\:/a-z0-9_-]{1,36}$'."))
        }
        var responseType: BinanceReplies.ResponseType = type == .limitMaker ? .ack : .full
        if let text = present("newOrderRespType") {
            guard let asked = BinanceReplies.ResponseType(rawValue: text) else {
                return .failure(
                    BinanceError(
                        code: -1100, msg: "Illegal characters found in parameter 'newOrderRespType'; legal range is 'ACK, RESULT, FULL'."))
            }
            responseType = asked
        }
        let terms = OrderTerms(symbol: symbol, side: side, type: type, quantity: quantity, quoteQuantity: quote, price: price)
        return .success(
            Parsed(
                order: PaperExchange.NewOrder(terms: terms, timeInForce: timeInForce, clientOrderId: clientOrderId),
                responseType: responseType))
    }
}
