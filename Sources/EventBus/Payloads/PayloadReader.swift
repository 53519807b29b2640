import Foundation
import Money
import VaktConfig

/// Why a JSON document is not what it should be: one line per bad field, each naming it.
public struct PayloadError: Error, Sendable, Equatable, CustomStringConvertible {
    public var problems: [String]

    public init(problems: [String]) {
        self.problems = problems
    }

    public var description: String { problems.joined(separator: "; ") }
}

/// Reads the fields of a JSON object, collecting every problem instead of stopping at the
/// first, so that a caller learns all that is wrong with a payload, a policy or a request body
/// at once. Amounts are decimal strings (`"1234.50"`), as Binance writes them, never JSON
/// numbers: a binary floating-point number cannot hold most prices exactly.
public final class PayloadReader {
    private let object: [String: JSONValue]
    private let path: String
    private let sink: ProblemSink

    final class ProblemSink {
        var problems: [String] = []
    }

    public convenience init(_ value: JSONValue, name: String = "payload") throws(PayloadError) {
        guard case .object(let object) = value else { throw PayloadError(problems: ["\(name): expected a JSON object"]) }
        self.init(object: object, path: "", sink: ProblemSink())
    }

    /// Parses `data` as a JSON object; invalid JSON is an error of its own.
    public convenience init(json data: Data, name: String = "body") throws(PayloadError) {
        let value: JSONValue
        do { value = try JSONValue(parsing: data) } catch { throw PayloadError(problems: ["\(name): not valid JSON: \(error)"]) }
        try self.init(value, name: name)
    }

    private init(object: [String: JSONValue], path: String, sink: ProblemSink) {
        self.object = object
        self.path = path
        self.sink = sink
    }

    public func report(_ key: String, _ message: String) {
        sink.problems.append("\(path)\(key): \(message)")
    }

    public func contains(_ key: String) -> Bool { object[key] != nil }

    /// Throws every problem reported so far, through this reader or its nested ones.
    public func finish(allowing extraKeys: Bool = false) throws(PayloadError) {
        close(allowing: extraKeys)
        if !sink.problems.isEmpty { throw PayloadError(problems: sink.problems) }
    }

    private var knownKeys: Set<String> = []

    private func value(_ key: String, required: Bool) -> JSONValue? {
        knownKeys.insert(key)
        guard let value = object[key], value != .null else {
            if required { report(key, "missing") }
            return nil
        }
        return value
    }

    public func string(_ key: String, maxLength: Int = 1024) -> String? {
        guard let value = value(key, required: true) else { return nil }
        return text(key, value, maxLength: maxLength)
    }

    public func optionalString(_ key: String, maxLength: Int = 1024) -> String? {
        guard let value = value(key, required: false) else { return nil }
        return text(key, value, maxLength: maxLength)
    }

    /// A string that is present but may be empty (APIs that send "" for none).
    public func possiblyEmptyString(_ key: String, maxLength: Int = 1024) -> String? {
        guard let value = value(key, required: true) else { return nil }
        return text(key, value, maxLength: maxLength, allowingEmpty: true)
    }

    private func text(_ key: String, _ value: JSONValue, maxLength: Int, allowingEmpty: Bool = false) -> String? {
        guard case .string(let text) = value else {
            report(key, "expected a string, got \(value.kindName)")
            return nil
        }
        guard allowingEmpty || !text.trimmingCharacters(in: .whitespaces).isEmpty else {
            report(key, "must not be empty")
            return nil
        }
        guard text.count <= maxLength else {
            report(key, "longer than \(maxLength) characters")
            return nil
        }
        return text
    }

    public func decimal(_ key: String) -> Decimal? {
        guard let value = value(key, required: true) else { return nil }
        return decimal(key, value)
    }

    public func optionalDecimal(_ key: String) -> Decimal? {
        guard let value = value(key, required: false) else { return nil }
        return decimal(key, value)
    }

    private func decimal(_ key: String, _ value: JSONValue) -> Decimal? {
        guard case .string(let text) = value else {
            report(key, "expected a decimal string such as \"1234.50\", got \(value.kindName)")
            return nil
        }
        guard let decimal = ExactDecimal.parse(text) else {
            report(key, "\"\(text)\" is not a decimal number such as \"1234.50\"")
            return nil
        }
        return decimal
    }

    public func int(_ key: String) -> Int? {
        guard let value = value(key, required: true) else { return nil }
        return integer(key, value)
    }

    /// An integer that may be absent (or null).
    public func optionalInt(_ key: String) -> Int? {
        guard let value = value(key, required: false) else { return nil }
        return integer(key, value)
    }

    private func integer(_ key: String, _ value: JSONValue) -> Int? {
        guard case .number(let number) = value, number == number.rounded(), abs(number) < 9_007_199_254_740_992 else {
            report(key, "expected an integer, got \(value.kindName)")
            return nil
        }
        return Int(number)
    }

    public func bool(_ key: String) -> Bool? {
        guard let value = value(key, required: true) else { return nil }
        return flag(key, value)
    }

    /// A flag that may be absent (or null).
    public func optionalBool(_ key: String) -> Bool? {
        guard let value = value(key, required: false) else { return nil }
        return flag(key, value)
    }

    private func flag(_ key: String, _ value: JSONValue) -> Bool? {
        guard case .bool(let flag) = value else {
            report(key, "expected true or false, got \(value.kindName)")
            return nil
        }
        return flag
    }

    public func date(_ key: String) -> Date? {
        guard let text = string(key, maxLength: 64) else { return nil }
        return date(key, text)
    }

    /// A time that may be absent (or null).
    public func optionalDate(_ key: String) -> Date? {
        guard let text = optionalString(key, maxLength: 64) else { return nil }
        return date(key, text)
    }

    private func date(_ key: String, _ text: String) -> Date? {
        guard let date = EventEnvelope.parseTimestamp(text) else {
            report(key, "\"\(text)\" is not an ISO 8601 time such as \"2026-11-27T10:00:00.000Z\"")
            return nil
        }
        return date
    }

    public func stringList(_ key: String, maxCount: Int = 1000) -> [String]? {
        guard let value = value(key, required: true) else { return nil }
        guard case .array(let items) = value, items.count <= maxCount else {
            report(key, "expected a list of at most \(maxCount) strings, got \(value.kindName)")
            return nil
        }
        var strings: [String] = []
        for (index, item) in items.enumerated() {
            guard case .string(let text) = item else {
                report("\(key)[\(index)]", "expected a string, got \(item.kindName)")
                continue
            }
            strings.append(text)
        }
        return strings
    }

    /// The object under `key`, read with the same rules; its problems are reported with the
    /// full path (`ess.cooldownSeconds`).
    public func object(_ key: String) -> PayloadReader? {
        guard let value = value(key, required: true) else { return nil }
        guard case .object(let nested) = value else {
            report(key, "expected an object, got \(value.kindName)")
            return nil
        }
        return PayloadReader(object: nested, path: "\(path)\(key).", sink: sink)
    }

    /// The list of objects under `key`, each read with the same rules; problems name the item
    /// (`details[2].ccy`).
    public func objects(_ key: String, maxCount: Int = 10_000) -> [PayloadReader]? {
        guard let value = value(key, required: true) else { return nil }
        guard case .array(let items) = value, items.count <= maxCount else {
            report(key, "expected a list of at most \(maxCount) objects, got \(value.kindName)")
            return nil
        }
        var readers: [PayloadReader] = []
        for (index, item) in items.enumerated() {
            guard case .object(let nested) = item else {
                report("\(key)[\(index)]", "expected an object, got \(item.kindName)")
                return nil
            }
            readers.append(PayloadReader(object: nested, path: "\(path)\(key)[\(index)].", sink: sink))
        }
        return readers
    }

    /// An exchange symbol such as `BTCUSDT`: upper-case letters and digits, at most 20.
    public func symbol(_ key: String) -> String? {
        guard let text = string(key, maxLength: SymbolSyntax.maxLength) else { return nil }
        guard SymbolSyntax.isValid(text) else {
            report(key, SymbolSyntax.problem(text))
            return nil
        }
        return text
    }

    /// An exact price, quantity or money amount: a decimal string, never a JSON number.
    public func amount<Amount: DecimalAmount>(_ key: String) -> Amount? {
        guard let value = value(key, required: true) else { return nil }
        return amount(key, value)
    }

    public func optionalAmount<Amount: DecimalAmount>(_ key: String) -> Amount? {
        guard let value = value(key, required: false) else { return nil }
        return amount(key, value)
    }

    private func amount<Amount: DecimalAmount>(_ key: String, _ value: JSONValue) -> Amount? {
        guard case .string(let text) = value else {
            report(key, "expected a decimal string such as \"1234.50\", got \(value.kindName)")
            return nil
        }
        do {
            return try Amount(parsing: text)
        } catch {
            report(key, "\(error)")
            return nil
        }
    }

    /// One of an enumeration's raw values; the message lists them.
    public func choice<Choice: RawRepresentable & CaseIterable>(_ key: String) -> Choice? where Choice.RawValue == String {
        guard let text = string(key, maxLength: 64) else { return nil }
        return choice(key, text)
    }

    public func optionalChoice<Choice: RawRepresentable & CaseIterable>(_ key: String) -> Choice? where Choice.RawValue == String {
        guard let text = optionalString(key, maxLength: 64) else { return nil }
        return choice(key, text)
    }

    private func choice<Choice: RawRepresentable & CaseIterable>(_ key: String, _ text: String) -> Choice? where Choice.RawValue == String {
        guard let value = Choice(rawValue: text) else {
            report(key, "\"\(text)\" is not one of \(Choice.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))")
            return nil
        }
        return value
    }

    /// The keys and values of an object of strings, such as an alert's labels.
    public func stringMap(_ key: String, maxCount: Int = 100) -> [String: String]? {
        guard let nested = object(key) else { return nil }
        guard nested.object.count <= maxCount else {
            report(key, "more than \(maxCount) entries")
            return nil
        }
        var result: [String: String] = [:]
        for name in nested.object.keys.sorted() {
            if let text = nested.optionalString(name, maxLength: 4096) { result[name] = text }
        }
        return result
    }

    /// The value under `key` read by a reader of its own (a type's `init(json:)`); its problems
    /// are reported here under the key's path (`status.state: ...`).
    public func reading<Value>(_ key: String, with read: (JSONValue) throws(PayloadError) -> Value) -> Value? {
        guard let value = value(key, required: true) else { return nil }
        do {
            return try read(value)
        } catch {
            for problem in error.problems { sink.problems.append("\(path)\(key).\(problem)") }
            return nil
        }
    }

    /// The whole object this reader reads, for a type that reads it with a reader of its own;
    /// that reader's problems come back through ``absorb(_:)``.
    public var whole: JSONValue {
        knownKeys.formUnion(object.keys)
        return .object(object)
    }

    /// Reports the problems another reader found in this reader's object, as they are.
    public func absorb(_ error: PayloadError) {
        sink.problems.append(contentsOf: error.problems.map { path + $0 })
    }

    /// The keys and values of an object of decimals, such as per-symbol limits.
    public func decimalMap(_ key: String) -> [String: Decimal]? {
        guard let nested = object(key) else { return nil }
        var result: [String: Decimal] = [:]
        for name in nested.object.keys.sorted() {
            if let decimal = nested.decimal(name) { result[name] = decimal }
        }
        return result
    }

    /// Reports the keys nobody read; a nested reader is closed this way and the outermost one
    /// throws for all of them in ``finish(allowing:)``.
    public func close(allowing extraKeys: Bool = false) {
        if !extraKeys {
            for key in object.keys.sorted() where !knownKeys.contains(key) { report(key, "unknown field") }
        }
    }
}

extension JSONValue {
    /// How a value is named in an error message.
    public var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "a list"
        case .object: "an object"
        }
    }
}

/// Exact decimal amounts in text form, as the bus, the API and Binance carry them.
public enum ExactDecimal {
    private static let posix = Locale(identifier: "en_US_POSIX")

    /// `"-12.5"`, `"0.00010000"`; no exponent, no sign on zero's behalf, at most 38 digits.
    public static func parse(_ text: String) -> Decimal? {
        let bytes = Array(text.utf8)
        var index = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
        let integerStart = index
        while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
        guard index > integerStart else { return nil }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            let fractionStart = index
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
            guard index > fractionStart else { return nil }
        }
        guard index == bytes.count, bytes.filter({ $0 != UInt8(ascii: "-") && $0 != UInt8(ascii: ".") }).count <= 38 else { return nil }
        return Decimal(string: text, locale: posix)
    }

    /// The plain text form (`"0.05"`), never scientific notation.
    public static func text(_ value: Decimal) -> String {
        var copy = value
        return NSDecimalString(&copy, posix)
    }
}
