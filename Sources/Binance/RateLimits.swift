/// One of Binance's rate limits, as `exchangeInfo.rateLimits` lists them.
public struct RateLimit: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case requestWeight = "REQUEST_WEIGHT"
        case orders = "ORDERS"
        case rawRequests = "RAW_REQUESTS"
    }

    public enum Interval: String, Sendable, CaseIterable {
        case second = "SECOND"
        case minute = "MINUTE"
        case day = "DAY"

        var milliseconds: Int64 {
            switch self {
            case .second: 1_000
            case .minute: 60_000
            case .day: 86_400_000
            }
        }

        var letter: String {
            switch self {
            case .second: "S"
            case .minute: "M"
            case .day: "D"
            }
        }
    }

    public var kind: Kind
    public var interval: Interval
    public var intervalNum: Int
    public var limit: Int

    public init(kind: Kind, interval: Interval, intervalNum: Int, limit: Int) {
        self.kind = kind
        self.interval = interval
        self.intervalNum = intervalNum
        self.limit = limit
    }

    public var windowMilliseconds: Int64 { interval.milliseconds * Int64(intervalNum) }

    /// Whether `other` counts the same thing over the same window, whatever its size.
    public func countsLike(_ other: RateLimit) -> Bool {
        kind == other.kind && interval == other.interval && intervalNum == other.intervalNum
    }

    /// This limit cut to `share` of its size, rounded down but at least 1: one host's part of a
    /// limit it shares with others.
    public func sharing(_ share: Double) -> RateLimit {
        var part = self
        part.limit = max(1, Int((Double(limit) * min(max(share, 0), 1)).rounded(.down)))
        return part
    }

    /// The reply header that reports this limit's count: `X-MBX-USED-WEIGHT-1M`,
    /// `X-MBX-ORDER-COUNT-10S`; none for raw requests.
    public var header: String? {
        switch kind {
        case .requestWeight: "X-MBX-USED-WEIGHT-\(intervalNum)\(interval.letter)"
        case .orders: "X-MBX-ORDER-COUNT-\(intervalNum)\(interval.letter)"
        case .rawRequests: nil
        }
    }
}

/// Counts requests, weight and orders against rate limits in fixed windows aligned to the epoch
/// (a minute window runs from :00 to :59, as Binance counts). Pure: the time is passed in.
public struct RateLimitCounter: Sendable, Equatable {
    public let limits: [RateLimit]
    private var counts: [Int]
    private var windows: [Int64]

    public init(limits: [RateLimit]) {
        self.limits = limits
        counts = Array(repeating: 0, count: limits.count)
        windows = Array(repeating: -1, count: limits.count)
    }

    /// What a request costs.
    public struct Cost: Sendable, Equatable {
        public var weight: Int
        /// New orders it places (ORDERS limits).
        public var orders: Int

        public init(weight: Int, orders: Int = 0) {
            self.weight = weight
            self.orders = orders
        }

        /// What it counts against `limit`: its weight, its new orders, or one raw request.
        public func amount(for limit: RateLimit) -> Int {
            switch limit.kind {
            case .requestWeight: weight
            case .orders: orders
            case .rawRequests: 1
            }
        }
    }

    /// A limit the request went over, and when its window ends (ms since 1970).
    public struct Exceeded: Sendable, Equatable {
        public var limit: RateLimit
        public var windowEnds: Int64
    }

    /// Counts a request at `now` (ms since 1970) and answers the first limit it took over, if
    /// any. A request over the limit is counted too, as Binance counts it: a client that does
    /// not back off only digs deeper.
    public mutating func count(_ cost: Cost, at now: Int64) -> Exceeded? {
        var exceeded: Exceeded?
        for (index, limit) in limits.enumerated() {
            let window = now / limit.windowMilliseconds
            if windows[index] != window {
                windows[index] = window
                counts[index] = 0
            }
            counts[index] += cost.amount(for: limit)
            if exceeded == nil, counts[index] > limit.limit {
                exceeded = Exceeded(limit: limit, windowEnds: (window + 1) * limit.windowMilliseconds)
            }
        }
        return exceeded
    }

    /// The counts in the windows current at `now`, by reply header.
    public func used(at now: Int64) -> [(header: String, count: Int)] {
        limits.indices.compactMap { index in
            guard let header = limits[index].header else { return nil }
            let current = windows[index] == now / limits[index].windowMilliseconds
            return (header, current ? counts[index] : 0)
        }
    }
}
