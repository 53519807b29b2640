import Crypto
import Foundation

/// Binance's request signature: HMAC-SHA256 of the total parameters (the query string, then
/// the form body, as sent), as lower-case hex, in the `signature` parameter.
public enum RequestSignature {
    public static func sign(_ payload: String, secret: String) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Data(payload.utf8), using: SymmetricKey(data: Data(secret.utf8)))
        let digits = Array("0123456789abcdef".utf8)
        var hex: [UInt8] = []
        hex.reserveCapacity(64)
        for byte in code {
            hex.append(digits[Int(byte >> 4)])
            hex.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: hex, as: UTF8.self)
    }

    /// Whether `signature` signs `payload`; hex is compared case-insensitively (Binance accepts
    /// either case) and in constant time.
    public static func isValid(_ signature: String, for payload: String, secret: String) -> Bool {
        let expected = Array(sign(payload, secret: secret).utf8)
        let given = Array(signature.lowercased().utf8)
        guard given.count == expected.count else { return false }
        var difference: UInt8 = 0
        for (left, right) in zip(given, expected) { difference |= left ^ right }
        return difference == 0
    }
}
