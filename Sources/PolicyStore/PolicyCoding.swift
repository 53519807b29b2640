import EventBus
import Foundation
import VaktConfig

/// The JSON form of policies (`GET /api/policy`, `policy.updated`, Redis, the snapshot file),
/// and the reading of it with every invalid field named.
extension RiskPolicy {
    public var json: JSONValue {
        .object([
            "allowedSymbols": .array(allowedSymbols.map { .string($0) }),
            "maxOrderNotional": .decimal(maxOrderNotional),
            "maxSymbolExposure": .decimal(maxSymbolExposure),
            "symbolExposure": .object(symbolExposure.mapValues { .decimal($0) }),
            "maxTotalExposure": .decimal(maxTotalExposure),
            "maxOrdersPerMinute": .number(Double(maxOrdersPerMinute)),
            "priceCollar": .decimal(priceCollar),
            "ess": ess.json,
        ])
    }

    /// Reads and validates a policy; problems are reported on `reader`, so a caller gets all of
    /// them at once. Returns nil when anything is wrong.
    public static func read(_ reader: PayloadReader) -> RiskPolicy? {
        let symbols = reader.stringList("allowedSymbols")
        if let symbols {
            if symbols.isEmpty { reader.report("allowedSymbols", "must name at least one symbol") }
            for (index, symbol) in symbols.enumerated() where !Symbol.isValid(symbol) {
                reader.report("allowedSymbols[\(index)]", Symbol.problem(symbol))
            }
            if Set(symbols).count != symbols.count { reader.report("allowedSymbols", "lists a symbol twice") }
        }
        let maxOrderNotional = positive(reader, "maxOrderNotional")
        let maxSymbolExposure = positive(reader, "maxSymbolExposure")
        let symbolExposure = reader.contains("symbolExposure") ? reader.decimalMap("symbolExposure") : [:]
        for (symbol, limit) in (symbolExposure ?? [:]).sorted(by: { $0.key < $1.key }) {
            if !(symbols ?? []).contains(symbol) { reader.report("symbolExposure.\(symbol)", "is not one of allowedSymbols") }
            if limit <= 0 { reader.report("symbolExposure.\(symbol)", "must be greater than 0, got \(ExactDecimal.text(limit))") }
        }
        let maxTotalExposure = positive(reader, "maxTotalExposure")
        if let maxTotalExposure, let maxSymbolExposure, maxSymbolExposure > maxTotalExposure {
            reader.report("maxSymbolExposure", "must not exceed maxTotalExposure (\(ExactDecimal.text(maxTotalExposure)))")
        }
        let maxOrdersPerMinute = count(reader, "maxOrdersPerMinute", in: 1...100_000)
        let priceCollar = fraction(reader, "priceCollar")
        let essReader = reader.object("ess")
        let ess = essReader.flatMap { EmergencyStopPolicy.read($0) }
        essReader?.close()
        guard let symbols, let maxOrderNotional, let maxSymbolExposure, let symbolExposure, let maxTotalExposure, let maxOrdersPerMinute,
            let priceCollar, let ess
        else { return nil }
        return RiskPolicy(
            allowedSymbols: symbols, maxOrderNotional: maxOrderNotional, maxSymbolExposure: maxSymbolExposure,
            symbolExposure: symbolExposure, maxTotalExposure: maxTotalExposure, maxOrdersPerMinute: maxOrdersPerMinute,
            priceCollar: priceCollar, ess: ess)
    }

    /// Parses a whole policy object, throwing every problem.
    public init(json value: JSONValue) throws(PayloadError) {
        let reader = try PayloadReader(value, name: "policy")
        let policy = Self.read(reader)
        try reader.finish()
        guard let policy else { throw PayloadError(problems: ["policy: invalid"]) }
        self = policy
    }
}

extension EmergencyStopPolicy {
    public var json: JSONValue {
        var fields: [String: JSONValue] = [
            "maxDrawdown": .decimal(maxDrawdown),
            "maxDailyLoss": .decimal(maxDailyLoss),
            "maxExecutionErrors": .number(Double(maxExecutionErrors)),
            "errorWindowSeconds": .number(Double(errorWindowSeconds)),
            "maxFeedAgeSeconds": .number(Double(maxFeedAgeSeconds)),
            "cooldownSeconds": .number(Double(cooldownSeconds)),
            "manualResetRequired": .bool(manualResetRequired),
            "cancelOpenOrdersOnTrip": .bool(cancelOpenOrdersOnTrip),
            "flattenPositionsOnTrip": .bool(flattenPositionsOnTrip),
        ]
        if let reduceDrawdown { fields["reduceDrawdown"] = .decimal(reduceDrawdown) }
        return .object(fields)
    }

    static func read(_ reader: PayloadReader) -> EmergencyStopPolicy? {
        let maxDrawdown = fraction(reader, "maxDrawdown")
        let reduceDrawdown = reader.optionalDecimal("reduceDrawdown")
        if let reduceDrawdown {
            if reduceDrawdown <= 0 {
                reader.report("reduceDrawdown", "must be greater than 0, got \(ExactDecimal.text(reduceDrawdown))")
            } else if let maxDrawdown, reduceDrawdown >= maxDrawdown {
                reader.report("reduceDrawdown", "must be below maxDrawdown (\(ExactDecimal.text(maxDrawdown)))")
            }
        }
        let maxDailyLoss = positive(reader, "maxDailyLoss")
        let maxExecutionErrors = count(reader, "maxExecutionErrors", in: 1...10_000)
        let errorWindowSeconds = count(reader, "errorWindowSeconds", in: 1...86_400)
        let maxFeedAgeSeconds = count(reader, "maxFeedAgeSeconds", in: 1...86_400)
        let cooldownSeconds = count(reader, "cooldownSeconds", in: 1...86_400)
        let manualResetRequired = reader.bool("manualResetRequired")
        let cancelOpenOrdersOnTrip = reader.bool("cancelOpenOrdersOnTrip")
        let flattenPositionsOnTrip = reader.bool("flattenPositionsOnTrip")
        guard let maxDrawdown, let maxDailyLoss, let maxExecutionErrors, let errorWindowSeconds, let maxFeedAgeSeconds, let cooldownSeconds,
            let manualResetRequired, let cancelOpenOrdersOnTrip, let flattenPositionsOnTrip,
            reduceDrawdown.map({ $0 > 0 && $0 < maxDrawdown }) ?? true
        else { return nil }
        return EmergencyStopPolicy(
            maxDrawdown: maxDrawdown, reduceDrawdown: reduceDrawdown, maxDailyLoss: maxDailyLoss, maxExecutionErrors: maxExecutionErrors,
            errorWindowSeconds: errorWindowSeconds, maxFeedAgeSeconds: maxFeedAgeSeconds, cooldownSeconds: cooldownSeconds,
            manualResetRequired: manualResetRequired, cancelOpenOrdersOnTrip: cancelOpenOrdersOnTrip,
            flattenPositionsOnTrip: flattenPositionsOnTrip)
    }
}

extension PolicyDocument {
    public var json: JSONValue {
        .object([
            "version": .number(Double(version)),
            "updatedAt": .string(EventEnvelope.timestamp(updatedAt)),
            "updatedBy": .string(updatedBy),
            "policy": policy.json,
        ])
    }

    public init(json value: JSONValue) throws(PayloadError) {
        let reader = try PayloadReader(value, name: "policy document")
        let version = count(reader, "version", in: 1...Int(Int32.max))
        let updatedAt = reader.date("updatedAt")
        let updatedBy = reader.string("updatedBy", maxLength: 200)
        let policyReader = reader.object("policy")
        let policy = policyReader.flatMap { RiskPolicy.read($0) }
        policyReader?.close()
        try reader.finish()
        guard let version, let updatedAt, let updatedBy, let policy else { throw PayloadError(problems: ["policy document: invalid"]) }
        self.init(version: version, updatedAt: updatedAt, updatedBy: updatedBy, policy: policy)
    }

    public init(data: Data) throws(PayloadError) {
        let value: JSONValue
        do { value = try JSONValue(parsing: data) } catch { throw PayloadError(problems: ["policy document: not valid JSON: \(error)"]) }
        try self.init(json: value)
    }

    public var data: Data { json.encoded() }
}

/// Trading symbols as Binance names them: base asset then a known quote asset, upper case.
enum Symbol {
    static let quoteAssets = ["USDT", "USDC", "FDUSD", "BTC", "ETH", "BNB", "EUR"]

    static func isValid(_ symbol: String) -> Bool {
        SymbolSyntax.isValid(symbol) && quoteAssets.contains { symbol.hasSuffix($0) && symbol.count > $0.count + 1 }
    }

    static func problem(_ symbol: String) -> String {
        "\"\(symbol)\" is not a symbol: expected upper-case base and quote asset such as BTCUSDT (quote one of \(quoteAssets.joined(separator: ", ")))"
    }
}

private func positive(_ reader: PayloadReader, _ key: String) -> Decimal? {
    guard let value = reader.decimal(key) else { return nil }
    guard value > 0 else {
        reader.report(key, "must be greater than 0, got \(ExactDecimal.text(value))")
        return nil
    }
    return value
}

private func fraction(_ reader: PayloadReader, _ key: String) -> Decimal? {
    guard let value = reader.decimal(key) else { return nil }
    guard value > 0, value < 1 else {
        reader.report(key, "must be a fraction between 0 and 1 (0.10 is 10 %), got \(ExactDecimal.text(value))")
        return nil
    }
    return value
}

private func count(_ reader: PayloadReader, _ key: String, in range: ClosedRange<Int>) -> Int? {
    guard let value = reader.int(key) else { return nil }
    guard range.contains(value) else {
        reader.report(key, "must be between \(range.lowerBound) and \(range.upperBound), got \(value)")
        return nil
    }
    return value
}
