// The gateway against bare Hummingbird, in the same run (release build; scripts/bench-gateway):
//
// 1. The snapshot under load: wrk against `GET /api/snapshot` (read token) and against a bare
//    Hummingbird route serving the same bytes; then `/api/snapshot` at a steady 200 requests a
//    second for 20 s (the acceptance figure: p99 under 20 ms).
// 2. Fan-out: 100 WebSocket clients on the final value of 100 symbols after 10,000 updates
//    published as fast as the bus takes them, against a bare Hummingbird WebSocket server that
//    sends every update to every client as its own message (no batching, no coalescing, no bus;
//    a million messages, which it queues in memory per client).
//
// Prints one JSON object; each phase's progress goes to stderr.

import AsyncHTTPClient
import EventBus
import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import Money
import NIOCore
import Synchronization
import VaktConfig
import VaktTesting

func percentile(_ sorted: [Double], _ share: Double) -> Double {
    sorted.isEmpty ? .nan : sorted[min(sorted.count - 1, Int(Double(sorted.count) * share))]
}

/// wrk's requests a second and latency percentiles (`--latency`), in milliseconds.
func wrk(_ url: String, header: String?) async throws -> [String: Double] {
    var arguments = ["-t2", "-c8", "-d15s", "--latency"]
    if let header { arguments += ["-H", header] }
    let (status, output) = try await TestEnvironment.run("/usr/bin/wrk", arguments + [url])
    guard status == 0 else { throw MissingFixture("wrk failed: \(output)") }
    var result: [String: Double] = [:]
    for line in output.split(separator: "\n") {
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
        if fields.first == "Requests/sec:", fields.count > 1 { result["rps"] = Double(fields[1]) }
        if fields.count == 2, ["50%", "90%", "99%"].contains(String(fields[0])) {
            let text = String(fields[1])
            let value: Double? =
                text.hasSuffix("us")
                ? Double(text.dropLast(2)).map { $0 / 1000 }
                : text.hasSuffix("ms") ? Double(text.dropLast(2)) : text.hasSuffix("s") ? Double(text.dropLast(1)).map { $0 * 1000 } : nil
            result["p" + fields[0].dropLast()] = value
        }
    }
    return result
}

/// A bare Hummingbird server: `GET /snapshot` answers `body`; `/ws` sends what `broadcast` gets.
final class BareServer: Sendable {
    let port = TestEnvironment.freePort()
    let clients = Mutex<[Int: AsyncStream<String>.Continuation]>([:])
    let next = Mutex(0)

    func run(body: [UInt8]) async throws {
        let router = Router()
        router.get("/snapshot") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }
        let app = Application(
            router: router,
            server: .http1WebSocketUpgrade { _, _, _ in
                .upgrade([:]) { inbound, outbound, _ in
                    let (stream, continuation) = AsyncStream<String>.makeStream()
                    let id = self.next.withLock { value in
                        value += 1
                        return value
                    }
                    var messages = inbound.messages(maxSize: 1 << 16).makeAsyncIterator()
                    _ = try await messages.next()  // hello
                    try await outbound.write(.text(#"{"type":"welcome","resume":"none"}"#))
                    self.clients.withLock { $0[id] = continuation }
                    defer { _ = self.clients.withLock { $0.removeValue(forKey: id) } }
                    for await frame in stream { try await outbound.write(.text(frame)) }
                }
            },
            configuration: .init(address: .hostname("127.0.0.1", port: port)), logger: Logger(label: "bench.bare"))
        try await app.runService()
    }

    func broadcast(_ frame: String) {
        for continuation in clients.withLock({ Array($0.values) }) { continuation.yield(frame) }
    }
}

let benchStart = ContinuousClock.now
func progress(_ text: String) {
    let elapsed = (ContinuousClock.now - benchStart).seconds
    FileHandle.standardError.write(Data("[\(String(format: "%.1f", elapsed)) s] \(text)\n".utf8))
}

var report: [String: Any] = [:]
let system = try await GatewaySystem(sections: "gateway:\n  refresh_interval: 1s\n")
let bare = BareServer()

// --- 1. the snapshot -----------------------------------------------------------------------------
let snapshot = try await system.get("/api/snapshot")
report["snapshot_bytes"] = snapshot.body.count
let server = Task { try await bare.run(body: snapshot.body) }
for _ in 0..<100 {
    if (try? await HTTPProbe.get("http://127.0.0.1:\(bare.port)/snapshot"))?.status == 200 { break }
    try await Task.sleep(for: .milliseconds(50))
}
progress("wrk against the gateway's snapshot, then the bare route")
report["wrk_gateway"] = try await wrk(system.gateway.url("/api/snapshot"), header: "Authorization: Bearer \(GatewaySystem.readToken)")
report["wrk_bare"] = try await wrk("http://127.0.0.1:\(bare.port)/snapshot", header: nil)

progress("the snapshot at a steady 200 requests a second")
var steady: [Double] = []
let steadyStart = ContinuousClock.now
for index in 0..<4_000 {
    try await Task.sleep(until: steadyStart + .milliseconds(5 * index), clock: .continuous)
    let started = ContinuousClock.now
    var request = HTTPClientRequest(url: system.gateway.url("/api/snapshot"))
    request.headers.add(name: "Authorization", value: "Bearer \(GatewaySystem.readToken)")
    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(5))
    _ = try await response.body.collect(upTo: 64 << 20)
    steady.append((ContinuousClock.now - started).fractionalMilliseconds)
}
steady.sort()
report["steady_200rps"] = ["requests": steady.count, "p50": percentile(steady, 0.5), "p99": percentile(steady, 0.99)]

// --- 2. fan-out ----------------------------------------------------------------------------------
let symbols = (0..<100).map { String(format: "F%03dUSDT", $0) }
func updates(_ count: Int) -> [PositionUpdated] {
    (0..<count).map { index in
        PositionUpdated(
            symbol: symbols[index % 100], quantity: Quantity(index + 1, scale: 3), averagePrice: Price(100, scale: 0), realizedPnl: .zero)
    }
}
let events = updates(10_000)
let finals = Dictionary(events.map { ("position.updated \($0.symbol)", Substring(decoding: $0.json.encoded(), as: UTF8.self)) }) { $1 }

func fanOut(url: String, token: String, publish: () async throws -> Void, flowing: (FanoutClient) async throws -> Void) async throws
    -> [String: Double]
{
    let clients = (0..<100).map { _ in FanoutClient(url: url, token: token, topics: ["position.updated"]) }
    defer { for client in clients { client.close() } }
    for client in clients { _ = await client.waitUntil(timeout: .seconds(60)) { $0.welcome != nil } }
    try await flowing(clients[0])
    let before = clients.reduce(0) { $0 + $1.state.withLock { $0.messages } }
    let started = ContinuousClock.now
    try await publish()
    for client in clients {
        _ = await client.waitUntil(timeout: .seconds(600)) { received in finals.allSatisfy { received.latest[$0.key]?.text == $0.value } }
    }
    let seconds = (ContinuousClock.now - started).seconds
    let messages = clients.reduce(0) { $0 + $1.state.withLock { $0.messages } } - before
    return [
        "seconds": seconds, "events_per_second": Double(events.count) / seconds, "messages": Double(messages),
        "messages_per_second": Double(messages) / seconds,
    ]
}

progress("fan-out through the gateway")
report["fanout_gateway"] = try await fanOut(
    url: system.webSocketURL, token: GatewaySystem.readToken, publish: { try await system.publish(events) },
    flowing: { try await system.waitUntilFlowing(to: $0) })
progress("fan-out through the bare server")
report["fanout_bare"] = try await fanOut(
    url: "ws://127.0.0.1:\(bare.port)/ws", token: "",
    publish: {
        for (index, event) in events.enumerated() {
            let envelope = EventEnvelope(event, source: "bench")
            let frame =
                #"{"type":"batch","t":0,"messages":[{"seq":\#(index + 1),"topic":"position.updated","key":"\#(event.symbol)","id":"\#(envelope.id)","at":"\#(EventEnvelope.timestamp(envelope.occurredAt))","data":\#(String(decoding: event.json.encoded(), as: UTF8.self))}]}"#
            bare.broadcast(frame)
        }
    }, flowing: { _ in })

progress("done")
server.cancel()
system.stop()
print(String(decoding: try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys]), as: UTF8.self))
