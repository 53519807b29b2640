/// A symbol's two assets (`BTCUSDT`: BTC bought and sold, priced in USDT), as `exchangeInfo`
/// lists them.
public struct SymbolAssets: Sendable, Equatable, Codable {
    public var base: String
    public var quote: String

    public init(base: String, quote: String) {
        self.base = base
        self.quote = quote
    }
}
