import Crypto

/// Our client order ids, derived, never random: the same signal always gives the same id, so
/// a redelivered signal or a restarted service finds the order it already wrote.
///
/// An entry is `vk` and 22 hex digits of SHA-256 of the signal event's id (24 characters); an
/// operator's close is `vc` and 22 of its action id's; a re-price of an order adds `-r1`,
/// `-r2`, …; an exit adds `-tp` or `-sl` to its entry's. All fit Binance's 36 characters of
/// `[.A-Z:/a-z0-9_-]`.
public enum ClientOrderIDs {
    public static func entry(signalId: String) -> String {
        "vk" + digest(signalId)
    }

    /// The close requested by the operator's action `actionId`: the same action, sent again,
    /// finds the order it placed.
    public static func close(actionId: String) -> String {
        "vc" + digest(actionId)
    }

    static func digest(_ text: String) -> String {
        let digest = SHA256.hash(data: Array(text.utf8))
        return String(digest.map { byte in (byte < 16 ? "0" : "") + String(byte, radix: 16) }.joined().prefix(22))
    }

    /// The `number`th re-price of the order `id` (itself an entry, an exit or a re-price).
    public static func reprice(of id: String, number: Int) -> String {
        base(of: id) + "-r\(number)"
    }

    public static func exit(of entry: String, purpose: OrderPurpose) -> String {
        base(of: entry) + (purpose == .stopLoss ? "-sl" : "-tp")
    }

    /// The id without its re-price suffix.
    static func base(of id: String) -> String {
        guard let range = id.range(of: "-r", options: .backwards), id[range.upperBound...].allSatisfy(\.isNumber),
            range.upperBound < id.endIndex
        else { return id }
        return String(id[..<range.lowerBound])
    }
}
