/// A `Duration` in the units configuration, logs, metrics and protocols use: one place for the
/// arithmetic, in the lowest shared module, so no module writes it again.
extension Duration {
    /// Whole milliseconds, for configuration values and logs.
    public var milliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }

    /// Whole microseconds, as sd_notify's `WATCHDOG_USEC` and `EXTEND_TIMEOUT_USEC` carry them.
    public var microseconds: Int64 {
        components.seconds * 1_000_000 + components.attoseconds / 1_000_000_000_000
    }

    /// Seconds with their fraction, for comparing with `Date` intervals.
    public var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }

    /// Milliseconds with their fraction, for observed latencies.
    public var fractionalMilliseconds: Double {
        Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15
    }
}
