// ExchangeSimulator: the paper exchange (9100). It speaks Binance's spot REST API so the same
// adapter trades against it in paper mode and against Binance live or on testnet.

import Binance
import EventBus
import Foundation
import Hummingbird
import ServiceKit
import VaktConfig

/// Binance-compatible paper exchange. It serves Binance's general endpoints, the market rules
/// (`exchangeInfo`) and the order check (`order/test`) with Binance's signature, timestamp,
/// parameter and filter errors, under Binance's request limits (429, then 418 bans, and the
/// used-weight headers); the order book and matching arrive with the execution work.
public struct ExchangeSimulatorService: VaktService {
    public let kind = ServiceKind.exchangeSim

    /// The secrets holding the API key and its HMAC secret that signed requests must carry
    /// (the adapter reads the same two in paper mode).
    public static let apiKeySecret = "exchange-api-key"
    public static let apiSecretSecret = "exchange-api-secret"

    public init() {}

    public func makeParts(context: ServiceContext) async throws -> ServiceParts {
        let key = context.secrets.secret(named: Self.apiKeySecret)
        let secret = context.secrets.secret(named: Self.apiSecretSecret)
        let credentials = key.flatMap { key in secret.map { SignedRequest.Credentials(apiKey: key.value, secret: $0.value) } }
        if credentials == nil {
            context.logger.warning(
                "no exchange API key; signed requests are refused (-2015)",
                metadata: ["secrets": "\(Self.apiKeySecret), \(Self.apiSecretSecret)"])
        }
        let markets = SimulatedMarkets.binanceDefaults
        return ServiceParts(addRoutes: { Self.addRoutes(to: $0, markets: markets, credentials: credentials) })
    }

    static func addRoutes(to router: Router<BasicRequestContext>, markets: SimulatedMarkets, credentials: SignedRequest.Credentials?) {
        let api = router.group("/api/v3").add(middleware: RateLimitMiddleware(limits: markets.rateLimits, clock: now))
        // GET /api/v3/ping: Binance's connectivity test answers an empty object.
        api.get("ping") { _, _ in JSONResponse.make(.ok, JSONValue.object([:])) }
        // GET /api/v3/time: the server's clock in milliseconds since the epoch, which signed
        // requests are checked against.
        api.get("time") { _, _ in JSONResponse.make(.ok, JSONValue.object(["serverTime": .number(Double(now()))])) }
        api.get("exchangeInfo") { request, _ in
            var info = markets.exchangeInfo(serverTime: now())
            // ?symbol= and ?symbols=["A","B"] narrow the list, as on Binance.
            let query = request.uri.queryParameters
            var wanted: [String]?
            if let one = query.get("symbol") { wanted = [one] }
            if let list = query.get("symbols") {
                guard case .array(let items)? = try? JSONValue(parsing: Array(list.utf8)) else { return binance(.mandatory("symbols")) }
                wanted = items.compactMap { if case .string(let name) = $0 { name } else { nil } }
            }
            if let wanted {
                guard wanted.allSatisfy({ markets.symbol($0) != nil }) else { return binance(.badSymbol) }
                if case .object(var fields) = info, case .array(let symbols)? = fields["symbols"] {
                    fields["symbols"] = .array(
                        symbols.filter {
                            if case .object(let symbol) = $0, case .string(let name)? = symbol["symbol"] {
                                wanted.contains(name)
                            } else {
                                false
                            }
                        })
                    info = .object(fields)
                }
            }
            return JSONResponse.make(.ok, info)
        }
        // POST /api/v3/order/test: a new order checked as Binance checks it (signature, time,
        // parameters, filters), never placed.
        api.post("order/test") { request, _ in
            let body = (try? await request.body.collect(upTo: 64 << 10)).map { String(buffer: $0) } ?? ""
            let verified = SignedRequest.verify(
                query: request.uri.query ?? "", body: body, apiKey: apiKey(request), credentials: credentials, now: now())
            let signed: SignedRequest
            switch verified {
            case .success(let request): signed = request
            case .failure(let error): return binance(error)
            }
            switch NewOrderRequest.read(signed.parameters, markets: markets) {
            case .failure(let error): return binance(error)
            case .success(let (order, _)):
                // No price process yet: a MARKET order's notional is not judged here.
                let filters = markets.symbol(order.symbol)?.filters ?? SymbolFilters()
                if let failure = filters.failure(of: order, referencePrice: nil, openOrders: 0) { return binance(.filter(failure)) }
                return JSONResponse.make(.ok, JSONValue.object([:]))
            }
        }
    }

    /// The `X-MBX-APIKEY` header (names compare case-insensitively).
    static func apiKey(_ request: Request) -> String? {
        request.headers.first { $0.name.canonicalName == "x-mbx-apikey" }?.value
    }

    static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    /// Binance's error body and status.
    static func binance(_ error: BinanceError) -> Response {
        JSONResponse.make(
            HTTPResponse.Status(code: error.httpStatus),
            JSONValue.object(["code": .number(Double(error.code)), "msg": .string(error.msg)]))
    }
}
