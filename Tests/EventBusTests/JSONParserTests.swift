import Foundation
import Testing
import VaktTesting

@testable import EventBus

@Suite struct JSONParserTests {
    func parse(_ text: String) throws(JSONParseError) -> JSONValue { try JSONValue(parsing: Array(text.utf8)) }

    @Test(arguments: [
        (
            " {\"a\" : [1, -2.5e3, true, false, null, \"x\"], \"b\": {}} ",
            JSONValue.object([
                "a": .array([.number(1), .number(-2500), .bool(true), .bool(false), .null, .string("x")]), "b": .object([:]),
            ])
        ),
        (#""\"\\\/\b\f\n\r\t\u00e9\u2713\ud83d\ude80""#, .string("\"\\/\u{08}\u{0C}\n\r\té✓🚀")),
        ("\"ünïcode ✓ 🚀\"", .string("ünïcode ✓ 🚀")),
        ("0", .number(0)), ("-0.0", .number(0)), ("123456789012345680", .number(123_456_789_012_345_680)),
        ("1E2", .number(100)), ("0.1", .number(0.1)), ("[]", .array([])), ("[[[]]]", .array([.array([.array([])])])),
    ])
    func parsesValidJSON(text: String, expected: JSONValue) throws {
        #expect(try parse(text) == expected)
        // Foundation reads the same value.
        #expect(try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) == expected)
    }

    @Test(arguments: [
        ("", "unexpected end of input at byte 0"),
        ("{", "expected a string key at byte 1"),
        ("{\"a\":1,}", "expected a string key at byte 7"),
        ("[1,]", "unexpected character \"]\" at byte 3"),
        ("[1 2]", "expected \",\" or \"]\" in an array at byte 3"),
        ("{\"a\" 1}", "expected \":\" after the key at byte 5"),
        ("{\"a\":1 \"b\":2}", "expected \",\" or \"}\" in an object at byte 7"),
        ("{\"a\":1,\"a\":2}", "duplicate key \"a\" at byte 7"),
        ("nul", "unexpected word; expected null at byte 0"),
        ("True", "unexpected character \"T\" at byte 0"),
        ("01", "a number has a leading zero at byte 0"),
        ("-", "a number needs a digit at byte 1"),
        ("1.", "a number needs a digit after \".\" at byte 2"),
        ("1e+", "a number needs a digit in its exponent at byte 3"),
        ("1e999", "number 1e999 is out of range at byte 0"),
        ("\"abc", "unterminated string at byte 4"),
        ("\"a\nb\"", "unescaped control character in a string at byte 2"),
        (#""\x""#, #"invalid escape \"x" at byte 2"#),
        (#""\u12""#, "a \\u escape needs four hex digits at byte 3"),
        (#""\ud83d""#, "unpaired surrogate in a \\u escape at byte 7"),
        (#""\ude80""#, "unpaired surrogate in a \\u escape at byte 7"),
        ("1 2", "unexpected content after the JSON value at byte 2"),
        ("// comment\n1", "unexpected character \"/\" at byte 0"),
    ])
    func rejectsMalformedJSONNamingWhereAndWhy(text: String, reason: String) {
        #expect(throws: JSONParseError.self) { try parse(text) }
        do {
            _ = try parse(text)
        } catch {
            #expect(error.description == reason)
        }
    }

    @Test func rejectsInvalidUTF8() {
        #expect(throws: JSONParseError(reason: "invalid UTF-8 in a string", offset: 1)) {
            try JSONValue(parsing: [0x22, 0xFF, 0x22])
        }
        #expect(throws: JSONParseError(reason: "invalid UTF-8 in a string", offset: 1)) {
            try JSONValue(parsing: [0x22, 0x5C, 0x6E, 0xC3, 0x22])  // "\n then a truncated sequence"
        }
    }

    @Test func refusesNestingDeeperThanTheLimit() throws {
        let deep = String(repeating: "[", count: JSONParser.maximumDepth) + String(repeating: "]", count: JSONParser.maximumDepth)
        _ = try parse(deep)
        #expect(throws: JSONParseError(reason: "nested deeper than 512 levels", offset: 512)) {
            try parse("[" + deep + "]")
        }
    }

    /// Random values written by the event writer read back equal, and random corruptions of
    /// them are either refused or read as Foundation reads them: the parser never accepts what
    /// Foundation calls invalid, nor reads a different value.
    @Test func agreesWithFoundationOnRandomDocumentsAndCorruptions() async throws {
        var generator = SplitMix64(seed: 20_261_201)
        for round in 0..<3_000 {
            if round % 100 == 0 { await Task.yield() }
            let value = Self.randomValue(depth: 0, using: &generator)
            var bytes: [UInt8] = []
            value.write(into: &bytes)
            #expect(try JSONValue(parsing: bytes) == value)
            for _ in 0..<4 {
                var corrupted = bytes
                let index = Int(generator.next() % UInt64(corrupted.count))
                let replacements = Array(#"{}[]",:0-.e\" nulltrue"#.utf8) + [0x00, 0xFF]
                switch generator.next() % 3 {
                case 0: corrupted[index] = replacements[Int(generator.next() % UInt64(replacements.count))]
                case 1: corrupted.remove(at: index)
                default: corrupted.insert(replacements[Int(generator.next() % UInt64(replacements.count))], at: index)
                }
                guard let ours = try? JSONValue(parsing: corrupted) else { continue }
                let foundation = try? JSONDecoder().decode(JSONValue.self, from: Data(corrupted))
                #expect(foundation == ours, "\(String(decoding: corrupted, as: UTF8.self))")
            }
        }
    }

    static func randomValue(depth: Int, using generator: inout SplitMix64) -> JSONValue {
        let choice = depth >= 3 ? generator.next() % 4 : generator.next() % 6
        switch choice {
        case 0: return .null
        case 1: return .bool(generator.next() % 2 == 0)
        case 2:
            let scaled = Double(Int64(bitPattern: generator.next()) % 1_000_000_000)
            return .number(generator.next() % 2 == 0 ? scaled : scaled / 1000)
        case 3:
            let alphabet = Array("ab\"\\\n\té✓🚀 0".unicodeScalars)
            return .string(
                String(
                    String.UnicodeScalarView(
                        (0..<Int(generator.next() % 8)).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] })))
        case 4: return .array((0..<Int(generator.next() % 4)).map { _ in randomValue(depth: depth + 1, using: &generator) })
        default:
            var object: [String: JSONValue] = [:]
            for index in 0..<Int(generator.next() % 4) { object["k\(index)"] = randomValue(depth: depth + 1, using: &generator) }
            return .object(object)
        }
    }
}
