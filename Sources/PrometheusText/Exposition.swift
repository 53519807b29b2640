// PrometheusText: the Prometheus text exposition format 0.0.4 and its OpenMetrics variant,
// parsed strictly and fast (``ExpositionParser``) and written back (``ExpositionWriter``),
// for the supervisor's aggregation of every child's `/metrics`.

/// A metric family's type, as `# TYPE` declares it.
public enum MetricType: String, Sendable, CaseIterable {
    case counter, gauge, histogram, summary, untyped
    // OpenMetrics only; written back as the nearest 0.0.4 type.
    case unknown, info, stateset, gaugehistogram
}

/// One label pair.
public struct Label: Sendable, Equatable, Hashable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// One sample line.
public struct Sample: Sendable, Equatable {
    /// The sample's own name: `http_requests_total`, `latency_seconds_bucket`.
    public var name: String
    public var labels: [Label]
    public var value: Double
    /// Milliseconds since the epoch, when the line carried a timestamp.
    public var timestamp: Int64?

    public init(name: String, labels: [Label], value: Double, timestamp: Int64? = nil) {
        self.name = name
        self.labels = labels
        self.value = value
        self.timestamp = timestamp
    }

    public static func == (left: Sample, right: Sample) -> Bool {
        left.name == right.name && left.labels == right.labels && left.timestamp == right.timestamp
            && (left.value == right.value || (left.value.isNaN && right.value.isNaN))
    }
}

/// A family: a name, its type and help, and its samples in order.
public struct MetricFamily: Sendable, Equatable {
    public var name: String
    public var type: MetricType
    public var help: String?
    public var samples: [Sample]

    public init(name: String, type: MetricType, help: String? = nil, samples: [Sample] = []) {
        self.name = name
        self.type = type
        self.help = help
        self.samples = samples
    }
}

/// Why an exposition was refused: the line (1-based) and what is wrong with it.
public struct ExpositionError: Error, Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var reason: String

    public init(line: Int, reason: String) {
        self.line = line
        self.reason = reason
    }

    public var description: String { line > 0 ? "line \(line): \(reason)" : reason }
}
