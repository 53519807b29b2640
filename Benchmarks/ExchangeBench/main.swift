// ExchangeBench: the exchange layer measured against its anchors in the same run
// (scripts/bench-exchange):
//   signing N              the adapter's own cost to turn an order into a signed request
//                          (filters, amounts on the grid, form encoding, HMAC-SHA256), against
//                          ccxt's in Python (bench_ccxt_sign.py) in the same run
//   matching N             the paper exchange's matching engine in process: orders per second
//   roundtrip URL KEY SECRET N
//                          a signed order's round trip over HTTP to the paper exchange, against
//                          a bare Hummingbird route in this process answering the same request
// Each prints `name value` lines.

import AsyncHTTPClient
import Binance
import BinanceAdapter
import EventBus
import Foundation
import Hummingbird
import Money
import NIOCore
import PaperExchange

func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

let btc = SimulatedMarket.standard(
    symbol: "BTCUSDT", baseAsset: "BTC", quoteAsset: "USDT", tickSize: Price(1, scale: 2), stepSize: Quantity(1, scale: 5),
    minNotional: Money(5), startPrice: Price(64_000), depthPerLevel: Quantity(5, scale: 1))

func intent(_ index: Int) -> OrderIntent {
    OrderIntent(
        symbol: "BTCUSDT", side: index % 2 == 0 ? .buy : .sell, type: .limit, timeInForce: .ioc,
        quantity: Quantity(100 + index % 900, scale: 5), price: Price(6_400_000 + index % 1_000, scale: 2),
        clientOrderId: "bench-\(index)")
}

func nanoseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1e9 + Double(duration.components.attoseconds) / 1e9
}

func signing(_ count: Int) throws {
    let secret = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
    var bytes = 0
    let start = ContinuousClock.now
    for index in 0..<count {
        let parameters = try BinanceClient.orderParameters(intent(index), filters: btc.symbol.filters)
        bytes += BinanceClient.signed(parameters, secret: secret, recvWindow: 5_000, timestamp: 1_800_000_000_000 + Int64(index)).utf8.count
    }
    let elapsed = ContinuousClock.now - start
    say("vakt_sign_ns_per_request \(String(format: "%.0f", nanoseconds(elapsed) / Double(count)))")
    say("vakt_sign_checksum \(bytes)")
}

func matching(_ count: Int) throws {
    var exchange = try PaperExchange(
        settings: .init(
            markets: [btc], balances: ["USDT": FixedDecimal(1_000_000_000), "BTC": FixedDecimal(100_000)],
            makerCommission: FixedDecimal(1, scale: 3), takerCommission: FixedDecimal(1, scale: 3), seed: 1),
        now: 1_800_000_000_000)
    var now: Int64 = 1_800_000_000_000
    var fills = 0
    let start = ContinuousClock.now
    for index in 0..<count {
        // One step of market every 100 orders; a mix of market orders that take a level or
        // two, limit orders that rest and are canceled, and limit IOCs that expire.
        if index % 100 == 0 { now += 1_000 }
        let side: OrderSide = index % 2 == 0 ? .buy : .sell
        let order: PaperExchange.NewOrder
        switch index % 4 {
        case 0, 1:
            order = .init(terms: OrderTerms(symbol: "BTCUSDT", side: side, type: .market, quantity: Quantity(1 + index % 50, scale: 3)))
        case 2:
            let price = try exchange.midPrice(symbol: "BTCUSDT")
            let away = Price(side == .buy ? try price.value - FixedDecimal(500) : try price.value + FixedDecimal(500))
            order = .init(
                terms: OrderTerms(symbol: "BTCUSDT", side: side, type: .limit, quantity: Quantity(1, scale: 3), price: away),
                timeInForce: .gtc, clientOrderId: "rest-\(index)")
        default:
            order = .init(
                terms: OrderTerms(symbol: "BTCUSDT", side: side, type: .limit, quantity: Quantity(1, scale: 3), price: Price(60_000)),
                timeInForce: .ioc)
        }
        let placed = try exchange.place(order, now: now)
        fills += placed.fills.count
        if index % 4 == 2 {
            _ = try exchange.cancel(symbol: "BTCUSDT", orderId: placed.order.id, clientOrderId: nil, newClientOrderId: nil, now: now)
        }
    }
    let elapsed = ContinuousClock.now - start
    say("matching_orders_per_second \(String(format: "%.0f", Double(count) / (nanoseconds(elapsed) / 1e9)))")
    say("matching_fills \(fills)")
}

/// A bare Hummingbird route answering the order request with a small JSON body: the floor of
/// an HTTP round trip on this machine and this server framework.
func bareServer(port: Int) -> Application<RouterResponder<BasicRequestContext>> {
    let router = Router()
    router.post("/api/v3/order") { request, _ -> Response in
        _ = try await request.body.collect(upTo: 64 << 10)
        return Response(
            status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"orderId":1}"#)))
    }
    return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)), logger: .init(label: "bench"))
}

func roundTrips(url: String, key: String, secret: String, count: Int) async throws -> [Double] {
    var times: [Double] = []
    times.reserveCapacity(count)
    for index in 0..<count {
        let parameters = try BinanceClient.orderParameters(intent(index), filters: btc.symbol.filters)
        let body = BinanceClient.signed(
            parameters, secret: secret, recvWindow: 60_000, timestamp: Int64(Date().timeIntervalSince1970 * 1000))
        var request = HTTPClientRequest(url: url + "/api/v3/order")
        request.method = .POST
        request.headers.add(name: "X-MBX-APIKEY", value: key)
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.body = .bytes(ByteBuffer(string: body))
        let start = ContinuousClock.now
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let reply = try await response.body.collect(upTo: 1 << 20)
        times.append(nanoseconds(ContinuousClock.now - start) / 1_000)
        guard response.status == .ok else { throw BenchError("order \(index): HTTP \(response.status): \(String(buffer: reply))") }
    }
    return times.sorted()
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

func percentile(_ sorted: [Double], _ fraction: Double) -> Double {
    sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))]
}

let arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case "signing":
    try signing(Int(arguments.dropFirst().first ?? "") ?? 200_000)
case "matching":
    try matching(Int(arguments.dropFirst().first ?? "") ?? 200_000)
case "roundtrip" where arguments.count >= 5:
    let count = Int(arguments[4]) ?? 5_000
    let port = 9191
    let bare = bareServer(port: port)
    let server = Task { try await bare.runService() }
    try await Task.sleep(for: .milliseconds(500))
    // Warm both, then measure each in turn.
    _ = try await roundTrips(url: arguments[1], key: arguments[2], secret: arguments[3], count: 200)
    _ = try await roundTrips(url: "http://127.0.0.1:\(port)", key: arguments[2], secret: arguments[3], count: 200)
    let simulator = try await roundTrips(url: arguments[1], key: arguments[2], secret: arguments[3], count: count)
    let floor = try await roundTrips(url: "http://127.0.0.1:\(port)", key: arguments[2], secret: arguments[3], count: count)
    server.cancel()
    say("simulator_order_us_median \(String(format: "%.1f", percentile(simulator, 0.5)))")
    say("simulator_order_us_p99 \(String(format: "%.1f", percentile(simulator, 0.99)))")
    say("bare_route_us_median \(String(format: "%.1f", percentile(floor, 0.5)))")
    say("bare_route_us_p99 \(String(format: "%.1f", percentile(floor, 0.99)))")
default:
    say("usage: ExchangeBench signing N | matching N | roundtrip URL KEY SECRET N")
    exit(64)
}
