import EventBus
import Foundation
import Money
import Testing
import VaktConfig
import VaktTesting

#if canImport(Glibc)
    import Glibc
#endif

/// Two gateways behind a real HAProxy, as the status report's long-term list asks: each reads
/// the whole bus in a consumer group of its own (`gateway.instance_name`), HAProxy health-checks
/// them through `/health` and spreads WebSocket clients between them.
@Suite struct GatewayFailoverTests {
    static func sections(_ name: String) -> String {
        "gateway:\n  instance_name: \(name)\n  refresh_interval: 500ms\n  refresh_spacing: 50ms\n"
    }

    static func position(_ symbol: String, _ quantity: Int) -> PositionUpdated {
        PositionUpdated(symbol: symbol, quantity: Quantity(quantity, scale: 3), averagePrice: Price(30_000, scale: 0), realizedPnl: .zero)
    }

    @Test func anInstanceNameIsItsConsumerGroupAndABadOneIsNamed() throws {
        let named = try ConfigurationLoader.parse(yaml: "gateway:\n  instance_name: host-b\n", file: "t", environment: [:])
        #expect(named.gateway.consumerGroup == "gateway.host-b")
        #expect(try ConfigurationLoader.parse(yaml: "", file: "t", environment: [:]).gateway.consumerGroup == "gateway")
        do {
            _ = try ConfigurationLoader.parse(yaml: "gateway:\n  instance_name: \"host b\"\n", file: "test.yaml", environment: [:])
            Issue.record("a name with a space accepted")
        } catch {
            #expect("\(error)".contains("test.yaml:gateway.instance_name: \"host b\" is not up to 64 of [A-Za-z0-9_-]"), "\(error)")
        }
    }

    /// Twenty clients through HAProxy, events flowing every 10 ms; one gateway is SIGKILLed.
    /// Its clients come back, through the same address, on the other at their first reconnect
    /// attempt (told to start from a snapshot: another gateway's sequence means nothing here);
    /// the other's clients never notice; every client ends with the last value published.
    @Test func aGatewayKilledUnderLoadLosesNoClientForLongerThanOneReconnect() async throws {
        let first = try await GatewaySystem(sections: Self.sections("a"))
        defer { first.stop() }
        let second = try await GatewaySystem(sections: Self.sections("b"), risk: first.risk)
        defer { second.stop() }
        let balancer = try await LoadBalancer(backends: [first, second].map(\.address))
        try await Self.killOneUnderLoad(first, second, through: balancer) { first.gateway.process.signal(SIGKILL) }
    }

    /// Twenty clients through `balancer` to `first` and `second`, events flowing every 10 ms;
    /// `lose` takes `first` away. Its clients come back on `second` at their first reconnect
    /// attempt, told to start from a snapshot; `second`'s clients never notice; every client
    /// ends with the last value published.
    static func killOneUnderLoad(
        _ first: GatewaySystem, _ second: GatewaySystem, through balancer: LoadBalancer, lose: () throws -> Void
    ) async throws {
        let url = balancer.url.replacingOccurrences(of: "http://", with: "ws://") + "/ws"
        let clients = (0..<20).map { _ in
            FanoutClient(url: url, token: GatewaySystem.readToken, topics: ["position.updated"], reconnect: true)
        }
        defer { clients.forEach { $0.close() } }
        for client in clients { try await first.waitUntilFlowing(to: client) }

        func epoch(of system: GatewaySystem) async throws -> JSONValue? {
            guard case .object(let fields) = try JSONValue(parsing: try await system.get("/api/gateway").body) else { return nil }
            return fields["epoch"]
        }
        let firstEpoch = try #require(try await epoch(of: first))
        let secondEpoch = try #require(try await epoch(of: second))
        func welcomeEpoch(_ client: FanoutClient) -> JSONValue? { client.state.withLock { $0.welcome?["epoch"] } }
        let onFirst = clients.filter { welcomeEpoch($0) == firstEpoch }
        let onSecond = clients.filter { welcomeEpoch($0) == secondEpoch }
        #expect(
            onFirst.count + onSecond.count == 20 && !onFirst.isEmpty && !onSecond.isEmpty,
            "round robin: \(onFirst.count) and \(onSecond.count)")

        // One event reaches every client, whichever gateway it is on: each gateway reads the
        // whole bus (in one shared group, each would get half the events).
        let each = Self.position("EACHUSDT", 1)
        try await first.publish([each])
        let eachText = Substring(decoding: each.json.encoded(), as: UTF8.self)
        for client in clients {
            #expect(await client.waitUntil { $0.latest["position.updated EACHUSDT"]?.text == eachText }, "a gateway missed an event")
        }

        let load = Task {
            var step = 0
            while !Task.isCancelled {
                step += 1
                try? await first.publish([Self.position("LOADUSDT", step)])
                try? await Task.sleep(for: .milliseconds(10))
            }
        }
        try await Task.sleep(for: .seconds(1))
        try lose()
        #expect(
            await TestEnvironment.eventually(timeout: .seconds(120)) {
                onFirst.allSatisfy { client in welcomeEpoch(client) == secondEpoch && client.state.withLock { $0.outages.count == 1 } }
            }, "every client of the killed gateway is back, on the other")
        try await Task.sleep(for: .seconds(1))
        load.cancel()
        _ = await load.value

        let last = Self.position("LOADUSDT", 1_000_000)
        try await second.publish([last])
        let expected = Substring(decoding: last.json.encoded(), as: UTF8.self)
        for client in clients {
            #expect(await client.waitUntil { $0.latest["position.updated LOADUSDT"]?.text == expected }, "a client missed the last value")
        }
        for client in onFirst {
            let (resume, attempts) = client.state.withLock { ($0.welcome?["resume"], $0.outages.map(\.attempts)) }
            #expect(resume == JSONValue.string("snapshot"))
            #expect(attempts == [1], "reconnected at its first attempt: \(attempts)")
        }
        for client in onSecond { #expect(client.state.withLock { $0.welcomes == 1 && $0.outages.isEmpty }) }
        let gaps = onFirst.compactMap { client in client.state.withLock { $0.outages.first?.duration } }
        print("gateway failover: \(onFirst.count) clients moved; gaps \(gaps.min()!)…\(gaps.max()!)")
    }
}
