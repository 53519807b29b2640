// The Prometheus text parser and the supervisor's aggregated endpoint, measured
// (scripts/bench-metrics runs this beside Python's prometheus_client parser):
//   MetricsBench generate FILE SERIES         write an exposition of about SERIES samples
//   MetricsBench parse FILE ROUNDS            parse it ROUNDS times; samples/s and MB/s
//   MetricsBench serve URL REQUESTS           GET URL REQUESTS times; latency p50/p99
// Prints one `name value` line per figure.

import AsyncHTTPClient
import Foundation
import PrometheusText

let arguments = CommandLine.arguments
func usage() -> Never {
    FileHandle.standardError.write(Data("usage: MetricsBench generate FILE SERIES | parse FILE ROUNDS | serve URL REQUESTS\n".utf8))
    exit(64)
}
guard arguments.count == 4, let count = Int(arguments[3]) else { usage() }

/// Counters, gauges and histograms with 3 to 5 labels, some values needing escapes.
func generate(samples target: Int) -> String {
    var text = ""
    var written = 0
    var family = 0
    while written < target {
        let labels = { (series: Int) -> String in
            var pairs = ["service=\"svc-\(series % 9)\"", "id=\"\(series)\"", "route=\"/api/v\(series % 3)/items\""]
            if series % 2 == 0 { pairs.append("path=\"C:\\\\data\\\\\(series)\"") }
            if series % 3 == 0 { pairs.append("note=\"say \\\"hi\\\"\\nbye\"") }
            return pairs.joined(separator: ",")
        }
        switch family % 3 {
        case 0:
            text += "# HELP bench_requests_\(family)_total Requests served.\n# TYPE bench_requests_\(family)_total counter\n"
            for series in 0..<100 {
                text += "bench_requests_\(family)_total{\(labels(series))} \(series * 1000 + family)\n"
            }
            written += 100
        case 1:
            text += "# HELP bench_temperature_\(family) A gauge.\n# TYPE bench_temperature_\(family) gauge\n"
            for series in 0..<100 {
                text += "bench_temperature_\(family){\(labels(series))} \(Double(series) * 0.25 - 3.5)\n"
            }
            written += 100
        default:
            text += "# HELP bench_latency_\(family)_seconds A histogram.\n# TYPE bench_latency_\(family)_seconds histogram\n"
            for series in 0..<10 {
                var cumulative = 0
                for bound in ["0.005", "0.01", "0.05", "0.1", "0.5", "1", "+Inf"] {
                    cumulative += series + 1
                    text += "bench_latency_\(family)_seconds_bucket{\(labels(series)),le=\"\(bound)\"} \(cumulative)\n"
                }
                text += "bench_latency_\(family)_seconds_sum{\(labels(series))} \(Double(cumulative) * 0.01)\n"
                text += "bench_latency_\(family)_seconds_count{\(labels(series))} \(cumulative)\n"
            }
            written += 90
        }
        family += 1
    }
    return text
}

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    sorted[min(sorted.count - 1, Int((p / 100 * Double(sorted.count - 1)).rounded()))]
}

switch arguments[1] {
case "generate":
    try generate(samples: count).write(toFile: arguments[2], atomically: true, encoding: .utf8)
case "parse":
    let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: arguments[2])))
    var samples = 0
    let parser = ExpositionParser()
    _ = try parser.parse(bytes)  // warm up
    let start = DispatchTime.now().uptimeNanoseconds
    for _ in 0..<count { samples = try parser.parse(bytes).reduce(0) { $0 + $1.samples.count } }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 / Double(count)
    print("samples \(samples)")
    print("bytes \(bytes.count)")
    print("samples_per_second \(Int(Double(samples) / seconds))")
    print("megabytes_per_second \(Double(bytes.count) / seconds / 1e6)")
case "serve":
    var latencies: [Double] = []
    var size = 0
    for _ in 0..<count {
        let start = DispatchTime.now().uptimeNanoseconds
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: arguments[2]), timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 30)
        latencies.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        size = body.readableBytes
    }
    latencies.sort()
    print("serve_bytes \(size)")
    print("serve_p50_ms \(percentile(latencies, 50))")
    print("serve_p99_ms \(percentile(latencies, 99))")
default:
    usage()
}
