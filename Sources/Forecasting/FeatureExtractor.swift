// Forecasting: what the AI engine predicts with and training trains, pure and shared, so live
// and training compute the same features from the same klines (no skew): the features, the
// four direction models, the ensemble that weighs them by recent accuracy, the regime and its
// profile, and the bandit that sizes positions.

import Foundation

/// One closed kline as the models see it: prices and volume as binary floating point. The
/// models' inputs are statistics of prices (log returns, ratios), never amounts of money;
/// money stays exact everywhere else.
public struct Bar: Sendable, Equatable {
    public var openTime: Int64
    public var high: Double
    public var low: Double
    public var close: Double
    public var volume: Double

    public init(openTime: Int64, high: Double, low: Double, close: Double, volume: Double) {
        self.openTime = openTime
        self.high = high
        self.low = low
        self.close = close
        self.volume = volume
    }
}

/// The features of one bar, in ``FeatureExtractor/names`` order.
public struct Features: Sendable, Equatable, Codable {
    public var values: [Double]

    public init(_ values: [Double]) { self.values = values }

    public subscript(_ name: FeatureExtractor.Name) -> Double { values[name.rawValue] }
}

/// Features computed incrementally, bar by bar (each bar costs the same, whatever the history):
/// log returns over 1, 5 and 15 bars, the volatility of 1-bar returns over 20, a trend measure
/// (the gap between a 12- and a 26-bar exponential average, in volatilities), a
/// mean-reversion measure (the close's distance from its 20-bar mean, in standard deviations),
/// RSI over 14 bars (scaled to -1...1), the volume against its 20-bar mean, and the bar's range.
/// Nothing comes out until the longest window is full; nothing looks past the bar given.
public struct FeatureExtractor: Sendable, Equatable {
    public enum Name: Int, CaseIterable, Sendable, Codable {
        case return1, return5, return15, volatility, trend, meanReversion, rsi, volume, range
    }

    public static let names = Name.allCases.map { "\($0)" }
    /// Bars needed before the first features.
    public static let warmUp = 27

    private var closes = RingBuffer(capacity: 16)
    private var returns = RollingMoments(window: 20)
    private var closeMoments = RollingMoments(window: 20)
    private var volumes = RollingMoments(window: 20)
    private var fast = ExponentialAverage(period: 12)
    private var slow = ExponentialAverage(period: 26)
    private var gains = ExponentialAverage(period: 14)
    private var losses = ExponentialAverage(period: 14)
    private var seen = 0

    public init() {}

    /// The features as of `bar` (closed), or nil while warming up or for a bar that cannot
    /// be read (a price not positive).
    public mutating func add(_ bar: Bar) -> Features? {
        guard bar.close > 0, bar.high > 0, bar.low > 0, bar.close.isFinite, bar.volume.isFinite, bar.volume >= 0 else { return nil }
        let previous = closes.last
        closes.append(bar.close)
        closeMoments.add(bar.close)
        volumes.add(bar.volume)
        fast.add(bar.close)
        slow.add(bar.close)
        seen += 1
        guard let previous else { return nil }
        let change = log(bar.close / previous)
        returns.add(change)
        gains.add(max(change, 0))
        losses.add(max(-change, 0))
        guard seen >= Self.warmUp, let back5 = closes.value(back: 5), let back15 = closes.value(back: 15) else { return nil }
        let volatility = max(returns.standardDeviation, 1e-9)
        let spread = max(closeMoments.standardDeviation, bar.close * 1e-9)
        let strength = gains.value + losses.value
        return Features([
            change,
            log(bar.close / back5),
            log(bar.close / back15),
            volatility,
            (fast.value - slow.value) / slow.value / volatility,
            (bar.close - closeMoments.mean) / spread,
            strength > 0 ? (gains.value - losses.value) / strength : 0,
            log((bar.volume + 1e-12) / (volumes.mean + 1e-12)),
            log(bar.high / bar.low),
        ])
    }
}

/// The last `capacity` values.
struct RingBuffer: Sendable, Equatable {
    private var storage: [Double]
    private var next = 0
    private(set) var count = 0

    init(capacity: Int) { storage = Array(repeating: 0, count: capacity) }

    mutating func append(_ value: Double) {
        storage[next] = value
        next = (next + 1) % storage.count
        count = min(count + 1, storage.count)
    }

    var last: Double? { count == 0 ? nil : storage[(next - 1 + storage.count) % storage.count] }

    /// The value `back` places before the last (0 is the last).
    func value(back: Int) -> Double? {
        guard back < count else { return nil }
        return storage[(next - 1 - back + 2 * storage.count) % storage.count]
    }
}

/// Mean and standard deviation of the last `window` values, computed over the window each
/// time (a running sum of squares loses its precision over millions of bars of prices near
/// 50,000; twenty values a bar cost nothing).
struct RollingMoments: Sendable, Equatable {
    private var values: RingBuffer
    private let window: Int

    init(window: Int) {
        self.window = window
        values = RingBuffer(capacity: window)
    }

    mutating func add(_ value: Double) { values.append(value) }

    var count: Int { values.count }

    var mean: Double {
        guard count > 0 else { return 0 }
        return (0..<count).reduce(0.0) { $0 + (values.value(back: $1) ?? 0) } / Double(count)
    }

    var standardDeviation: Double {
        guard count > 1 else { return 0 }
        let mean = self.mean
        let squares = (0..<count).reduce(0.0) { sum, back in
            let deviation = (values.value(back: back) ?? mean) - mean
            return sum + deviation * deviation
        }
        return sqrt(squares / Double(count))
    }
}

/// An exponential moving average seeded by its first value.
struct ExponentialAverage: Sendable, Equatable {
    private let alpha: Double
    private(set) var value = 0.0
    private var started = false

    init(period: Int) { alpha = 2 / (Double(period) + 1) }

    mutating func add(_ sample: Double) {
        value = started ? value + alpha * (sample - value) : sample
        started = true
    }
}
