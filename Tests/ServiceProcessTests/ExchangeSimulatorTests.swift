import Binance
import EventBus
import Foundation
import Money
import Testing
import VaktConfig
import VaktTesting

/// The paper exchange as a client sees it over HTTP: Binance's market rules and order check,
/// with Binance's own error codes and messages for every kind of bad request.
@Suite struct ExchangeSimulatorTests {
    static let apiKey = "test-api-key-0123456789"
    static let secret = "test-api-secret-abcdefghijklmnopqrstuvwxyz"

    static func start() async throws -> (RedisServer, ServiceInstance) {
        let redis = try RedisServer()
        try await redis.start()
        let simulator = try ServiceInstance(
            .exchangeSim, redisPort: redis.port, postgres: nil,
            environment: ["VAKT_SECRET_EXCHANGE_API_KEY": apiKey, "VAKT_SECRET_EXCHANGE_API_SECRET": secret])
        try await simulator.waitUntilReady()
        return (redis, simulator)
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
}
