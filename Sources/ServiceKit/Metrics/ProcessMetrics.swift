import Foundation
import Prometheus
import PrometheusText
import Synchronization

/// The standard `process_*` metrics of Prometheus client libraries, read from `/proc/self` at
/// each scrape: CPU seconds, resident and virtual memory, open and maximum file descriptors,
/// start time.
final class ProcessMetrics: Sendable {
    private let cpuSeconds: Counter
    private let residentBytes: Gauge
    private let virtualBytes: Gauge
    private let openFDs: Gauge
    private let maxFDs: Gauge
    private let startTime: Gauge
    private let lastCPUSeconds = Mutex<Double>(0)

    init(registry: PrometheusCollectorRegistry) {
        cpuSeconds = registry.counter("process_cpu_seconds_total", help: "Total user and system CPU time spent in seconds.")
        residentBytes = registry.gauge("process_resident_memory_bytes", help: "Resident memory size in bytes.")
        virtualBytes = registry.gauge("process_virtual_memory_bytes", help: "Virtual memory size in bytes.")
        openFDs = registry.gauge("process_open_fds", help: "Number of open file descriptors.")
        maxFDs = registry.gauge("process_max_fds", help: "Maximum number of open file descriptors.")
        startTime = registry.gauge("process_start_time_seconds", help: "Start time of the process since unix epoch in seconds.")
        if let stat = Self.readStat(), let bootTime = Self.bootTime() {
            startTime.set(bootTime + stat.startTicks / Self.ticksPerSecond)
        }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 { maxFDs.set(Double(limit.rlim_cur)) }
    }

    func update() {
        if let stat = Self.readStat() {
            let total = (stat.userTicks + stat.systemTicks) / Self.ticksPerSecond
            let delta = lastCPUSeconds.withLock { last in
                defer { last = max(last, total) }
                return total - last
            }
            if delta > 0 { cpuSeconds.increment(by: delta) }
            residentBytes.set(stat.residentPages * Self.pageSize)
            virtualBytes.set(stat.virtualBytes)
        }
        if let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
            openFDs.set(Double(entries.count))
        }
    }

    struct Stat {
        var userTicks: Double
        var systemTicks: Double
        var startTicks: Double
        var virtualBytes: Double
        var residentPages: Double
    }

    static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
    static let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))

    /// Parses `/proc/self/stat`; the command name (field 2) may hold spaces, so fields are
    /// counted from the closing parenthesis.
    static func readStat() -> Stat? {
        guard let text = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state); field N is at index N - 3.
        guard fields.count > 21,
            let user = Double(fields[11]), let system = Double(fields[12]), let start = Double(fields[19]),
            let virtual = Double(fields[20]), let resident = Double(fields[21])
        else { return nil }
        return Stat(userTicks: user, systemTicks: system, startTicks: start, virtualBytes: virtual, residentPages: resident)
    }

    static func bootTime() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst(6).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }
}
