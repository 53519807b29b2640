import EventBus
import HTTPTypes
import Hummingbird
import OKXAdapter
import PaperExchange
import ServiceKit
import Synchronization
import VaktConfig

/// OKX's v5 endpoints over the same simulated markets, so the paper exchange can play the
/// second venue. Public: `public/time`, `public/instruments?instType=SPOT` (Binance's `BTCUSDT`
/// listed as `BTC-USDT`), `market/trades?instId=&limit=` (newest first). Private, signed as OKX
/// signs (``OKXSignature``): the OKX account's orders, balances and fills
/// (``OKXAccountRoutes``). Counted against OKX's per-endpoint limits (429 with code 50011 past
/// them), with OKX's error codes for a missing or bad parameter. Binance's faults (bans, 429s,
/// stalled streams) do not reach these routes: they are another venue.
enum OKXRoutes {
    final class Windows: Sendable {
        let windows = Mutex(OKXRequestWindows())
    }

    /// The OKX account's API key, secret key and passphrase; key and passphrase compared in
    /// constant time.
    struct Credentials: Sendable {
        var apiKey: Secret
        var secret: String
        var passphrase: Secret
    }

    struct Failure: Error {
        var status: HTTPResponse.Status
        var code: String
        var message: String
        /// Per-operation results (`sCode`, `sMsg`) when every operation of the request failed.
        var data: [JSONValue] = []

        static func empty(_ parameter: String) -> Failure {
            Failure(status: .badRequest, code: OKXCode.parameterEmpty, message: "Parameter \(parameter) can not be empty.")
        }

        static func invalid(_ parameter: String) -> Failure {
            Failure(status: .badRequest, code: OKXCode.parameterError, message: "Parameter \(parameter) error")
        }

        static func unauthorized(_ code: String, _ message: String) -> Failure {
            Failure(status: .unauthorized, code: code, message: message)
        }

        /// The request's one operation failed (OKX answers 200, code 1, the reason per item).
        static func operationFailed(_ code: String, _ message: String, clOrdId: String, ordId: String = "", now: Int64) -> Failure {
            Failure(
                status: .ok, code: OKXCode.allFailed, message: "All operations failed",
                data: [
                    .object([
                        "clOrdId": .string(clOrdId), "ordId": .string(ordId), "tag": .string(""), "ts": .string(String(now)),
                        "sCode": .string(code), "sMsg": .string(message),
                    ])
                ])
        }
    }

    typealias Handler = @Sendable ([String: String], inout PaperExchange, _ now: Int64) throws(Failure) -> [JSONValue]

    static func add(to router: Router<BasicRequestContext>, markets: SimulatedMarkets, desk: ExchangeDesk, credentials: Credentials?) {
        let counted = Windows()
        let api = router.group("/api/v5")
        func route(_ endpoint: OKXEndpoint, _ handler: @escaping Handler) {
            api.on(RouterPath(endpoint.route), method: endpoint.method == "POST" ? .post : .get) { request, _ -> Response in
                if counted.windows.withLock({ $0.reserve(endpoint, at: desk.clock.now()) }) != nil {
                    return reply(.failure(Failure(status: .tooManyRequests, code: OKXCode.tooManyRequests, message: "Too Many Requests")))
                }
                let body = (try? await request.body.collect(upTo: 64 << 10)).map { String(buffer: $0) } ?? ""
                if endpoint.isPrivate,
                    let failure = OKXAccountRoutes.unauthenticated(
                        request.headers, method: endpoint.method, requestPath: request.uri.string, body: body, credentials: credentials,
                        now: desk.clock.now())
                {
                    return reply(.failure(failure))
                }
                let parameters: [String: String]
                switch endpoint.method == "POST"
                    ? OKXAccountRoutes.parameters(json: body) : .success(SignedRequest.decode(request.uri.query ?? ""))
                {
                case .success(let read): parameters = read
                case .failure(let failure): return reply(.failure(failure))
                }
                var failure: Failure?
                let result = desk.at { exchange, now in
                    do throws(Failure) {
                        return try handler(parameters, &exchange, now)
                    } catch {
                        failure = error
                        return []
                    }
                }
                switch result {
                case .success(let data): return reply(failure.map { .failure($0) } ?? .success(data))
                case .failure(let error):
                    return reply(.failure(Failure(status: .internalServerError, code: "50026", message: "System error: \(error)")))
                }
            }
        }
        /// The market an OKX instrument id names.
        @Sendable func symbol(_ parameters: [String: String]) throws(Failure) -> ListedSymbol {
            guard let instId = parameters["instId"], !instId.isEmpty else { throw .empty("instId") }
            guard let listed = markets.symbols.first(where: { instrumentId($0) == instId }) else {
                throw Failure(status: .badRequest, code: OKXCode.instrumentUnknown, message: "Instrument ID does not exist.")
            }
            return listed
        }

        route(.time) { _, _, now in [.object(["ts": .string(String(now))])] }
        route(.instruments) { parameters, _, _ throws(Failure) in
            guard let type = parameters["instType"], !type.isEmpty else { throw .empty("instType") }
            guard type == "SPOT" else { throw .invalid("instType") }
            let wanted = parameters["instId"]
            return markets.symbols.filter { wanted == nil || instrumentId($0) == wanted }.map { listed in
                let filters = listed.filters
                return .object([
                    "instType": .string("SPOT"), "instId": .string(instrumentId(listed)), "baseCcy": .string(listed.baseAsset),
                    "quoteCcy": .string(listed.quoteAsset), "tickSz": .string(filters.price?.tickSize.description ?? ""),
                    "lotSz": .string(filters.lotSize?.stepSize.description ?? ""),
                    "minSz": .string(filters.lotSize?.minQty.description ?? ""), "state": .string("live"),
                ])
            }
        }
        route(.trades) { parameters, exchange, _ throws(Failure) in
            let listed = try symbol(parameters)
            var limit = 100
            if let text = parameters["limit"] {
                guard let value = Int(text), (1...500).contains(value) else { throw .invalid("limit") }
                limit = value
            }
            let tape: [MarketTrade]
            do {
                tape = try exchange.tape(symbol: listed.name, after: 0)
            } catch {
                throw Failure(status: .internalServerError, code: "50026", message: "System error: \(error)")
            }
            let instId = instrumentId(listed)
            return tape.suffix(limit).reversed().map { trade in
                .object([
                    "instId": .string(instId), "tradeId": .string(String(trade.id)), "px": .string(trade.price.description),
                    "sz": .string(trade.qty.description), "side": .string(trade.buyerIsMaker ? "sell" : "buy"),
                    "ts": .string(String(trade.time)),
                ])
            }
        }
        OKXAccountRoutes.add(to: route, symbol: symbol, markets: markets)
    }

    /// OKX's name for a market: base and quote asset joined by a dash.
    static func instrumentId(_ listed: ListedSymbol) -> String { listed.baseAsset + "-" + listed.quoteAsset }

    static func reply(_ result: Result<[JSONValue], Failure>) -> Response {
        switch result {
        case .success(let data):
            return JSONResponse.make(.ok, .object(["code": .string(OKXCode.ok), "msg": .string(""), "data": .array(data)]))
        case .failure(let failure):
            return JSONResponse.make(
                failure.status, .object(["code": .string(failure.code), "msg": .string(failure.message), "data": .array(failure.data)]))
        }
    }
}
