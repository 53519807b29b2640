import Binance
import Foundation
import VaktConfig

/// A signed request as Binance checks it (`SIGNED` endpoints): the API key header names the
/// account, the signature covers the total parameters (query string, then form body, as sent,
/// without the `signature` parameter itself), and the timestamp is within `recvWindow` of the
/// server's clock and not more than a second ahead of it.
struct SignedRequest {
    /// The parameters, query and body together (the query wins on a clash, as on Binance).
    var parameters: [String: String]

    struct Credentials: Sendable {
        /// Compared in constant time (``Secret/matches(_:)``).
        var apiKey: Secret
        var secret: String
    }

    /// - Parameters:
    ///   - query: the raw query string (percent-encoded, as sent).
    ///   - body: the raw `application/x-www-form-urlencoded` body.
    ///   - now: the server's clock, in milliseconds since 1970.
    static func verify(
        query: String, body: String, apiKey: String?, credentials: Credentials?, now: Int64
    ) -> Result<SignedRequest, BinanceError> {
        guard let credentials, let apiKey, credentials.apiKey.matches(apiKey) else { return .failure(.badAPIKey) }
        var signature: String?
        var signedParts: [String] = []
        for part in [query, body] where !part.isEmpty {
            var kept: [Substring] = []
            for pair in part.split(separator: "&", omittingEmptySubsequences: false) {
                if pair.hasPrefix("signature=") {
                    signature = String(pair.dropFirst("signature=".count))
                } else {
                    kept.append(pair)
                }
            }
            signedParts.append(kept.joined(separator: "&"))
        }
        guard let signature, !signature.isEmpty else { return .failure(.mandatory("signature")) }
        guard RequestSignature.isValid(signature, for: signedParts.joined(), secret: credentials.secret) else {
            return .failure(.badSignature)
        }
        let parameters = decode(body).merging(decode(query)) { _, fromQuery in fromQuery }
        if let error = untimely(parameters, now: now) { return .failure(error) }
        return .success(SignedRequest(parameters: parameters))
    }

    /// Binance's time check: `timestamp` within `recvWindow` (default 5,000 ms, at most
    /// 60,000) of the server's clock, and not a second or more ahead of it.
    static func untimely(_ parameters: [String: String], now: Int64) -> BinanceError? {
        guard let timestampText = parameters["timestamp"], let timestamp = Int64(timestampText) else {
            return .mandatory("timestamp")
        }
        let recvWindow: Int64
        if let text = parameters["recvWindow"] {
            guard let window = Double(text), window > 0, window <= 60_000 else {
                return BinanceError(code: -1131, msg: "recvWindow must be less than 60000")
            }
            recvWindow = Int64(window)
        } else {
            recvWindow = 5_000
        }
        if timestamp >= now + 1_000 { return .timestampAhead }
        if now - timestamp > recvWindow { return .outsideRecvWindow }
        return nil
    }

    /// `application/x-www-form-urlencoded` pairs (`+` is a space).
    static func decode(_ text: String) -> [String: String] {
        var result: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(parts[0])
            let value =
                parts.count > 1
                ? (String(parts[1]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(parts[1])) : ""
            if result[name] == nil { result[name] = value }
        }
        return result
    }
}
