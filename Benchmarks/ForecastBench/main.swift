// ForecastBench: the AI engine's per-kline work (features, the four models, the ensemble and
// its scoring) and a training run of the four models, on a seeded market with a planted
// momentum; writes the bars' features and labels for the numpy / scikit-learn anchor
// (bench_sklearn.py), which does the same in the same run (scripts/bench-forecast).
//
//   ForecastBench OUT_DIR [TRAINING_BARS] [LIVE_BARS]   (defaults 3000 20000)

import Forecasting
import Foundation
import VaktTesting

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    FileHandle.standardError.write(Data("usage: ForecastBench OUT_DIR [TRAINING_BARS] [LIVE_BARS]\n".utf8))
    exit(2)
}
let out = URL(fileURLWithPath: arguments[1])
let trainingBars = arguments.count > 2 ? Int(arguments[2]) ?? 3_000 : 3_000
let liveBars = arguments.count > 3 ? Int(arguments[3]) ?? 20_000 : 20_000

let bars = SyntheticMarket.bars(count: trainingBars + liveBars, persistence: 0.3, seed: 77).map {
    Bar(openTime: $0.openTime, high: $0.high, low: $0.low, close: $0.close, volume: $0.volume)
}
let training = samples(from: Array(bars.prefix(trainingBars)))

func microseconds(_ duration: Duration) -> Double {
    let parts = duration.components
    return Double(parts.seconds) * 1e6 + Double(parts.attoseconds) / 1e12
}

func percentile(_ values: [Double], _ share: Double) -> Double {
    let sorted = values.sorted()
    return sorted[min(Int(Double(sorted.count) * share), sorted.count - 1)]
}

// Training: five runs of the four models on the same window; the median.
var trainingTimes: [Double] = []
var models = ModelSet.train(on: training)
for _ in 0..<5 {
    let start = ContinuousClock.now
    models = ModelSet.train(on: training)
    trainingTimes.append(microseconds(ContinuousClock.now - start) / 1_000)
}

// Live: each kline as the engine takes it, timed one by one.
var extractor = FeatureExtractor()
for bar in bars.prefix(trainingBars) { _ = extractor.add(bar) }
var ensemble = Ensemble()
var pending: (probabilities: [Double], features: Features, close: Double)?
var latencies: [Double] = []
latencies.reserveCapacity(liveBars)
var correct = 0
var scored = 0
var rows: [String] = []
for bar in bars.dropFirst(trainingBars) {
    let start = ContinuousClock.now
    if let last = pending {
        let up = bar.close > last.close
        ensemble.score(last.probabilities, up: up)
        models.learn(Sample(features: last.features, up: up))
        if (ensemble.combine(last.probabilities) > 0.5) == up { correct += 1 }
        scored += 1
        pending = nil
    }
    if let features = extractor.add(bar) {
        let probabilities = models.probabilities(features)
        _ = ensemble.combine(probabilities)
        pending = (probabilities, features, bar.close)
    }
    latencies.append(microseconds(ContinuousClock.now - start))
}

// The features and labels, for the anchor: training rows, then live rows.
func csv(_ samples: [Sample]) -> String {
    samples.map { sample in
        sample.features.values.map { String($0) }.joined(separator: ",") + "," + (sample.up ? "1" : "0")
    }.joined(separator: "\n")
}
try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
try csv(training).write(to: out.appendingPathComponent("train.csv"), atomically: true, encoding: .utf8)
let live = samples(from: Array(bars.dropFirst(trainingBars - FeatureExtractor.warmUp - 16)))
try csv(live).write(to: out.appendingPathComponent("live.csv"), atomically: true, encoding: .utf8)
try bars.map { "\($0.high),\($0.low),\($0.close),\($0.volume)" }.joined(separator: "\n")
    .write(to: out.appendingPathComponent("bars.csv"), atomically: true, encoding: .utf8)

let report: [String: Double] = [
    "training_ms_median": percentile(trainingTimes, 0.5), "training_samples": Double(training.count),
    "per_kline_us_p50": percentile(latencies, 0.5), "per_kline_us_p99": percentile(latencies, 0.99),
    "live_klines": Double(liveBars), "accuracy": Double(correct) / Double(max(scored, 1)),
]
let json = try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys])
print(String(decoding: json, as: UTF8.self))
