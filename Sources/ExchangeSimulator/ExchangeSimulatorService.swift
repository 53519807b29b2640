// ExchangeSimulator: the paper exchange (9100). It speaks Binance's spot REST API so the same
// adapter trades against it in paper mode and against Binance live or on testnet; the market
// itself (books, matching, balances) is the pure `PaperExchange` module.

import Binance
import EventBus
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import PaperExchange
import ServiceKit
import VaktConfig

/// Binance-compatible paper exchange: Binance's general, market data, trading and account
/// endpoints with its signatures, parameter and filter errors, weights and limits (429, then 418
/// bans, and the used-weight headers), over the simulated market configured in `paper_exchange`;
/// and OKX's market, trading and account endpoints for a second account (``OKXRoutes``).
public struct ExchangeSimulatorService: VaktService {
    public let kind = ServiceKind.exchangeSim

    public init() {}

    /// Signed requests must carry the API key and HMAC secret of the secrets
    /// `exchange.api_key_secret` and `exchange.api_secret_secret` name: the pair the adapter
    /// signs with in paper mode.
    public func makeParts(context: ServiceContext) async throws -> ServiceParts {
        let names = (key: context.configuration.exchange.apiKeySecret, secret: context.configuration.exchange.apiSecretSecret)
        let key = context.secrets.secret(named: names.key)
        let secret = context.secrets.secret(named: names.secret)
        let credentials = key.flatMap { key in secret.map { SignedRequest.Credentials(apiKey: key, secret: $0.value) } }
        if credentials == nil {
            context.logger.warning(
                "no exchange API key; signed requests are refused (-2015)",
                metadata: ["secrets": "\(names.key), \(names.secret)"])
        }
        let settings = context.configuration.paperExchange
        let markets = try SimulatedMarkets(settings)
        let clock = ScaledClock(origin: settings.clockOrigin ?? ScaledClock.wall(), rate: settings.clockRate)
        let faults = SimulatorFaults(
            latencyMilliseconds: Int(settings.latency.milliseconds), failEveryNthOrder: settings.failEveryNthOrder,
            dropEveryNthOrder: settings.dropEveryNthOrder, dropHoldMilliseconds: Int(settings.dropHold.milliseconds))
        let opened = clock.now()
        let desk = ExchangeDesk(try PaperExchange(settings: markets.exchange, now: opened), clock: clock, faults: faults)
        // The second venue's account: its own balances and orders over the same markets
        // (opened at the same instant, so the same price path), moved with the first.
        let okxDesk = ExchangeDesk(try PaperExchange(settings: markets.exchange, now: opened), clock: clock, faults: SimulatorFaults())
        let okxCredentials = Self.okxCredentials(context)
        let tokenSecret = context.configuration.supervisor.controlTokenSecret
        let authenticator = ControlAuthenticator(
            token: context.secrets.secret(named: tokenSecret), failuresPerMinute: context.configuration.http.authFailuresPerMinute,
            logger: context.logger)
        context.logger.info(
            "paper exchange open",
            metadata: [
                "markets": "\(markets.symbols.map(\.name).joined(separator: ","))", "seed": "\(settings.seed)",
                "clock_rate": "\(settings.clockRate)",
            ])
        let hub = StreamHub()
        let pump = MarketPump(desk: desk, hub: hub, markets: markets)
        let streams = WebSocketRoutes(hub: hub, desk: desk, markets: markets, credentials: credentials)
        // One pump a step of the exchange's clock (in wall time, the step over the clock's rate).
        let pumpInterval = max(settings.step / settings.clockRate, .milliseconds(10))
        return ServiceParts(
            addRoutes: { router in
                Self.addRoutes(
                    to: router, markets: markets, desk: desk, credentials: credentials, changed: { pump.pump(marketData: false) })
                OKXRoutes.add(to: router, markets: markets, desk: okxDesk, credentials: okxCredentials)
                Self.addAdminRoutes(to: router, desk: desk, hub: hub, authenticator: authenticator, logger: context.logger)
            },
            backgroundServices: [
                PeriodicService(every: pumpInterval) {
                    pump.pump()
                    _ = okxDesk.at { _, _ in }
                }
            ],
            webSocket: { request in streams.upgrade(request) })
    }

    /// The OKX account's key, secret key and passphrase: the secrets `exchange.okx_*_secret`
    /// name. Without all three, OKX's private endpoints refuse every request (50111).
    static func okxCredentials(_ context: ServiceContext) -> OKXRoutes.Credentials? {
        guard let credentials = SecondVenueAccess.credentials(context.configuration, context.secrets) else {
            let exchange = context.configuration.exchange
            context.logger.warning(
                "no OKX API key; the OKX account's endpoints refuse every request (50111)",
                metadata: [
                    "secrets": "\(exchange.okxAPIKeySecret), \(exchange.okxSecretKeySecret), \(exchange.okxPassphraseSecret)"
                ])
            return nil
        }
        return OKXRoutes.Credentials(
            apiKey: Secret(credentials.apiKey), secret: credentials.secretKey, passphrase: Secret(credentials.passphrase))
    }

    typealias Handler = @Sendable (RequestParameters, inout PaperExchange, _ now: Int64) throws(BinanceError) -> JSONValue

    /// - Parameter changed: called after a request that may have changed the account (a new
    ///   order, a cancel), so its execution reports go out at once, not at the next step.
    static func addRoutes(
        to router: Router<BasicRequestContext>, markets: SimulatedMarkets, desk: ExchangeDesk, credentials: SignedRequest.Credentials?,
        changed: @escaping @Sendable () -> Void = {}
    ) {
        let api = router.group("/api/v3").add(middleware: RateLimitMiddleware(limits: markets.rateLimits, clock: desk.clock.now))
            .add(middleware: FaultMiddleware(desk: desk, weightLimit: markets.weightLimit))
        /// A public endpoint: parameters in the query string.
        func open(_ method: HTTPRequest.Method, _ path: String, _ handler: @escaping Handler) {
            api.on(RouterPath(path), method: method) { request, _ in
                let parameters = RequestParameters(values: SignedRequest.decode(request.uri.query ?? ""))
                return reply(desk.at { exchange, now throws(BinanceError) in try handler(parameters, &exchange, now) })
            }
        }
        /// A `SIGNED` endpoint: the API key, the signature over query and body, the timestamp.
        func signed(_ method: HTTPRequest.Method, _ path: String, _ handler: @escaping Handler) {
            api.on(RouterPath(path), method: method) { request, _ in
                let body = (try? await request.body.collect(upTo: 64 << 10)).map { String(buffer: $0) } ?? ""
                switch SignedRequest.verify(
                    query: request.uri.query ?? "", body: body, apiKey: apiKey(request), credentials: credentials, now: desk.clock.now())
                {
                case .failure(let error): return binance(error)
                case .success(let signed):
                    let parameters = RequestParameters(values: signed.parameters)
                    let result = desk.at { exchange, now throws(BinanceError) in try handler(parameters, &exchange, now) }
                    if method != .get { changed() }
                    return reply(result)
                }
            }
        }

        // General: connectivity, the clock signed requests are checked against, the rules.
        open(.get, "ping") { _, _, _ in .object([:]) }
        open(.get, "time") { _, _, now in .object(["serverTime": .number(Double(now))]) }
        open(.get, "exchangeInfo") { parameters, _, now throws(BinanceError) in
            // ?symbol= and ?symbols=["A","B"] narrow the list, as on Binance.
            var wanted: [String]?
            if let one = parameters.present("symbol") { wanted = [one] }
            if let list = parameters.present("symbols") {
                guard case .array(let items)? = try? JSONValue(parsing: Array(list.utf8)) else { throw .mandatory("symbols") }
                wanted = items.compactMap { if case .string(let name) = $0 { name } else { nil } }
            }
            if let wanted, !wanted.allSatisfy({ markets.symbol($0) != nil }) { throw .badSymbol }
            return markets.exchangeInfo(serverTime: now, only: wanted)
        }
        MarketDataRoutes.add(to: open, markets: markets)
        TradingRoutes.add(to: signed, markets: markets)
    }

    /// `/admin/faults` (control token): the faults in force, changed, cleared.
    static func addAdminRoutes(
        to router: Router<BasicRequestContext>, desk: ExchangeDesk, hub: StreamHub, authenticator: ControlAuthenticator, logger: Logger
    ) {
        let admin = router.controlRoutes(authenticator)
        admin.get("/admin/faults") { _, _ in JSONResponse.make(.ok, desk.faults.withLock(\.json)) }
        admin.post("/admin/faults") { request, _ in
            guard let body = try? await request.body.collect(upTo: 64 << 10), let value = try? JSONValue(parsing: Array(buffer: body))
            else { return JSONResponse.error(.badRequest, "the body must be a JSON object of fault settings") }
            let current = desk.faults.withLock { $0 }
            let next: SimulatorFaults
            do throws(PayloadError) {
                next = try current.updated(by: value, now: desk.clock.now())
            } catch {
                return JSONResponse.error(.badRequest, "faults not changed", problems: error.problems)
            }
            var stored = next
            (stored.disconnectStreams, stored.stallStreamsMilliseconds) = (false, 0)
            desk.faults.withLock { $0 = stored }
            if next.stallStreamsMilliseconds > 0 { hub.stall(for: .milliseconds(next.stallStreamsMilliseconds)) }
            if next.disconnectStreams { hub.disconnectAll() }
            logger.notice(
                "paper exchange faults changed",
                metadata: [
                    "faults": "\(stored.json)", "disconnected_streams": "\(next.disconnectStreams)",
                    "stalled_streams_ms": "\(next.stallStreamsMilliseconds)",
                ])
            return JSONResponse.make(.ok, stored.json)
        }
        admin.delete("/admin/faults") { _, _ in
            desk.faults.withLock { $0 = SimulatorFaults() }
            logger.notice("paper exchange faults cleared")
            return JSONResponse.make(.ok, SimulatorFaults().json)
        }
    }

    static func reply(_ result: Result<JSONValue, BinanceError>) -> Response {
        switch result {
        case .success(let value): JSONResponse.make(.ok, value)
        case .failure(let error): binance(error)
        }
    }

    /// The `X-MBX-APIKEY` header (names compare case-insensitively).
    static func apiKey(_ request: Request) -> String? {
        request.headers.first { $0.name.canonicalName == "x-mbx-apikey" }?.value
    }

    /// Binance's error body and status.
    static func binance(_ error: BinanceError) -> Response {
        JSONResponse.make(
            HTTPResponse.Status(code: error.httpStatus),
            JSONValue.object(["code": .number(Double(error.code)), "msg": .string(error.msg)]))
    }
}
