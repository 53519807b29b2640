// Time from the event that crosses a threshold (a `portfolio.snapshot` past the drawdown limit)
// to `ess.state_changed` reaching a subscriber, through a real `vakt risk` on a real Redis and
// PostgreSQL (scripts/bench-ess starts them). Each round trips, recovers into cooldown and is
// reset over the API. Prints one `name value` line per figure.

import AsyncHTTPClient
import EventBus
import Foundation
import Logging
import NIOCore
import PolicyStore
import RedisClient
import Synchronization
import VaktConfig

let arguments = CommandLine.arguments
guard arguments.count == 5, let rounds = Int(arguments[3]), let riskPort = Int(arguments[4]) else {
    FileHandle.standardError.write(Data("usage: ESSBench CONFIG WORK_DIRECTORY ROUNDS RISK_PORT\n".utf8))
    exit(64)
}
let configurationPath = arguments[1]
let work = arguments[2]
let token = ProcessInfo.processInfo.environment["VAKT_SECRET_CONTROL_TOKEN"] ?? ""
LoggingSystem.bootstrap { label in
    var handler = StreamLogHandler.standardError(label: label)
    handler.logLevel = .error
    return handler
}
let logger = Logger(label: "bench")
let configuration = try ConfigurationLoader.load(path: configurationPath, environment: ProcessInfo.processInfo.environment)
let endpoint = RedisEndpoint(host: configuration.redis.host, port: configuration.redis.port, commandTimeout: .seconds(10))
let redis = RedisConnection(endpoint: endpoint)

// A policy whose feed-age limit the run never reaches: only the drawdown is measured.
var policy = RiskPolicy.defaults
policy.ess.maxFeedAgeSeconds = 86_400
policy.ess.maxExecutionErrors = 10_000
let document = PolicyDocument(version: 1, updatedAt: Date(), updatedBy: "bench", policy: policy)
_ = try await redis.pipeline(bytes: [[Array("SET".utf8), Array(PolicyKeys.current.utf8), Array(document.data)]])

let risk = Process()
risk.executableURL = URL(fileURLWithPath: arguments[0]).deletingLastPathComponent().appendingPathComponent("vakt")
risk.arguments = ["risk", "--config", configurationPath]
risk.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
try risk.run()

func post(_ path: String, _ body: String) async throws -> UInt {
    var request = HTTPClientRequest(url: "http://127.0.0.1:\(riskPort)\(path)")
    request.method = .POST
    request.headers.add(name: "Authorization", value: "Bearer \(token)")
    request.body = .bytes(ByteBuffer(string: body))
    return try await HTTPClient.shared.execute(request, timeout: .seconds(10)).status.code
}

// Wait until the risk service answers.
var ready = false
for _ in 0..<300 where !ready {
    ready = (try? await post("/api/ess/reduce", "not json")) == 400
    if !ready { try await Task.sleep(for: .milliseconds(100)) }
}
guard ready else {
    FileHandle.standardError.write(Data("the risk service did not start\n".utf8))
    exit(1)
}

// The subscriber: a consumer group of its own on ess.state_changed.
let (changes, delivered) = AsyncStream.makeStream(of: (state: String, at: UInt64).self)
let subscriber = EventConsumer(
    endpoint: endpoint, group: "bench", consumer: "bench-1", types: [.essStateChanged],
    settings: {
        var settings = EventBusSettings(bufferPath: "\(work)/subscriber.sqlite")
        settings.blockFor = .milliseconds(100)
        return settings
    }(), logger: logger
) { event in
    let at = DispatchTime.now().uptimeNanoseconds
    guard case .object(let fields) = event.payload, case .object(let status)? = fields["status"], case .string(let state)? = status["state"]
    else { return }
    delivered.yield((state, at))
}
let subscription = Task { await subscriber.run() }
try await Task.sleep(for: .milliseconds(500))
let publisher = try await EventPublisher(
    redis: RedisConnection(endpoint: endpoint), settings: EventBusSettings(bufferPath: "\(work)/publisher.sqlite"), logger: logger)

func snapshot(_ equity: String) -> EventEnvelope {
    EventEnvelope(type: .portfolioSnapshot, source: "bench", payload: .object(["equity": .string(equity), "dailyPnl": .string("0")]))
}

typealias Change = (state: String, at: UInt64)

nonisolated func next(_ state: String, in iterator: inout AsyncStream<Change>.Iterator) async -> UInt64 {
    while let change = await iterator.next() {
        if change.state == state { return change.at }
    }
    fatalError("subscription ended")
}

/// One round per trip: breach (measured), recovery into cooldown, reset over the API.
nonisolated func measure(rounds: Int, changes: AsyncStream<Change>) async throws -> [Double] {
    var iterator = changes.makeAsyncIterator()
    try await publisher.publish(snapshot("10000.00"))
    var latencies: [Double] = []
    latencies.reserveCapacity(rounds)
    for _ in 0..<rounds {
        let start = DispatchTime.now().uptimeNanoseconds
        try await publisher.publish(snapshot("8900.00"))
        let seen = await next("tripped", in: &iterator)
        latencies.append(Double(seen - start) / 1e6)
        try await publisher.publish(snapshot("10000.00"))
        _ = await next("cooldown", in: &iterator)
        guard try await post("/api/ess/reset", #"{"reason": "bench round"}"#) == 200 else {
            FileHandle.standardError.write(Data("reset refused\n".utf8))
            exit(1)
        }
        _ = await next("armed", in: &iterator)
    }
    return latencies
}

let latencies = try await measure(rounds: rounds, changes: changes)
subscription.cancel()
risk.terminate()
risk.waitUntilExit()
let sorted = latencies.sorted()
func percentile(_ p: Double) -> Double { sorted[min(sorted.count - 1, Int((p / 100 * Double(sorted.count - 1)).rounded()))] }
print("trips \(sorted.count)")
print("trip_to_subscriber_p50_ms \(percentile(50))")
print("trip_to_subscriber_p99_ms \(percentile(99))")
print("trip_to_subscriber_max_ms \(sorted.last ?? 0)")
