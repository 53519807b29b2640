/// Exchange symbols as Vakt accepts them wherever one comes in (the file, events, the policy,
/// a control path): Binance's form, 1 to 20 upper-case ASCII letters and digits (`BTCUSDT`).
public enum SymbolSyntax {
    public static let maxLength = 20

    public static func isValid(_ text: String) -> Bool {
        (1...maxLength).contains(text.utf8.count)
            && text.utf8.allSatisfy {
                (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
            }
    }

    /// What is wrong with `text`, for an error that names it (at most 40 of its characters).
    public static func problem(_ text: String) -> String {
        "\"\(text.prefix(40))\" is not a symbol such as \"BTCUSDT\" (1 to \(maxLength) upper-case letters and digits)"
    }
}
