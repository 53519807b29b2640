import EventBus
import Foundation
import Money
import Testing
import VaktConfig
import VaktTesting

/// Many WebSocket clients at once, with a steady stream, a burst and one client that stops
/// reading: no client gets more than 50 messages in any second, every client ends on every key's
/// final value, the stalled one is cut off, and the rest never notice. It takes both cores (a
/// thousand clients in this process), so it runs alone after the suite (scripts/test sets
/// `VAKT_FANOUT_SECONDS=60`: 1,000 clients for 60 s; `VAKT_FANOUT_CLIENTS` sets the number).
@Suite(
    .serialized, .enabled(if: ProcessInfo.processInfo.environment["VAKT_FANOUT_SECONDS"] != nil, "runs alone: set VAKT_FANOUT_SECONDS"))
struct FanoutLoadTests {
    static let environment = ProcessInfo.processInfo.environment
    static let seconds = Int(environment["VAKT_FANOUT_SECONDS"] ?? "") ?? 60
    static let clients = Int(environment["VAKT_FANOUT_CLIENTS"] ?? "") ?? 1_000

    @Test func manyClientsEachGetTheFinalStateWithinTheRateAndAStalledOneIsCutOff() async throws {
        let system = try await GatewaySystem(
            sections: """
                gateway:
                  stall_timeout: 2s
                  max_clients: \(Self.clients + 10)

                """)
        defer { system.stop() }
        let symbols = (0..<10).map { String(format: "L%02dUSDT", $0) }
        var clients: [FanoutClient] = []
        for _ in 0..<Self.clients {
            clients.append(FanoutClient(url: system.webSocketURL, token: GatewaySystem.readToken, topics: ["position.updated"]))
        }
        // The stalled one also takes every alert: distinct keys that fill its socket soon.
        let stalled = FanoutClient(
            url: system.webSocketURL, token: GatewaySystem.readToken, topics: ["position.updated", "alert.fired"], stall: true)
        defer {
            for client in clients { client.close() }
            stalled.close()
        }
        // One deadline for all: a client that is not in by then fails, without holding the rest.
        let connectBy = ContinuousClock.now + .seconds(120)
        for (index, client) in clients.enumerated() {
            let welcomed = await client.waitUntil(timeout: max(.zero, connectBy - .now)) { $0.welcome != nil }
            #expect(welcomed, "client \(index) not welcomed: \(client.state.withLock { $0.errors })")
        }
        try await system.waitUntilFlowing(to: clients[0])

        var random = SplitMix64(seed: 60)
        var step = 0
        var alert = 0
        let start = ContinuousClock.now
        var burstEnded = start
        for tick in 0..<(Self.seconds * 4) {
            // Every 250 ms: 10 position updates over 10 symbols, and 300 large alerts that only
            // the stalled client takes; once, a third of the way in, a burst of 20,000 updates of
            // three symbols at once.
            let burst = tick == Self.seconds * 4 / 3
            var updates: [PositionUpdated] = []
            for _ in 0..<(burst ? 20_000 : 10) {
                step += 1
                updates.append(
                    PositionUpdated(
                        symbol: symbols[Int(random.next(upTo: burst ? 3 : 10))], quantity: Quantity(step, scale: 3),
                        averagePrice: Price(30_000, scale: 0), realizedPnl: .zero))
            }
            try await system.publish(updates)
            if burst { burstEnded = .now }
            var alerts: [AlertFired] = []
            for _ in 0..<300 {
                alert += 1
                alerts.append(
                    AlertFired(
                        AlertNotice(
                            fingerprint: String(format: "%016x", alert), labels: ["alertname": "LoadTest", "n": "\(alert)"],
                            annotations: ["summary": String(repeating: "x", count: 2_000)], startsAt: Date())))
            }
            try await system.publish(alerts)
            // Pacing only: nothing is judged by how long anything took.
            try await Task.sleep(until: start + .milliseconds(250 * (tick + 1)), clock: .continuous)
        }
        // Each symbol's final value.
        var finals: [String: Substring] = [:]
        var last: [PositionUpdated] = []
        for symbol in symbols {
            step += 1
            let update = PositionUpdated(
                symbol: symbol, quantity: Quantity(step, scale: 3), averagePrice: Price(1, scale: 0), realizedPnl: .zero)
            last.append(update)
            finals["position.updated \(symbol)"] = Substring(decoding: update.json.encoded(), as: UTF8.self)
        }
        try await system.publish(last)
        let completeBy = ContinuousClock.now + .seconds(180)
        for (index, client) in clients.enumerated() {
            let complete = await client.waitUntil(timeout: max(.zero, completeBy - .now)) { received in
                finals.allSatisfy { received.latest[$0.key]?.text == $0.value }
            }
            #expect(complete, "client \(index) misses final values")
            let received = client.state.withLock { $0 }
            #expect(received.closingReason == nil && !received.ended, "client \(index) was cut off: \(received.errors)")
            #expect(client.mostBatchesInOneSecond <= 50, "client \(index): \(client.mostBatchesInOneSecond) batches in one second")
        }
        // The stalled one was cut off as stalled (or for its backlog), the rest are connected.
        let metrics = try await system.gateway.request(.GET, "/metrics", authorization: nil).text
        let cut = metrics.split(separator: "\n").filter { $0.hasPrefix("vakt_gateway_ws_clients_cut_total{") && !$0.hasSuffix(" 0") }
        #expect(!cut.isEmpty, "no client was cut off")
        let status = try JSONValue(parsing: try await system.get("/api/gateway").body)
        guard case .object(let fields) = status else { return }
        #expect(fields["clients"] == .number(Double(Self.clients)), "\(status)")

        let latencies = clients.flatMap { client in client.state.withLock { $0.latencies.map(\.milliseconds) } }.sorted()
        // The steady stream after the burst has drained and the stalled client is gone.
        let settled = Date().addingTimeInterval(5 - (ContinuousClock.now - burstEnded).seconds)
        let steady = clients.flatMap { client in
            client.state.withLock { $0.latencies.filter { $0.at > settled }.map(\.milliseconds) }
        }.sorted()
        let most = clients.map(\.mostBatchesInOneSecond).max() ?? 0
        let messages = clients.reduce(0) { $0 + $1.state.withLock { $0.messages } }
        print(
            "fan-out: \(Self.clients) clients for \(Self.seconds) s, \(step) position updates and \(alert) alerts published;",
            "\(messages) messages delivered; most batches in one second \(most);",
            "latency p50 \(Self.percentile(latencies, 0.5)) ms, p99 \(Self.percentile(latencies, 0.99)) ms",
            "(steady, from 5 s after the burst: p50 \(Self.percentile(steady, 0.5)) ms, p99 \(Self.percentile(steady, 0.99)) ms);",
            "cut: \(cut.joined(separator: ", "))")
    }

    static func percentile(_ sorted: [Double], _ share: Double) -> String {
        guard !sorted.isEmpty else { return "-" }
        return String(format: "%.1f", sorted[min(sorted.count - 1, Int(Double(sorted.count) * share))])
    }
}
