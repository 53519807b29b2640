import Binance
import EventBus
import Foundation
import Logging
import Metrics
import Synchronization

/// Where every closed kline passes on its way to the bus (`market.kline`) and the history: only
/// a kline that continues its series goes on. Before a kline that reveals a gap, the gap is
/// backfilled (`fetch`, the exchange's REST klines) and its klines go first, in order, marked
/// backfilled; what cannot be backfilled (no fetch, the exchange has none, more than the limit)
/// is reported and the kline goes on marked `afterGap`, never as if the series were whole. A
/// kline at or before the series' last one is dropped: nothing is passed on twice.
final class KlineGate: Sendable {
    typealias Series = KlineContinuity.Series
    /// At most `limit` klines of a series opening before `until`, oldest first: the first from
    /// `from` on, or without `from` the latest.
    typealias Fetch = @Sendable (_ series: Series, _ from: Int64?, _ until: Int64, _ limit: Int) async throws -> [Kline]

    private let events: EventPublisher
    private let writer: HistoryWriter?
    private let fetch: Fetch?
    private let backfillLimit: Int
    private let logger: Logger
    private let continuity = Mutex(KlineContinuity())

    init(events: EventPublisher, writer: HistoryWriter?, fetch: Fetch?, backfillLimit: Int, logger: Logger) {
        self.events = events
        self.writer = writer
        self.fetch = fetch
        self.backfillLimit = backfillLimit
        self.logger = logger
        for reason in ["repeated"] {
            Counter(label: "vakt_market_klines_dropped_total", dimensions: [("reason", reason)]).increment(by: 0)
        }
        for outcome in ["backfilled", "unrepaired"] {
            Counter(label: "vakt_market_gaps_total", dimensions: [("outcome", outcome)]).increment(by: 0)
        }
    }

    /// The series is known to end with a kline closing at `closeTime` (the history's last):
    /// the next kline must follow it.
    func resume(_ series: Series, after closeTime: Int64) {
        continuity.withLock { $0.passed(series, closeTime: closeTime) }
    }

    /// The open time the series' next kline must have, if any kline of it is known.
    func expected(_ series: Series) -> Int64? { continuity.withLock { $0.expected[series] } }

    /// A closed kline: passed on if it continues the series, after backfilling a gap before it.
    func closed(_ kline: Kline, series: Series) async {
        var afterGap = false
        switch continuity.withLock({ $0.verdict(series, openTime: kline.openTime) }) {
        case .first, .next:
            break
        case .stale:
            Counter(label: "vakt_market_klines_dropped_total", dimensions: [("reason", "repeated")]).increment()
            return
        case .gap(let from, let until):
            afterGap = !(await backfill(series, from: from, until: until))
        }
        await pass([kline], series: series, backfilled: false, afterGap: afterGap)
    }

    /// Brings a series up to `now` at start-up: from where the history ended, or with no
    /// history its latest `recent` klines; the klines closed by `now` are passed on, marked
    /// backfilled. The stream's first closed kline then finds the series where it expects it.
    func catchUp(_ series: Series, now: Int64, recent: Int) async {
        if let from = expected(series) {
            let outcome = await fill(series, from: from, until: now)
            logger.info(
                "kline series caught up from the history's end",
                metadata: ["symbol": "\(series.symbol)", "interval": "\(series.interval)", "klines": "\(outcome.filled)"])
            return
        }
        guard recent > 0, let fetch else { return }
        do {
            // One more than asked: the latest is still open.
            let klines = try await fetch(series, nil, now, min(recent + 1, 1_000)).filter { $0.closeTime < now }.suffix(recent)
            var usable: [Kline] = []
            for kline in klines where usable.last.map({ kline.openTime == $0.nextOpenTime }) ?? true { usable.append(kline) }
            await pass(usable, series: series, backfilled: true, afterGap: false)
            logger.info(
                "kline series started from the exchange's recent klines",
                metadata: ["symbol": "\(series.symbol)", "interval": "\(series.interval)", "klines": "\(usable.count)"])
        } catch {
            logger.warning(
                "no recent klines fetched at start; the series starts with the stream",
                metadata: ["symbol": "\(series.symbol)", "interval": "\(series.interval)", "error": "\(error)"])
        }
    }

    /// Fills `from..<until` from `fetch`; answers whether the series now reaches `until`.
    private func backfill(_ series: Series, from: Int64, until: Int64) async -> Bool {
        let outcome = await fill(series, from: from, until: until)
        let whole = outcome.reached >= until
        Counter(label: "vakt_market_gaps_total", dimensions: [("outcome", whole ? "backfilled" : "unrepaired")]).increment()
        var metadata: Logger.Metadata = [
            "symbol": "\(series.symbol)", "interval": "\(series.interval)", "from": "\(from)", "until": "\(until)",
            "backfilled": "\(outcome.filled)",
        ]
        if whole {
            logger.info("kline gap backfilled", metadata: metadata)
        } else {
            metadata["missing_from"] = "\(outcome.reached)"
            metadata["reason"] = "\(outcome.failure ?? shortfall(filled: outcome.filled))"
            logger.warning("kline gap not backfilled: the series goes on marked afterGap", metadata: metadata)
        }
        return whole
    }

    /// Why a backfill that did not fail stopped short.
    private func shortfall(filled: Int) -> String {
        if fetch == nil { return "no source to backfill from" }
        return filled >= backfillLimit ? "more than market_data.backfill_limit klines" : "the exchange has no klines there"
    }

    /// Passes on the series' klines from `from` that close before `until`, page by page, as far
    /// as they continue the series (at most `backfillLimit`): how far it got, how many, and why
    /// it stopped short if a fetch failed.
    private func fill(_ series: Series, from: Int64, until: Int64) async -> (reached: Int64, filled: Int, failure: String?) {
        var cursor = from
        var filled = 0
        guard let fetch else { return (cursor, 0, nil) }
        while cursor < until, filled < backfillLimit {
            let page: [Kline]
            do {
                page = try await fetch(series, cursor, until, min(1_000, backfillLimit - filled))
            } catch {
                return (cursor, filled, "\(error)")
            }
            // Only what continues the series and has closed before `until`: a page may end with
            // the open kline, or begin later than asked (the exchange has nothing earlier).
            var usable: [Kline] = []
            for kline in page where kline.closeTime < until {
                guard kline.openTime == (usable.last?.nextOpenTime ?? cursor) else { break }
                usable.append(kline)
            }
            guard !usable.isEmpty else { break }
            await pass(usable, series: series, backfilled: true, afterGap: false)
            filled += usable.count
            cursor = usable[usable.count - 1].nextOpenTime
        }
        return (cursor, filled, nil)
    }

    private func pass(_ klines: [Kline], series: Series, backfilled: Bool, afterGap: Bool) async {
        for (index, kline) in klines.enumerated() {
            let event = MarketKline(
                symbol: series.symbol, interval: series.interval, openTime: Self.date(kline.openTime),
                closeTime: Self.date(kline.closeTime), open: kline.open, high: kline.high, low: kline.low, close: kline.close,
                volume: kline.volume, closed: true, backfilled: backfilled, afterGap: afterGap && index == 0)
            do {
                try await events.publish(EventEnvelope(event, source: "market-data"))
            } catch {
                // The publisher buffers on disk while Redis is down; an error here is a full
                // buffer or a broken disk, which its own health reports.
                logger.error("market.kline not published", metadata: ["symbol": "\(series.symbol)", "error": "\(error)"])
            }
            continuity.withLock { $0.passed(series, closeTime: kline.closeTime) }
        }
        await writer?.write(klines, series: series)
    }

    static func date(_ milliseconds: Int64) -> Date { Date(timeIntervalSince1970: Double(milliseconds) / 1_000) }
}
