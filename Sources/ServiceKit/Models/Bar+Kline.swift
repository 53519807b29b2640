import Binance
import Forecasting
import Foundation

extension Bar {
    /// A stored or streamed kline as the models see it (its exact amounts as binary floating
    /// point: statistics, not money).
    public init(_ kline: Kline) {
        self.init(
            openTime: kline.openTime, high: Double(kline.high.description) ?? 0, low: Double(kline.low.description) ?? 0,
            close: Double(kline.close.description) ?? 0, volume: Double(kline.volume.description) ?? 0)
    }
}
