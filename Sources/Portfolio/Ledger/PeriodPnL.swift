import Foundation
import Money

/// Equity against its value at the start of the UTC day, ISO week (from Monday) and month:
/// the baseline of a period is the last equity seen before it began, so a quiet night still
/// starts the day at the right value. Pure: equity and time in.
public struct PeriodPnL: Sendable, Equatable, Codable {
    public enum Period: String, Sendable, CaseIterable, Codable {
        case day, week, month
    }

    struct Baseline: Sendable, Equatable, Codable {
        var start: Date
        var equity: FixedDecimal
    }

    private var baselines: [Period: Baseline] = [:]
    private var last: FixedDecimal?
    /// The highest equity seen, for the drawdown.
    public private(set) var peak: FixedDecimal?

    public init() {}

    static let calendar: Calendar = {
        var calendar = Calendar(identifier: .iso8601)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()

    /// When the period holding `date` began.
    public static func start(of period: Period, containing date: Date) -> Date {
        let component: Calendar.Component =
            switch period {
            case .day: .day
            case .week: .weekOfYear
            case .month: .month
            }
        return calendar.dateInterval(of: component, for: date)?.start ?? date
    }

    /// Records `equity` at `date`.
    public mutating func observe(_ equity: FixedDecimal, at date: Date) {
        for period in Period.allCases {
            let start = Self.start(of: period, containing: date)
            if baselines[period]?.start != start {
                baselines[period] = Baseline(start: start, equity: last ?? equity)
            }
        }
        last = equity
        peak = Swift.max(peak ?? equity, equity)
    }

    /// Equity now less equity when `period` began; zero before anything was seen.
    public func pnl(_ period: Period) -> FixedDecimal {
        guard let last, let baseline = baselines[period] else { return .zero }
        return (try? last - baseline.equity) ?? .zero
    }

    public func periodStart(_ period: Period) -> Date? { baselines[period]?.start }

    /// How far equity is below its peak, as a share of the peak (0 at a new high).
    public var drawdown: FixedDecimal {
        guard let peak, let last, peak > .zero, last < peak else { return .zero }
        return (try? (peak - last).divided(by: peak, scale: 6, rounding: .halfEven)) ?? .zero
    }
}
