import Binance
import EventBus
import Foundation
import Logging
import ServiceKit
import ServiceLifecycle
import VaktConfig

/// `market_data.source: replay`: Binance kline CSV files (one per symbol) played in time order
/// across symbols, `replay.speed` times faster than the klines' own time (0: as fast as the
/// bus takes them). Each kline goes through the ``KlineGate`` as a closed `market.kline`
/// (a hole in a file is reported and marked `afterGap`, never backfilled), with a `market.tick`
/// at its close so the symbol counts as fresh. One file, one sequence of events: a replay is
/// deterministic.
final class ReplayFeed: ServiceLifecycle.Service, Sendable {
    let klines: [(series: KlineGate.Series, kline: Kline)]
    let speed: Int
    let events: EventPublisher
    let gate: KlineGate
    let freshness: Freshness
    let logger: Logger

    /// Reads every file now: one that cannot be read, or whose klines do not span
    /// `replay.interval`, stops start-up naming it.
    init(settings: MarketDataSettings, events: EventPublisher, gate: KlineGate, freshness: Freshness, logger: Logger) throws {
        let length = try Self.milliseconds(of: settings.replay.interval)
        var all: [(series: KlineGate.Series, kline: Kline)] = []
        for symbol in settings.symbols {
            guard let file = settings.replay.files[symbol] else { continue }
            do {
                let klines = try KlineCSV.read(try String(contentsOfFile: file, encoding: .utf8))
                for (index, kline) in klines.enumerated() where kline.closeTime - kline.openTime + 1 != length {
                    throw KlineCSV.ReadError(
                        line: index + 1,
                        reason: "spans \(kline.closeTime - kline.openTime + 1) ms, not replay.interval \(settings.replay.interval)")
                }
                all += klines.map { (KlineGate.Series(symbol: symbol, interval: settings.replay.interval), $0) }
            } catch {
                throw ReplayFileError(symbol: symbol, file: file, reason: "\(error)")
            }
        }
        // In the order they closed; a tie in the order of the symbols.
        klines = all.enumerated().sorted { ($0.element.kline.closeTime, $0.offset) < ($1.element.kline.closeTime, $1.offset) }
            .map(\.element)
        speed = settings.replay.speed
        self.events = events
        self.gate = gate
        self.freshness = freshness
        self.logger = logger
    }

    /// The fixed length of an interval up to a week; a month has none.
    static func milliseconds(of interval: String) throws -> Int64 {
        let units: [Character: Int64] = ["s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000]
        guard let unit = interval.last.flatMap({ units[$0] }), let count = Int64(interval.dropLast()), count > 0 else {
            throw ReplayFileError(symbol: "", file: "", reason: "replay.interval \(interval) has no fixed length")
        }
        return count * unit
    }

    func run() async throws {
        guard let first = klines.first else {
            try? await gracefulShutdown()
            return
        }
        logger.info("kline replay starting", metadata: ["klines": "\(klines.count)", "speed": "\(speed)"])
        let start = ContinuousClock.now
        for (series, kline) in klines {
            if speed > 0 {
                let due = start + .milliseconds((kline.closeTime - first.kline.closeTime) / Int64(speed))
                do {
                    try await cancelWhenGracefulShutdown { try await Task.sleep(until: due, clock: .continuous) }
                } catch {
                    return
                }
            } else if Task.isShuttingDownGracefully || Task.isCancelled {
                return
            }
            await gate.closed(kline, series: series)
            freshness.traded(series.symbol)
            do {
                try await events.publish(
                    EventEnvelope(MarketTick(symbol: series.symbol, price: kline.close, quantity: kline.volume), source: "market-data"))
            } catch {
                logger.error("market.tick not published", metadata: ["symbol": "\(series.symbol)", "error": "\(error)"])
            }
        }
        logger.info("kline replay finished; the market goes stale from here", metadata: ["klines": "\(klines.count)"])
        try? await gracefulShutdown()
    }
}

/// A replay file that cannot be played; start-up stops with it.
struct ReplayFileError: Error, CustomStringConvertible {
    var symbol: String
    var file: String
    var reason: String
    var description: String {
        symbol.isEmpty ? reason : "market_data.replay.files.\(symbol) \(file): \(reason)"
    }
}
