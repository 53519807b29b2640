import Binance
import EventBus
import Foundation
import Money
import NIOHTTP1
import OKXAdapter
import Testing
import VaktConfig
import VaktTesting

/// The paper exchange as a client sees it over HTTP: Binance's market rules and order check,
/// with Binance's own error codes and messages for every kind of bad request.
@Suite struct ExchangeSimulatorTests {
    static let apiKey = "test-api-key-0123456789"
    static let secret = "test-api-secret-abcdefghijklmnopqrstuvwxyz"

    static let market = """
        paper_exchange:
          seed: 42
          balances: { USDT: "100000", BTC: "2" }
          maker_commission: "0.0005"
          taker_commission: "0.001"

        """

    /// The OKX account's key, secret key and passphrase.
    static let okx = (key: "okx-test-key-0123", secret: "okx-test-secret-abcdefghijklmnop", passphrase: "okx-test-passphrase")

    static func start() async throws -> (RedisServer, ServiceInstance) {
        let redis = try RedisServer()
        try await redis.start()
        let simulator = try ServiceInstance(
            .exchangeSim, redisPort: redis.port, postgres: nil, sections: market,
            environment: [
                "VAKT_SECRET_EXCHANGE_API_KEY": apiKey, "VAKT_SECRET_EXCHANGE_API_SECRET": secret, "VAKT_SECRET_OKX_API_KEY": okx.key,
                "VAKT_SECRET_OKX_SECRET_KEY": okx.secret, "VAKT_SECRET_OKX_PASSPHRASE": okx.passphrase,
            ])
        try await simulator.waitUntilReady()
        return (redis, simulator)
    }

    /// A trading service's environment for the simulator: its address and the API key pair.
    static func clientEnvironment(_ simulator: ServiceInstance) -> [String: String] {
        [
            "VAKT_EXCHANGE__BASE_URL": simulator.url(""), "VAKT_SECRET_EXCHANGE_API_KEY": apiKey,
            "VAKT_SECRET_EXCHANGE_API_SECRET": secret,
        ]
    }

    /// A signed `POST /api/v3/order/test` as Binance clients send it: parameters in the form body.
    static func orderTest(
        _ simulator: ServiceInstance, _ parameters: String, timestamp: Int64? = nil, key: String? = apiKey, secret: String = secret
    ) async throws -> (status: Int, body: JSONValue) {
        let time = timestamp ?? Int64(Date().timeIntervalSince1970 * 1000)
        let payload = parameters + "&recvWindow=10000&timestamp=\(time)"
        let body = payload + "&signature=" + RequestSignature.sign(payload, secret: secret)
        var headers = [("Content-Type", "application/x-www-form-urlencoded")]
        if let key { headers.append(("X-MBX-APIKEY", key)) }
        let result = try await HTTPProbe.request(.POST, simulator.url("/api/v3/order/test"), headers: headers, body: body)
        return (result.status, try JSONValue(parsing: result.body))
    }

    /// A signed request as Binance clients send it: parameters in the query for GET and
    /// DELETE, in the form body for POST.
    static func signed(_ simulator: ServiceInstance, _ method: HTTPMethod, _ path: String, _ parameters: String) async throws
        -> (status: Int, body: JSONValue)
    {
        let time = Int64(Date().timeIntervalSince1970 * 1000)
        let payload = (parameters.isEmpty ? "" : parameters + "&") + "recvWindow=10000&timestamp=\(time)"
        let signedPayload = payload + "&signature=" + RequestSignature.sign(payload, secret: secret)
        var headers = [("X-MBX-APIKEY", apiKey)]
        let result: HTTPResult
        if method == .POST {
            headers.append(("Content-Type", "application/x-www-form-urlencoded"))
            result = try await HTTPProbe.request(method, simulator.url(path), headers: headers, body: signedPayload)
        } else {
            result = try await HTTPProbe.request(method, simulator.url(path + "?" + signedPayload), headers: headers)
        }
        return (result.status, try JSONValue(parsing: result.body))
    }

    /// Runs a script of `Python/` against the simulator and reads the JSON report it prints;
    /// nil (the failure recorded) when it fails or prints none.
    static func pythonReport(_ script: String, _ simulator: ServiceInstance, environment extra: [String: String] = [:])
        async throws -> JSONValue?
    {
        let python = try TestEnvironment.testPython()
        let path = TestEnvironment.packageRoot.appendingPathComponent("Tests/ServiceProcessTests/Python/" + script).path
        let environment = ProcessInfo.processInfo.environment.merging(extra) { _, given in given }
        let run = try await TestEnvironment.run(python, [path, simulator.url("")], environment: environment)
        #expect(run.status == 0, "\(run.output)")
        guard let line = run.output.split(separator: "\n").first(where: { $0.hasPrefix("{") }) else {
            Issue.record("no report: \(run.output)")
            return nil
        }
        return try JSONValue(parsing: Array(line.utf8))
    }

    /// Until the paper exchange's OKX market has traded.
    static func waitForOKXTrades(_ simulator: ServiceInstance) async {
        #expect(
            await TestEnvironment.eventually {
                (try? await HTTPProbe.get(simulator.url("/api/v5/market/trades?instId=BTC-USDT")))?.text.contains("tradeId") == true
            })
    }

    static func field(_ value: JSONValue, _ name: String) -> JSONValue? {
        if case .object(let fields) = value { fields[name] } else { nil }
    }

    static func error(_ code: Int, _ message: String) -> JSONValue { .object(["code": .number(Double(code)), "msg": .string(message)]) }

    @Test func exchangeInfoListsBinancesRulesAndAnOrderIsCheckedAsBinanceChecksIt() async throws {
        let (_, simulator) = try await Self.start()
        defer { Task { await simulator.stop() } }

        let info = try JSONValue(parsing: try await HTTPProbe.get(simulator.url("/api/v3/exchangeInfo?symbol=BTCUSDT")).body)
        guard case .object(let fields) = info, case .array(let symbols)? = fields["symbols"], symbols.count == 1,
            case .object(let btc) = symbols[0], let listed = btc["filters"]
        else {
            Issue.record("exchangeInfo: \(info)")
            return
        }
        let filters = try SymbolFilters(json: listed)
        #expect(filters.price?.tickSize == Price(1, scale: 2))
        #expect(fields["rateLimits"].map { "\($0)".contains("REQUEST_WEIGHT") } == true)
        let unknown = try await HTTPProbe.get(simulator.url("/api/v3/exchangeInfo?symbol=NOPEUSDT"))
        #expect(unknown.status == 400)
        #expect(try JSONValue(parsing: unknown.body) == Self.error(-1121, "Invalid symbol."))

        let good = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.00100&price=64000.01&newClientOrderId=vakt-test-1"
        #expect(try await Self.orderTest(simulator, good) == (200, .object([:])))

        let cases: [(String, Int64?, String?, String, Int, JSONValue)] = [
            (good, nil, Self.apiKey, "wrong-secret", 400, Self.error(-1022, "Signature for this request is not valid.")),
            (good, nil, nil, Self.secret, 401, Self.error(-2015, "Invalid API-key, IP, or permissions for action.")),
            (
                good, Int64(Date().timeIntervalSince1970 * 1000) - 60_000, Self.apiKey, Self.secret, 400,
                Self.error(-1021, "Timestamp for this request is outside of the recvWindow.")
            ),
            (
                good.replacingOccurrences(of: "BTCUSDT", with: "NOPEUSDT"), nil, Self.apiKey, Self.secret, 400,
                Self.error(-1121, "Invalid symbol.")
            ),
            (
                good.replacingOccurrences(of: "&price=64000.01", with: ""), nil, Self.apiKey, Self.secret, 400,
                Self.error(-1102, "Mandatory parameter 'price' was not sent, was empty/null, or malformed.")
            ),
            (
                good.replacingOccurrences(of: "0.00100", with: "1e-3"), nil, Self.apiKey, Self.secret, 400,
                Self.error(-1100, "Illegal characters found in parameter 'quantity'; legal range is '^([0-9]{1,20})(\\.[0-9]{1,20})?$'.")
            ),
            (
                good.replacingOccurrences(of: "64000.01", with: "64000.015"), nil, Self.apiKey, Self.secret, 400,
                Self.error(-1013, "Filter failure: PRICE_FILTER")
            ),
            (
                good.replacingOccurrences(of: "0.00100", with: "0.001005"), nil, Self.apiKey, Self.secret, 400,
                Self.error(-1013, "Filter failure: LOT_SIZE")
            ),
            (
                good.replacingOccurrences(of: "0.00100", with: "0.00005"), nil, Self.apiKey, Self.secret, 400,
                Self.error(-1013, "Filter failure: NOTIONAL")
            ),
            (good.replacingOccurrences(of: "BUY", with: "HOLD"), nil, Self.apiKey, Self.secret, 400, Self.error(-1117, "Invalid side.")),
        ]
        for (parameters, timestamp, key, secret, status, body) in cases {
            let answer = try await Self.orderTest(simulator, parameters, timestamp: timestamp, key: key, secret: secret)
            #expect(answer.status == status && answer.body == body, "\(parameters): \(answer)")
        }
    }

    /// Binance's limits: the used weight in every answer, 429 over the limit with `Retry-After`,
    /// and a 418 ban for a client that does not wait.
    @Test func overTheWeightLimitA429AndForAClientThatKeepsGoingABan() async throws {
        let (_, simulator) = try await Self.start()
        defer { Task { await simulator.stop() } }
        let first = try await HTTPProbe.get(simulator.url("/api/v3/exchangeInfo"))
        #expect(first.header("X-MBX-USED-WEIGHT-1M").flatMap(Int.init).map { $0 >= 20 } == true, "\(first.headers)")
        // A new minute may begin between the 429 and the next request (the count starts again):
        // then the scenario runs again.
        for _ in 0..<3 {
            var refused: HTTPResult?
            for _ in 0..<700 {
                let answer = try await HTTPProbe.get(simulator.url("/api/v3/exchangeInfo"))
                if answer.status == 429 {
                    refused = answer
                    break
                }
                #expect(answer.status == 200, "\(answer.text)")
            }
            let tooMany = try #require(refused)
            #expect(tooMany.header("X-MBX-USED-WEIGHT-1M").flatMap(Int.init).map { $0 > 6_000 } == true)
            #expect(tooMany.header("Retry-After").flatMap(Int.init).map { (1...60).contains($0) } == true)
            #expect(
                try JSONValue(parsing: tooMany.body)
                    == Self.error(
                        -1003,
                        "Too much request weight used; current limit is 6000 request weight per 1 MINUTE. "
                            + "Please use WebSocket Streams for live updates to avoid polling the API."))
            let next = try await HTTPProbe.get(simulator.url("/api/v3/ping"))
            if next.status == 418 {
                #expect(next.header("Retry-After").flatMap(Int.init).map { (119...120).contains($0) } == true, "\(next.headers)")
                #expect(next.text.contains("\"code\":-1003") && next.text.contains("IP banned until"), "\(next.text)")
                // Still banned: even the cheapest request.
                #expect(try await HTTPProbe.get(simulator.url("/api/v3/time")).status == 418)
                return
            }
            #expect(next.status == 200 && next.header("X-MBX-USED-WEIGHT-1M") == "1", "a new minute began: \(next.headers)")
        }
        Issue.record("no ban in three tries")
    }

    /// A trading session as a Binance client runs it: balances, a resting limit order found by
    /// its client order id and canceled, a market order with its fills, the trades, and the
    /// market data; bad references get Binance's errors.
    @Test func anOrderIsPlacedQueriedCanceledAndFilledInBinancesShapes() async throws {
        let (_, simulator) = try await Self.start()
        defer { Task { await simulator.stop() } }

        let account = try await Self.signed(simulator, .GET, "/api/v3/account", "omitZeroBalances=true")
        #expect(account.status == 200)
        #expect(
            Self.field(account.body, "balances")
                == .array([
                    .object(["asset": .string("BTC"), "free": .string("2.00000000"), "locked": .string("0.00000000")]),
                    .object(["asset": .string("USDT"), "free": .string("100000.00000000"), "locked": .string("0.00000000")]),
                ]))
        #expect(Self.field(account.body, "makerCommission") == .number(5))

        let resting = try await Self.signed(
            simulator, .POST, "/api/v3/order",
            "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01000&price=30000.00&newClientOrderId=vakt-rest-1")
        #expect(resting.status == 200, "\(resting.body)")
        #expect(Self.field(resting.body, "status") == .string("NEW") && Self.field(resting.body, "fills") == .array([]))
        let found = try await Self.signed(simulator, .GET, "/api/v3/order", "symbol=BTCUSDT&origClientOrderId=vakt-rest-1")
        #expect(Self.field(found.body, "orderId") == Self.field(resting.body, "orderId"))
        #expect(Self.field(found.body, "price") == .string("30000.00000000") && Self.field(found.body, "isWorking") == .bool(true))
        let open = try await Self.signed(simulator, .GET, "/api/v3/openOrders", "symbol=BTCUSDT")
        #expect(open.body == .array([found.body]))
        let locked = try await Self.signed(simulator, .GET, "/api/v3/account", "")
        guard case .array(let balances)? = Self.field(locked.body, "balances") else {
            Issue.record("account: \(locked.body)")
            return
        }
        #expect(
            balances.contains(.object(["asset": .string("USDT"), "free": .string("99700.00000000"), "locked": .string("300.00000000")])))
        let canceled = try await Self.signed(
            simulator, .DELETE, "/api/v3/order", "symbol=BTCUSDT&origClientOrderId=vakt-rest-1&newClientOrderId=vakt-undo-1")
        #expect(Self.field(canceled.body, "status") == .string("CANCELED"))
        #expect(Self.field(canceled.body, "origClientOrderId") == .string("vakt-rest-1"))
        #expect(Self.field(canceled.body, "clientOrderId") == .string("vakt-undo-1"))
        let again = try await Self.signed(simulator, .DELETE, "/api/v3/order", "symbol=BTCUSDT&origClientOrderId=vakt-rest-1")
        #expect(again == (400, Self.error(-2011, "Unknown order sent.")))

        let market = try await Self.signed(
            simulator, .POST, "/api/v3/order", "symbol=BTCUSDT&side=SELL&type=MARKET&quantity=0.60000&newClientOrderId=vakt-mkt-1")
        #expect(Self.field(market.body, "status") == .string("FILLED"), "\(market.body)")
        guard case .array(let fills)? = Self.field(market.body, "fills") else {
            Issue.record("no fills: \(market.body)")
            return
        }
        // 0.5 BTC a level: the first level, then the next.
        #expect(fills.count == 2 && fills.allSatisfy { Self.field($0, "commissionAsset") == .string("USDT") })
        let trades = try await Self.signed(simulator, .GET, "/api/v3/myTrades", "symbol=BTCUSDT")
        guard case .array(let listed) = trades.body else {
            Issue.record("myTrades: \(trades.body)")
            return
        }
        #expect(listed.map { Self.field($0, "id") } == fills.map { Self.field($0, "tradeId") })
        #expect(listed.allSatisfy { Self.field($0, "isBuyer") == .bool(false) && Self.field($0, "isMaker") == .bool(false) })

        let depth = try JSONValue(parsing: try await HTTPProbe.get(simulator.url("/api/v3/depth?symbol=BTCUSDT&limit=5")).body)
        guard case .array(let bids)? = Self.field(depth, "bids"), case .array(let asks)? = Self.field(depth, "asks") else {
            Issue.record("depth: \(depth)")
            return
        }
        #expect(bids.count == 5 && asks.count == 5)
        let klines = try JSONValue(
            parsing: try await HTTPProbe.get(simulator.url("/api/v3/klines?symbol=BTCUSDT&interval=1s&limit=3")).body)
        if case .array(let rows) = klines, case .array(let first)? = rows.first {
            #expect(first.count == 12)
        } else {
            Issue.record("klines: \(klines)")
        }
        let ticker = try JSONValue(parsing: try await HTTPProbe.get(simulator.url("/api/v3/ticker/24hr?symbol=BTCUSDT")).body)
        #expect(Self.field(ticker, "lastPrice") != nil && Self.field(ticker, "volume") != nil, "\(ticker)")

        let badReferences: [(HTTPMethod, String, String, JSONValue)] = [
            (
                .GET, "/api/v3/order", "symbol=BTCUSDT",
                Self.error(-1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!")
            ),
            (
                .GET, "/api/v3/order", "symbol=BTCUSDT&orderId=12x",
                Self.error(-1100, "Illegal characters found in parameter 'orderId'; legal range is '^[0-9]{1,20}$'.")
            ),
            (.GET, "/api/v3/order", "symbol=BTCUSDT&orderId=999999", Self.error(-2013, "Order does not exist.")),
            (.GET, "/api/v3/openOrders", "symbol=DOGEUSDT", Self.error(-1121, "Invalid symbol.")),
            (
                .POST, "/api/v3/order", "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=5",
                Self.error(-2010, "Account has insufficient balance for requested action.")
            ),
        ]
        for (method, path, parameters, expected) in badReferences {
            let answer = try await Self.signed(simulator, method, path, parameters)
            #expect(answer == (400, expected), "\(path)?\(parameters)")
        }
        let interval = try await HTTPProbe.get(simulator.url("/api/v3/klines?symbol=BTCUSDT&interval=7m"))
        #expect(try JSONValue(parsing: interval.body) == Self.error(-1120, "Invalid interval."))
        // The refusals changed nothing.
        let after = try await Self.signed(simulator, .GET, "/api/v3/openOrders", "")
        #expect(after.body == .array([]))
    }

    /// ccxt, the most used third-party Binance client, trades against the paper exchange as
    /// against Binance, pointed at it by its base URL: markets, balance, ticker, book, a limit
    /// order placed, fetched, listed and canceled, a market order filled, trades, candles, and
    /// Binance's errors read as ccxt's exceptions.
    @Test func ccxtTradesAgainstThePaperExchangeAsAgainstBinance() async throws {
        let (_, simulator) = try await Self.start()
        defer { Task { await simulator.stop() } }
        guard
            let report = try await Self.pythonReport(
                "ccxt_session.py", simulator, environment: ["VAKT_TEST_API_KEY": Self.apiKey, "VAKT_TEST_API_SECRET": Self.secret])
        else { return }
        let expected: [String: JSONValue] = [
            "markets": .array([.string("BTC/USDT"), .string("ETH/USDT")]),
            "btc_precision": .object(["price": .number(0.01), "amount": .number(0.00001)]),
            "btc_min_cost": .number(5),
            "balance_before": .object(["USDT": .number(100_000), "BTC": .number(2)]),
            "ticker_last_positive": .bool(true), "book_sizes": .array([.number(5), .number(5)]),
            "limit_status": .string("open"), "fetched_same": .bool(true), "open_ids": .bool(true),
            "canceled_status": .string("canceled"), "market_status": .string("closed"), "market_filled": .number(0.002),
            "market_trades": .number(1), "my_trades": .number(1), "ohlcv_width": .number(6),
            "insufficient": .string("InsufficientFunds"), "missing_order": .string("OrderNotFound"),
        ]
        for (name, value) in expected {
            #expect(Self.field(report, name) == value, "\(name): \(report)")
        }
        // 0.002 BTC bought less the 0.1% taker fee; USDT down by what it cost.
        guard case .object(let after)? = Self.field(report, "balance_after"), case .number(let btc)? = after["BTC"],
            case .number(let usdt)? = after["USDT"]
        else {
            Issue.record("balance_after: \(report)")
            return
        }
        #expect(btc == 2.001998)
        #expect((99_800...99_900).contains(usdt), "\(usdt)")
    }

    /// The paper exchange as the second venue: ccxt's OKX client loads its spot markets and
    /// reads trades and the time from the same simulated market, and OKX's error codes answer
    /// an unknown instrument; OKX's limit holds on its own, apart from Binance's.
    /// The paper exchange's OKX account, through ccxt's own OKX client: its balances, a resting
    /// order found by id and by client order id, a duplicate client order id refused while it
    /// is open, the cancel, a market buy filled with its fee, the fills, an unaffordable order,
    /// an unknown order, a wrong secret and passphrase. The Binance account is left as it was.
    @Test func ccxtTradesOnThePaperExchangesOKXAccount() async throws {
        let (_, simulator) = try await Self.start()
        defer { Task { await simulator.stop() } }
        await Self.waitForOKXTrades(simulator)
        guard
            let report = try await Self.pythonReport(
                "ccxt_okx_account.py", simulator,
                environment: [
                    "VAKT_TEST_OKX_KEY": Self.okx.key, "VAKT_TEST_OKX_SECRET": Self.okx.secret,
                    "VAKT_TEST_OKX_PASSPHRASE": Self.okx.passphrase,
                ])
        else { return }
        let expected: [String: JSONValue] = [
            "start": .object(["USDT": .number(100_000), "BTC": .number(2)]),
            "resting": .object(["status": .string("open"), "clientOrderId": .string("vaktokx1"), "amount": .number(0.001)]),
            "by_client_id": .bool(true), "used_usdt": .bool(true), "duplicate": .string("InvalidOrder"),
            "canceled": .string("canceled"), "cancel_again": .string("OrderNotFound"),
            "market": .object(["status": .string("closed"), "filled": .number(0.01), "fee_currency": .string("BTC")]),
            "btc_after": .number(0), "too_big": .string("InsufficientFunds"), "unknown_order": .string("OrderNotFound"),
            "wrong_secret": .string("AuthenticationError"), "wrong_passphrase": .string("AuthenticationError"),
        ]
        for (name, value) in expected {
            #expect(Self.field(report, name) == value, "\(name): \(report)")
        }
        let trades = Self.field(report, "trades")
        #expect(trades.flatMap { Self.field($0, "amount") } == .number(0.01), "\(report)")
        #expect(trades.flatMap { Self.field($0, "fee") } == .number(0.00001), "\(report)")
        // Binance's account is another account: untouched.
        let account = try await Self.signed(simulator, .GET, "/api/v3/account", "omitZeroBalances=true")
        #expect(account.status == 200)
        let balances = Self.field(account.body, "balances")
        #expect(
            balances
                == .array([
                    .object(["asset": .string("BTC"), "free": .string("2.00000000"), "locked": .string("0.00000000")]),
                    .object(["asset": .string("USDT"), "free": .string("100000.00000000"), "locked": .string("0.00000000")]),
                ]), "\(account.body)")
        // Unsigned, or with a bad body, refused with OKX's codes.
        let unsigned = try await HTTPProbe.get(simulator.url("/api/v5/account/balance"))
        #expect(unsigned.status == 401 && unsigned.text.contains("\"code\":\"50103\""), "\(unsigned.text)")
        let time = OKXSignature.timestamp(milliseconds: Int64(Date().timeIntervalSince1970 * 1_000))
        func post(_ body: String, stamp: String = time) async throws -> HTTPResult {
            let signature = OKXSignature.sign(
                timestamp: stamp, method: "POST", requestPath: "/api/v5/trade/order", body: body, secret: Self.okx.secret)
            return try await HTTPProbe.request(
                .POST, simulator.url("/api/v5/trade/order"),
                headers: [
                    ("OK-ACCESS-KEY", Self.okx.key), ("OK-ACCESS-SIGN", signature), ("OK-ACCESS-TIMESTAMP", stamp),
                    ("OK-ACCESS-PASSPHRASE", Self.okx.passphrase), ("Content-Type", "application/json"),
                ], body: body)
        }
        let notJSON = try await post("instId=BTC-USDT")
        #expect(notJSON.status == 400 && notJSON.text.contains("\"code\":\"50002\""), "\(notJSON.text)")
        let badMode = try await post(#"{"instId":"BTC-USDT","tdMode":"cross","side":"buy","ordType":"limit","px":"1","sz":"1"}"#)
        #expect(badMode.status == 400 && badMode.text.contains("Parameter tdMode error"), "\(badMode.text)")
        let numberSize = try await post(#"{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","px":"1","sz":1}"#)
        #expect(numberSize.status == 400 && numberSize.text.contains("Parameter sz error"), "\(numberSize.text)")
        let stale = try await post(
            #"{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","px":"1","sz":"1"}"#,
            stamp: OKXSignature.timestamp(milliseconds: Int64(Date().timeIntervalSince1970 * 1_000) - 60_000))
        #expect(stale.status == 401 && stale.text.contains("\"code\":\"50102\""), "\(stale.text)")
    }

    @Test func ccxtReadsThePaperExchangesMarketAsOKXs() async throws {
        let (_, simulator) = try await Self.start()
        defer { Task { await simulator.stop() } }
        await Self.waitForOKXTrades(simulator)
        guard let report = try await Self.pythonReport("ccxt_okx_market.py", simulator) else { return }
        let expected: [String: JSONValue] = [
            "markets": .array([.string("BTC/USDT"), .string("ETH/USDT")]), "btc_id": .string("BTC-USDT"),
            "btc_precision": .object(["price": .number(0.01), "amount": .number(0.00001)]),
            "trades_within_limit": .bool(true), "trades_oldest_first": .bool(true), "trades_priced": .bool(true),
            "time_positive": .bool(true),
            "unknown_symbol": .string("BadSymbol"), "unknown_instrument": .string("BadSymbol"),
        ]
        for (name, value) in expected {
            #expect(Self.field(report, name) == value, "\(name): \(report)")
        }
        // Bad parameters get OKX's codes; the 101st trades request in one window gets its 429.
        let missing = try await HTTPProbe.get(simulator.url("/api/v5/market/trades"))
        #expect(missing.status == 400 && missing.text.contains("\"code\":\"50014\""), "\(missing.text)")
        let badLimit = try await HTTPProbe.get(simulator.url("/api/v5/market/trades?instId=BTC-USDT&limit=501"))
        #expect(badLimit.status == 400 && badLimit.text.contains("\"code\":\"51000\""), "\(badLimit.text)")
        let futures = try await HTTPProbe.get(simulator.url("/api/v5/public/instruments?instType=FUTURES"))
        #expect(futures.status == 400 && futures.text.contains("\"code\":\"51000\""), "\(futures.text)")
        // Batches of 30 at once: more than a window's 10 however slowly the machine answers.
        var answers: [(status: Int, text: String)] = []
        for _ in 0..<20 where !answers.contains(where: { $0.status == 429 }) {
            answers += await withTaskGroup(of: (Int, String).self) { group in
                for _ in 0..<30 {
                    group.addTask {
                        let answer = try? await HTTPProbe.get(simulator.url("/api/v5/public/time"))
                        return (answer?.status ?? 0, answer?.text ?? "")
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
        }
        let tooMany = answers.filter { $0.status == 429 }
        #expect(!tooMany.isEmpty, "no 429 in \(answers.count) requests to an endpoint limited to 10 per 2 s")
        #expect(tooMany.allSatisfy { $0.text.contains("\"code\":\"50011\"") }, "\(tooMany.first?.text ?? "")")
        let refused = try await HTTPProbe.get(simulator.url("/api/v3/ping"))
        #expect(refused.status == 200, "Binance's API counts apart from OKX's")
    }

    /// A market replayed from a Binance kline file trades at the file's prices; a file that
    /// cannot be read stops start-up naming it.
    @Test func aReplayedKlineFileDrivesThePriceAndABadOneIsNamed() async throws {
        let redis = try RedisServer()
        try await redis.start()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vakt-replay-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("BTCUSDT-1m.csv")
        try "1700000000000,50000.00,50000.00,50000.00,50000.00,1,1700000059999,0,0,0,0,0\n".write(
            to: file, atomically: true, encoding: .utf8)
        let simulator = try ServiceInstance(
            .exchangeSim, redisPort: redis.port, postgres: nil,
            sections: "paper_exchange:\n  markets:\n    BTCUSDT: { replay_file: \(file.path) }\n", environment: [:])
        defer { Task { await simulator.stop() } }
        try await simulator.waitUntilReady()
        let price = try JSONValue(parsing: try await HTTPProbe.get(simulator.url("/api/v3/ticker/price?symbol=BTCUSDT")).body)
        #expect(Self.field(price, "price") == .string("50000.00000000"), "\(price)")
        let info = try await HTTPProbe.get(simulator.url("/api/v3/exchangeInfo"))
        #expect(!info.text.contains("ETHUSDT"), "the configured markets replace the defaults")

        let broken = directory.appendingPathComponent("broken.csv")
        try "1700000000000,50000.00,oops,49000.00,50000.00,1,1700000059999\n".write(to: broken, atomically: true, encoding: .utf8)
        let refused = try ServiceInstance(
            .exchangeSim, redisPort: redis.port, postgres: nil,
            sections: "paper_exchange:\n  markets:\n    BTCUSDT: { replay_file: \(broken.path) }\n", environment: [:])
        let status = await refused.process.waitForExit(timeout: .seconds(60))
        #expect(status != nil && status != 0)
        // The start-up failure's log line (one write; the final "Error:" line on stderr may be
        // interleaved with other output) names the key, the file and the line.
        let output = refused.process.output()
        #expect(
            output.contains("paper_exchange.markets.BTCUSDT.replay_file \(broken.path): kline CSV line 1: high")
                && output.contains("is not a positive decimal price"), "\(output)")
    }

    /// `/admin/faults` needs the control token; a bad field is named and changes nothing.
    @Test func faultsChangeOnlyWithTheTokenAndAValidBody() async throws {
        let (_, simulator) = try await Self.start()
        defer { Task { await simulator.stop() } }
        let url = simulator.url("/admin/faults")
        let without = try await HTTPProbe.request(.POST, url, body: #"{"latency_ms": 5}"#)
        #expect(without.status == 401)
        let token = [("Authorization", "Bearer \(ServiceInstance.controlToken)")]
        let bad = try await HTTPProbe.request(.POST, url, headers: token, body: #"{"latency_ms": -5, "fail_next_orders": 1}"#)
        #expect(bad.status == 400 && bad.text.contains("latency_ms"), "\(bad.text)")
        let unknown = try await HTTPProbe.request(.POST, url, headers: token, body: #"{"explode": true}"#)
        #expect(unknown.status == 400 && unknown.text.contains("explode"), "\(unknown.text)")
        let current = try JSONValue(parsing: try await HTTPProbe.request(.GET, url, headers: token).body)
        #expect(Self.field(current, "latency_ms") == .number(0) && Self.field(current, "fail_next_orders") == .number(0), "\(current)")
        // One order fails (503, not executed), the next goes through.
        let set = try await HTTPProbe.request(.POST, url, headers: token, body: #"{"fail_next_orders": 1}"#)
        #expect(set.status == 200)
        let order = "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.001"
        #expect(try await Self.signed(simulator, .POST, "/api/v3/order", order).status == 503)
        #expect(try await Self.signed(simulator, .POST, "/api/v3/order", order).status == 200)
        let trades = try await Self.signed(simulator, .GET, "/api/v3/myTrades", "symbol=BTCUSDT")
        if case .array(let list) = trades.body { #expect(list.count == 1) } else { Issue.record("\(trades.body)") }

        // A throttle window answers every request 429 and a ban window 418, each with its
        // Retry-After, until it ends or is ended (0); a window past 10 minutes is refused.
        let tooLong = try await HTTPProbe.request(.POST, url, headers: token, body: #"{"ban_ms": 600001}"#)
        #expect(tooLong.status == 400 && tooLong.text.contains("ban_ms"), "\(tooLong.text)")
        let ping = simulator.url("/api/v3/ping")
        #expect(try await HTTPProbe.request(.POST, url, headers: token, body: #"{"throttle_ms": 600000}"#).status == 200)
        let throttled = try await HTTPProbe.get(ping)
        // Retry-After counts down from the window's 600 s as the exchange's clock runs.
        let waitFor = { (result: HTTPResult) in Int(result.header("Retry-After") ?? "") ?? 0 }
        #expect(
            throttled.status == 429 && throttled.text.contains("-1003") && (1...600).contains(waitFor(throttled)),
            "\(throttled.status) \(throttled.text) \(throttled.headers)")
        #expect(try await HTTPProbe.request(.POST, url, headers: token, body: #"{"throttle_ms": 0, "ban_ms": 120000}"#).status == 200)
        let banned = try await HTTPProbe.get(ping)
        #expect(
            banned.status == 418 && banned.text.contains("IP banned until") && (1...120).contains(waitFor(banned)),
            "\(banned.status) \(banned.text) \(banned.headers)")
        #expect(try await HTTPProbe.request(.POST, url, headers: token, body: #"{"ban_ms": 0}"#).status == 200)
        #expect(try await HTTPProbe.get(ping).status == 200)
    }
}
