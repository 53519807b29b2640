import Crypto
import Foundation

/// OKX's request signature (`OK-ACCESS-SIGN`): HMAC-SHA256 with the account's secret key of
/// the timestamp (`OK-ACCESS-TIMESTAMP`, ISO 8601 with milliseconds, UTC), the method in
/// capitals, the request path with its query string as sent, and the body, run together;
/// Base64. The key (`OK-ACCESS-KEY`) and passphrase (`OK-ACCESS-PASSPHRASE`) go as they are.
public enum OKXSignature {
    public static func sign(timestamp: String, method: String, requestPath: String, body: String, secret: String) -> String {
        let payload = timestamp + method.uppercased() + requestPath + body
        let code = HMAC<SHA256>.authenticationCode(for: Data(payload.utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return Data(code).base64EncodedString()
    }

    /// Whether `signature` signs the request, compared in constant time.
    public static func isValid(
        _ signature: String, timestamp: String, method: String, requestPath: String, body: String, secret: String
    ) -> Bool {
        let expected = Array(sign(timestamp: timestamp, method: method, requestPath: requestPath, body: body, secret: secret).utf8)
        let given = Array(signature.utf8)
        guard given.count == expected.count else { return false }
        var difference: UInt8 = 0
        for (left, right) in zip(given, expected) { difference |= left ^ right }
        return difference == 0
    }

    /// `OK-ACCESS-TIMESTAMP` for `milliseconds` since 1970: `2020-12-08T09:08:57.715Z`.
    public static func timestamp(milliseconds: Int64) -> String {
        let (days, inDay) = (milliseconds.floorDivided(by: 86_400_000), milliseconds.floorModulo(86_400_000))
        let (year, month, day) = civil(days: days)
        func pad(_ value: Int64, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(inDay / 3_600_000, 2)):\(pad(inDay / 60_000 % 60, 2))"
            + ":\(pad(inDay / 1_000 % 60, 2)).\(pad(inDay % 1_000, 3))Z"
    }

    /// The milliseconds since 1970 an `OK-ACCESS-TIMESTAMP` names; nil unless it is exactly
    /// `YYYY-MM-DDTHH:MM:SS.mmmZ` with every field in range.
    public static func milliseconds(of timestamp: String) -> Int64? {
        let characters = Array(timestamp.utf8)
        guard characters.count == 24 else { return nil }
        for (index, separator) in [(4, "-"), (7, "-"), (10, "T"), (13, ":"), (16, ":"), (19, "."), (23, "Z")]
        where characters[index] != separator.utf8.first! {
            return nil
        }
        func number(_ range: Range<Int>) -> Int64? {
            guard characters[range].allSatisfy({ (48...57).contains($0) }) else { return nil }
            return Int64(String(decoding: characters[range], as: UTF8.self))
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10), let hour = number(11..<13),
            let minute = number(14..<16), let second = number(17..<19), let millis = number(20..<23),
            (1...12).contains(month), hour < 24, minute < 60, second < 60
        else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        guard civil(days: days) == (year, month, day) else { return nil }
        return ((days * 24 + hour) * 60 + minute) * 60_000 + second * 1_000 + millis
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let year = month <= 2 ? year - 1 : year
        let era = year.floorDivided(by: 400)
        let yearOfEra = year - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The date `days` after 1970-01-01 (H. Hinnant's `civil_from_days`).
    static func civil(days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let shifted = days + 719_468
        let era = shifted.floorDivided(by: 146_097)
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

extension Int64 {
    fileprivate func floorDivided(by divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }

    fileprivate func floorModulo(_ divisor: Int64) -> Int64 { self - floorDivided(by: divisor) * divisor }
}
