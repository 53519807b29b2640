// The health mesh measured through a real `vakt supervisor` (release build) on a real Redis
// (scripts/bench-mesh starts it):
//
// 1. Failure-to-trip latency: a critical `vakt execution` child is (a) killed with SIGKILL or
//    (b) hung with SIGSTOP (it stops answering /health); the time from that to the trip request
//    reaching the risk API. The risk API here is this program's own HTTP server, which records
//    when `POST /api/ess/trip` arrives (the ESS's own reaction is measured by scripts/bench-ess).
// 2. Probe cost: the supervisor's CPU while it probes 1,000 HTTP targets (this program's server)
//    once a second, against the same supervisor probing none, both as a share of one core.
//
// Prints one `name value` line per figure.

import Foundation
import Synchronization
import VaktTesting

#if canImport(Glibc)
    import Glibc
#endif

let arguments = CommandLine.arguments
guard arguments.count == 5, let redisPort = Int(arguments[3]), let runs = Int(arguments[4]) else {
    FileHandle.standardError.write(Data("usage: MeshBench VAKT WORK_DIRECTORY REDIS_PORT RUNS\n".utf8))
    exit(64)
}
let vakt = arguments[1]
let work = URL(fileURLWithPath: arguments[2])
let token = "bench-token-\(UUID().uuidString)"

/// The risk API and exchange ping the supervisor talks to, and 1,000 health targets.
let trips = Mutex<[Date]>([])
let server = try await ScriptedHTTPServer { request, _ in
    switch (request.method, request.path) {
    case ("POST", "/api/ess/trip"):
        trips.withLock { $0.append(request.receivedAt) }
        return .json(200, #"{"outcome":"transitioned"}"#)
    case (_, "/api/ess"): return .json(200, #"{"status":{"state":"armed"}}"#)
    case (_, "/api/v3/ping"): return .json(200, "{}")
    default: return .json(200, #"{"status":"pass"}"#)
    }
}

/// What every supervisor of the run shares.
struct Setup: Sendable {
    var vakt: String
    var work: URL
    var redisPort: Int
    var server: ScriptedHTTPServer
    var token: String
}
let setup = Setup(vakt: vakt, work: work, redisPort: redisPort, server: server, token: token)

/// Supervisors still running, stopped by ``fail(_:)`` so that none outlives the run.
let running = Mutex<[Process]>([])

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    for process in running.withLock({ $0 }) {
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
    }
    exit(1)
}

struct Supervisor {
    let process: Process
    let port: Int
    let token: String

    /// - Parameter execution: the `services.execution` settings.
    init(name: String, sections: String, execution: String, setup: Setup) throws {
        let (work, redisPort, server, vakt) = (setup.work, setup.redisPort, setup.server, setup.vakt)
        token = setup.token
        port = TestEnvironment.freePort()
        let directory = work.appendingPathComponent(name)
        try? FileManager.default.removeItem(at: directory)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var yaml = """
            system: { instance: bench, state_directory: \(directory.path)/state }
            log: { level: warning }
            redis: { port: \(redisPort) }
            exchange: { base_url: "\(server.url)" }

            """
        yaml += sections
        yaml += "services:\n  supervisor: { port: \(port) }\n  risk: { port: \(server.port), enabled: false }\n"
        yaml += "  execution: \(execution)\n"
        for name in ["gateway", "ai-engine", "portfolio", "rl-training", "market-data", "dashboard", "exchange-sim"] {
            yaml += "  \(name): { enabled: false, port: \(TestEnvironment.freePort()) }\n"
        }
        let path = directory.appendingPathComponent("vakt.yaml").path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        process = Process()
        process.executableURL = URL(fileURLWithPath: vakt)
        process.arguments = ["supervisor", "--config", path]
        var environment = ProcessInfo.processInfo.environment
        environment["VAKT_SECRET_CONTROL_TOKEN"] = setup.token
        environment.removeValue(forKey: "NOTIFY_SOCKET")
        process.environment = environment
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        let log = directory.appendingPathComponent("supervisor.log").path
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        process.standardError = FileHandle(forWritingAtPath: log)
        try process.run()
        running.withLock { [process] in $0.append(process) }
    }

    func get(_ path: String) async -> [String: Any]? {
        guard let result = try? await HTTPProbe.get("http://127.0.0.1:\(port)\(path)") else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(result.body))) as? [String: Any]
    }

    func service(_ name: String) async -> [String: Any]? {
        (await get("/api/services")?["services"] as? [[String: Any]])?.first { $0["name"] as? String == name }
    }

    func meshNode(_ name: String) async -> [String: Any]? {
        (await get("/api/mesh")?["nodes"] as? [[String: Any]])?.first { $0["name"] as? String == name }
    }

    func ruleFiring() async -> Bool {
        (await get("/api/mesh")?["rules"] as? [[String: Any]])?.contains { $0["firing"] as? Bool == true } ?? true
    }

    func start(_ name: String) async throws {
        _ = try await HTTPProbe.request(
            .POST, "http://127.0.0.1:\(port)/api/services/\(name)/start", headers: [("Authorization", "Bearer \(token)")])
    }

    /// CPU seconds the process has used (user + system).
    var cpuSeconds: Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // utime and stime, the 14th and 15th fields, in clock ticks.
        let ticks = (Double(fields[11]) ?? 0) + (Double(fields[12]) ?? 0)
        return ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    func stop() {
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        running.withLock { [process] in $0.removeAll { $0 === process } }
    }
}

func percentile(_ values: [Double], _ p: Double) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return .nan }
    return sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)]
}

func eventually(_ seconds: Double = 30, _ condition: () async -> Bool) async -> Bool {
    let deadline = Date() + seconds
    while Date() < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return false
}

// MARK: - Failure to trip

let hold = 1.0
let interval = 0.2, threshold = 3, timeout = 0.2
let latency = try Supervisor(
    name: "latency",
    sections: """
        health:
          probe: { interval: 1s, timeout: 500ms }
          probes:
            execution: { interval: \(Int(interval * 1000))ms, timeout: \(Int(timeout * 1000))ms, failure_threshold: \(threshold), start_grace: 1s }
        safety:
          risk_timeout: 1s
          rules:
            execution-down: { condition: service_down, services: [execution], hold: \(Int(hold * 1000))ms }
        alerts: { group_wait: 1h }

        """, execution: "{ port: \(TestEnvironment.freePort()), restart: never, critical: true }", setup: setup)

func ready() async -> Bool {
    await eventually(60) {
        guard await latency.service("execution")?["ready"] as? Bool == true,
            await latency.meshNode("execution")?["effective"] as? String != "fail"
        else { return false }
        return await !latency.ruleFiring()
    }
}

func measure(_ failure: Int32, recover: (Int32) async throws -> Void) async throws -> [Double] {
    var results: [Double] = []
    for _ in 0..<runs {
        guard await ready(), let pid = await latency.service("execution")?["pid"] as? Int else {
            let node = await latency.meshNode("execution").map { "\($0)" } ?? "none"
            let rules = await latency.get("/api/mesh")?["rules"].map { "\($0)" } ?? "none"
            fail(
                "mesh node: \(node)\nrules: \(rules)\n"
                    + "execution did not become ready and passing; see \(work.path)/latency/supervisor.log")
        }
        // Past the probe's start grace, so that a hang counts from its first missed probe.
        try await Task.sleep(for: .milliseconds(1500))
        let before = trips.withLock { $0.count }
        let started = Date()
        kill(Int32(pid), failure)
        guard await eventually(30, { trips.withLock { $0.count } > before }) else {
            fail("no trip request arrived; see \(work.path)/latency/supervisor.log")
        }
        results.append(trips.withLock { $0[before] }.timeIntervalSince(started) * 1000)
        try await recover(Int32(pid))
    }
    return results
}

// RUNS 0 measures the probe cost alone.
if runs > 0 {
    let killed = try await measure(SIGKILL) { _ in try await latency.start("execution") }
    let hung = try await measure(SIGSTOP) { pid in kill(pid, SIGCONT) }
    latency.stop()
    print("runs \(runs)")
    print("hold_ms \(Int(hold * 1000))")
    print("killed_p50_ms \(String(format: "%.1f", percentile(killed, 0.5)))")
    print("killed_p99_ms \(String(format: "%.1f", percentile(killed, 0.99)))")
    print("killed_goal_ms \(Int(hold * 1000) + 50)")
    print("hung_p50_ms \(String(format: "%.1f", percentile(hung, 0.5)))")
    print("hung_p99_ms \(String(format: "%.1f", percentile(hung, 0.99)))")
    print("hung_goal_ms \(Int((hold + interval * Double(threshold) + timeout) * 1000))")
} else {
    latency.stop()
}

// MARK: - Probe cost

func cpuShare(targets: Int, seconds: Double) async throws -> Double {
    let lines = (0..<targets).map { "    target-\($0): \"\(server.url)/health/\($0)\"" }.joined(separator: "\n")
    let supervisor = try Supervisor(
        name: "cost-\(targets)",
        sections: """
            health:
              probe: { interval: 1s, timeout: 500ms, start_grace: 0s }
            \(targets > 0 ? "  http_targets:\n" + lines + "\n" : "")safety:
              rules: {}

            """, execution: "{ enabled: false, port: \(TestEnvironment.freePort()) }", setup: setup)
    defer { supervisor.stop() }
    guard await eventually(60, { await supervisor.get("/api/mesh")?["status"] as? String == "pass" }) else {
        fail("the mesh of \(targets) targets did not pass; see \(work.path)/cost-\(targets)/supervisor.log")
    }
    try await Task.sleep(for: .seconds(5))
    let before = supervisor.cpuSeconds
    let started = Date()
    try await Task.sleep(for: .seconds(seconds))
    return (supervisor.cpuSeconds - before) / Date().timeIntervalSince(started) * 100
}

let idle = try await cpuShare(targets: 0, seconds: 30)
let probing = try await cpuShare(targets: 1000, seconds: 30)
print("cpu_idle_percent \(String(format: "%.2f", idle))")
print("cpu_1000_targets_percent \(String(format: "%.2f", probing))")
print("cpu_ratio \(String(format: "%.1f", probing / max(idle, 0.01)))")
await server.stop()
