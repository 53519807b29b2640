import Foundation
import Testing

@testable import OKXAdapter

/// OKX's signature and its timestamps, against values computed independently (Python's
/// `hmac`, `base64` and `datetime`).
@Suite struct OKXSignatureTests {
    static let secret = "22582BD0CFF14C41EDBF1AB98506286D"

    @Test func signsTimestampMethodPathAndBodyAsOKXDoes() {
        #expect(
            OKXSignature.sign(
                timestamp: "2020-12-08T09:08:57.715Z", method: "get", requestPath: "/api/v5/account/balance?ccy=BTC", body: "",
                secret: Self.secret) == "HiZhvSfMtWJA3uUIVXV3a/bSXNPCWvYFXoGCVS8V4zY=")
        let body = #"{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","px":"2.15","sz":"2"}"#
        let signature = "iwrdSpN7pm4G4u8+fswZUyH6mOM48+sBF6WvKpj4Dvk="
        #expect(
            OKXSignature.sign(
                timestamp: "2020-12-08T09:08:57.715Z", method: "POST", requestPath: "/api/v5/trade/order", body: body, secret: Self.secret)
                == signature)
        #expect(
            OKXSignature.isValid(
                signature, timestamp: "2020-12-08T09:08:57.715Z", method: "POST", requestPath: "/api/v5/trade/order", body: body,
                secret: Self.secret))
        // Any part changed, the signature no longer holds.
        for (timestamp, path, changedBody) in [
            ("2020-12-08T09:08:57.716Z", "/api/v5/trade/order", body), ("2020-12-08T09:08:57.715Z", "/api/v5/trade/orders", body),
            ("2020-12-08T09:08:57.715Z", "/api/v5/trade/order", body.replacingOccurrences(of: "2.15", with: "2.16")),
        ] {
            #expect(
                !OKXSignature.isValid(
                    signature, timestamp: timestamp, method: "POST", requestPath: path, body: changedBody, secret: Self.secret))
        }
        #expect(
            !OKXSignature.isValid(
                signature, timestamp: "2020-12-08T09:08:57.715Z", method: "POST", requestPath: "/api/v5/trade/order", body: body,
                secret: "other"))
    }

    @Test func timestampsAreISO8601WithMillisecondsBothWays() {
        #expect(OKXSignature.timestamp(milliseconds: 1_607_418_537_715) == "2020-12-08T09:08:57.715Z")
        #expect(OKXSignature.timestamp(milliseconds: 951_868_799_999) == "2000-02-29T23:59:59.999Z")
        #expect(OKXSignature.timestamp(milliseconds: 0) == "1970-01-01T00:00:00.000Z")
        #expect(OKXSignature.milliseconds(of: "2020-12-08T09:08:57.715Z") == 1_607_418_537_715)
        #expect(OKXSignature.milliseconds(of: "2000-02-29T23:59:59.999Z") == 951_868_799_999)
        // Every millisecond of a few days around a leap day reads back.
        for milliseconds in stride(from: Int64(951_000_000_000), to: 952_000_000_000, by: 3_599_999) {
            #expect(OKXSignature.milliseconds(of: OKXSignature.timestamp(milliseconds: milliseconds)) == milliseconds)
        }
        for malformed in [
            "2020-12-08T09:08:57Z", "2020-12-08T09:08:57.715", "2020-12-08 09:08:57.715Z", "2021-02-29T00:00:00.000Z",
            "2020-13-01T00:00:00.000Z", "2020-12-08T24:00:00.000Z", "2020-12-08T09:08:5a.715Z", "1607418537715", "",
        ] {
            #expect(OKXSignature.milliseconds(of: malformed) == nil, "\(malformed)")
        }
    }
}
