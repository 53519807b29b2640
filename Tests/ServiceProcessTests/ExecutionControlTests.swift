import Binance
import BinanceAdapter
import EventBus
import Foundation
import Money
import Testing
import VaktConfig
import VaktTesting

#if canImport(Glibc)
    import Glibc
#endif

/// An operator's actions on execution, through the gateway as the dashboard sends them, against
/// the paper exchange: a pause refuses the symbol's signals and outlives a restart, a resume
/// trades them again, a close sells the position once however often it is sent, and each
/// action is audited as a `control.action` event. Each wait ends at its event; the limits are
/// for a loaded CI machine (58 s for the whole test in a fresh-clone suite, 4 s alone).
@Suite(.serialized) struct ExecutionControlTests {
    /// Exits far away, so the buy's stay armed until the close stands them down.
    static let sections = """
        paper_exchange:
          seed: 5
          balances: { USDT: "100000" }
        execution:
          order_timeout: 2s
          take_profit: "0.5"
          stop_loss: "0.5"
        """

    static func view(_ system: PaperTradingSystem) async -> [String: JSONValue] {
        (try? await system.json(system.execution, "/api/execution")) ?? [:]
    }

    static func signals(_ view: [String: JSONValue], _ name: String) -> Int {
        guard case .object(let signals)? = view["signals"], case .number(let count)? = signals[name] else { return -1 }
        return Int(count)
    }

    static func heldBTC(_ system: PaperTradingSystem) async throws -> FixedDecimal {
        let balance = try await system.exchange.balances().first { $0.asset == "BTC" }
        return try balance.map { try $0.free + $0.locked } ?? .zero
    }

    @Test func anOperatorPausesResumesAndClosesOnceThroughTheGatewayAndEachActionIsAudited() async throws {
        let system = try await PaperTradingSystem(sections: Self.sections)
        defer { system.stop() }
        #expect(await system.waitUntilTrading(timeout: .seconds(180)), "execution did not start trading")
        let gateway = try await startGateway(for: system)
        defer { gateway.process.signal(SIGTERM) }

        // Bad requests are refused by name, and change nothing.
        let refusals: [(path: String, body: String, token: String?, status: Int, says: String)] = [
            ("/api/symbols/BTCUSDT/pause", #"{"reason":"x"}"#, nil, 401, "token"),
            ("/api/symbols/BTCUSDT/pause", #"{"reason":"x"}"#, "Bearer wrong", 401, "token"),
            ("/api/symbols/btc-usdt/pause", #"{"reason":"x"}"#, "", 400, "symbol"),
            ("/api/symbols/ZZZUSDT/pause", #"{"reason":"x"}"#, "", 404, "does not list ZZZUSDT"),
            ("/api/symbols/BTCUSDT/pause", "{}", "", 400, "reason: missing"),
            ("/api/symbols/BTCUSDT/pause", #"{"reason":"x","symbol":"BTCUSDT"}"#, "", 400, "symbol: unknown field"),
            ("/api/positions/BTCUSDT/close", #"{"reason":"x"}"#, "", 400, "actionId: missing"),
            ("/api/positions/BTCUSDT/close", #"{"reason":"x","actionId":"a b"}"#, "", 400, "is not an action id"),
            ("/api/positions/BTCUSDT/close", "{not json", "", 400, "body"),
        ]
        for refusal in refusals {
            let authorization = refusal.token == "" ? "Bearer \(ServiceInstance.controlToken)" : refusal.token
            let answer = try await system.execution.request(.POST, refusal.path, body: refusal.body, authorization: authorization)
            #expect(answer.status == refusal.status, "\(refusal.path) \(refusal.body): \(answer.text)")
            #expect(answer.text.contains(refusal.says), "\(refusal.path) \(refusal.body): \(answer.text)")
        }
        let viaGateway = try await gateway.request(.POST, "/api/control/symbol.pause", body: #"{"reason":"x"}"#)
        #expect(viaGateway.status == 400 && viaGateway.text.contains("symbol: missing"), "\(viaGateway.text)")
        #expect(await Self.view(system)["paused"] == .array([]))

        // Paused: the symbol's signals are refused by the rule `paused`, and sending the pause
        // again changes nothing.
        let pause = try await gateway.request(
            .POST, "/api/control/symbol.pause", body: #"{"reason":"news in an hour","symbol":"BTCUSDT"}"#)
        #expect(pause.status == 200 && pause.text.contains("paused BTCUSDT"), "\(pause.text)")
        let again = try await gateway.request(.POST, "/api/control/symbol.pause", body: #"{"reason":"twice","symbol":"BTCUSDT"}"#)
        #expect(again.status == 200 && again.text.contains("unchanged"), "\(again.text)")
        try await system.signal(.buy)
        #expect(await TestEnvironment.eventually(timeout: .seconds(120)) { Self.signals(await Self.view(system), "rejected") == 1 })
        let rejected = try await EventStreamInspector(redis: system.redis).range(.orderRejected, from: "-", to: "+", limit: 100)
        #expect(rejected.contains { $0.envelope.contains(#""rule":"paused""#) && $0.envelope.contains("news in an hour") }, "\(rejected)")

        // The pause outlives a restart.
        try await system.execution.killAndRestart()
        #expect(await system.waitUntilTrading(timeout: .seconds(180)), "execution did not trade again after its restart")
        let paused = try await system.json(system.execution, "/api/symbols/paused")
        guard case .array(let list)? = paused["paused"], case .object(let first)? = list.first else {
            Issue.record("no pause after the restart: \(paused)")
            return
        }
        #expect(first["symbol"] == .string("BTCUSDT") && first["reason"] == .string("news in an hour"), "\(first)")

        // Resumed: a buy is traded, and its exits armed.
        let resume = try await gateway.request(.POST, "/api/control/symbol.resume", body: #"{"reason":"news out","symbol":"BTCUSDT"}"#)
        #expect(resume.status == 200 && resume.text.contains("resumed BTCUSDT"), "\(resume.text)")
        try await system.signal(.buy)
        var last: [String: JSONValue] = [:]
        #expect(
            await TestEnvironment.eventually(timeout: .seconds(180)) {
                last = await Self.view(system)
                return Self.signals(last, "executed") == 1 && last["openOrders"] == .number(0) && last["armedExits"] == .number(1)
            }, "the buy did not fill and arm its exits: \(last)")
        let bought = try await Self.heldBTC(system)
        #expect(bought > .zero)

        // Closed: one sell of what is held, the exits stood down; the same action sent again
        // places nothing more.
        let close = #"{"reason":"flatten before the news","symbol":"BTCUSDT","actionId":"test-close-0001"}"#
        let closed = try await gateway.request(.POST, "/api/control/position.close", body: close)
        #expect(closed.status == 200 && closed.text.contains("closing BTCUSDT"), "\(closed.text)")
        let step = system.exchange.rules(for: "BTCUSDT")?.lotSize?.stepSize ?? .zero
        var held = bought
        #expect(
            await TestEnvironment.eventually(timeout: .seconds(180)) {
                last = await Self.view(system)
                held = (try? await Self.heldBTC(system)) ?? bought
                return held < step.value && last["openOrders"] == .number(0) && last["armedExits"] == .number(0)
            }, "the close did not sell the position: \(last), \(held) BTC held")
        let resent = try await gateway.request(.POST, "/api/control/position.close", body: close)
        #expect(resent.status == 200 && resent.text.contains("handled before"), "\(resent.text)")
        let closes = try await system.exchange.allOrders(symbol: "BTCUSDT", fromId: nil, limit: 1_000).filter {
            $0.clientOrderId.hasPrefix("vc")
        }
        #expect(closes.count == 1, "closes at the exchange: \(closes.map(\.clientOrderId))")
        #expect(closes.first?.side == .sell)

        // Nothing left to sell: a new close is refused, naming the rule.
        let nothing = try await gateway.request(
            .POST, "/api/control/position.close", body: #"{"reason":"again","symbol":"BTCUSDT","actionId":"test-close-0002"}"#)
        #expect(nothing.status == 409 && nothing.text.contains("nothing to sell"), "\(nothing.text)")

        // Every action that reached execution is audited with its target and outcome.
        var audited: [String] = []
        #expect(
            await TestEnvironment.eventually(timeout: .seconds(120)) {
                audited =
                    ((try? await EventStreamInspector(redis: system.redis).range(.controlAction, from: "-", to: "+", limit: 100)) ?? [])
                    .map(\.envelope)
                return audited.count >= 6
            }, "\(audited)")
        #expect(audited.allSatisfy { $0.contains(#""target":"BTCUSDT""#) }, "\(audited)")
        #expect(audited.filter { $0.contains(#""action":"position.close""#) && $0.contains(#""status":200"#) }.count == 2, "\(audited)")
        #expect(audited.contains { $0.contains(#""action":"position.close""#) && $0.contains(#""status":409"#) }, "\(audited)")
    }
}

/// The gateway on the trading system's Redis and PostgreSQL, relaying to its risk and execution.
private func startGateway(for system: PaperTradingSystem) async throws -> ServiceInstance {
    var environment = ["VAKT_SECRET_READ_TOKEN": GatewaySystem.readToken]
    for (kind, instance) in [(ServiceKind.risk, system.risk.service), (.execution, system.execution)] {
        environment[ConfigReader.variable(forPath: "services.\(kind.rawValue).port")] = String(instance.configuration.ports[kind]!)
    }
    let gateway = try ServiceInstance(
        .gateway, redisPort: system.risk.redis.port, postgres: system.risk.postgres, environment: environment)
    try await gateway.waitUntilReady(timeout: .seconds(120))
    return gateway
}
