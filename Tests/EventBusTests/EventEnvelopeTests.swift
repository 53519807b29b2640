import Foundation
import Testing
import VaktTesting

@testable import EventBus
@testable import VaktConfig

@Suite struct EventEnvelopeTests {
    func decode(_ text: String, limit: Int = 1 << 20) throws(EnvelopeError) -> EventEnvelope {
        try EventEnvelope.decode(Array(text.utf8), maximumBytes: limit)
    }

    @Test func roundTrips() throws {
        let envelope = EventEnvelope(
            type: .orderFilled, source: "execution", occurredAt: Date(timeIntervalSince1970: 1_800_000_000.125),
            payload: .object([
                "symbol": .string("BTCUSDT"), "qty": .string("0.015"), "partial": .bool(false), "fees": .array([.null, .number(2)]),
            ]))
        let decoded = try EventEnvelope.decode(Array(envelope.encoded()), maximumBytes: 1 << 20)
        #expect(decoded == envelope)
    }

    @Test func encodingEscapesEverythingJSONRequires() throws {
        let awkward = "quote \" backslash \\ newline \n tab \t bell \u{07} nul \u{00} ünïcode ✓ 🚀"
        let payload = JSONValue.object([
            awkward: .string(awkward),
            "numbers": .array([.number(0.1), .number(1e-5), .number(-42), .number(1e300), .number(123456789012)]),
            "nested": .object(["empty": .array([]), "none": .null, "yes": .bool(true)]),
        ])
        let envelope = EventEnvelope(
            type: .alertFired, source: "test", occurredAt: Date(timeIntervalSince1970: 1_800_000_000), payload: payload)
        let text = String(decoding: envelope.encoded(), as: UTF8.self)
        #expect(!text.contains("\n"), "a raw newline would break line-oriented tools such as vakt events tail")
        #expect(text.contains("\\u0007"))
        #expect(try EventEnvelope.decode(Array(envelope.encoded()), maximumBytes: 1 << 20) == envelope)
        // Non-finite numbers cannot be JSON; they are written as null rather than breaking the entry.
        let infinite = EventEnvelope(type: .alertFired, source: "test", payload: .number(.infinity))
        #expect(try EventEnvelope.decode(Array(infinite.encoded()), maximumBytes: 1 << 20).payload == .null)
    }

    @Test func wholeNumbersAreWrittenAsTheirDigits() {
        let numbers: [Double] = [0, -0.0, 7, -1, 10, 99, 100, 1_234_567_890_123, 9_007_199_254_740_991, -9_007_199_254_740_991, 2.5]
        let text = String(decoding: JSONValue.array(numbers.map { .number($0) }).encoded(), as: UTF8.self)
        #expect(text == "[0,0,7,-1,10,99,100,1234567890123,9007199254740991,-9007199254740991,2.5]")
    }

    @Test func timestampsMatchISO8601WithMilliseconds() {
        // Values exact in binary agree with Foundation's formatter.
        for seconds in [0.0, 1_800_000_000.125, 951_782_400.5, 4_102_444_799.5, -1.25] {
            let date = Date(timeIntervalSince1970: seconds)
            #expect(EventEnvelope.timestamp(date) == date.formatted(EventEnvelope.timeFormat), "\(seconds)")
        }
        // .999 is not exact in binary; Foundation truncates it to .998, this keeps the millisecond meant.
        #expect(EventEnvelope.timestamp(Date(timeIntervalSince1970: 951_782_400.999)) == "2000-02-29T00:00:00.999Z")
    }

    @Test func writtenTimestampsReadBackToTheMillisecond() throws {
        var generator = SplitMix64(seed: 7)
        for _ in 0..<20_000 {
            // Any millisecond from 1970 to 2200.
            let milliseconds = Int64(generator.next() % 7_258_118_400_000)
            let date = Date(timeIntervalSince1970: Double(milliseconds) / 1000)
            let text = EventEnvelope.timestamp(date)
            let parsed = EventEnvelope.parseTimestamp(text)
            #expect(parsed.map(EventEnvelope.timestamp) == text, "\(milliseconds)")
            // The hand-read shape agrees with Foundation's reading of it.
            let foundation = try Date(text, strategy: EventEnvelope.timeFormat)
            #expect(abs(parsed!.timeIntervalSince(foundation)) < 0.000_001, "\(text)")
        }
        for impossible in ["2026-02-30T00:00:00.000Z", "2026-13-01T00:00:00.000Z", "2026-01-01T24:00:00.000Z", "2026-01-01T00:00:00.00xZ"] {
            #expect(EventEnvelope.parseWrittenTimestamp(impossible) == nil, "\(impossible)")
        }
        // Other ISO 8601 shapes still read, through Foundation.
        #expect(EventEnvelope.parseTimestamp("2026-11-27T01:00:00+01:00") == Date(timeIntervalSince1970: 1_795_737_600))
    }

    @Test func idsAreUniqueAndTimeOrdered() {
        let earlier = EventID.make(now: Date(timeIntervalSince1970: 1_800_000_000))
        let later = EventID.make(now: Date(timeIntervalSince1970: 1_800_000_000.002))
        #expect(earlier < later)
        #expect(Set((0..<1000).map { _ in EventID.make() }).count == 1000)
        #expect(earlier.count == 36)
    }

    static let valid =
        #"{"id":"x","type":"order.filled","source":"execution","occurredAt":"2026-11-27T00:00:00.000Z","schemaVersion":1,"payload":{}}"#

    @Test(arguments: [
        ("", "not JSON: unexpected end of input at byte 0"),
        ("{not json", "not JSON: expected a string key at byte 1"),
        ("[1]", "envelope is not a JSON object"),
        (valid.replacingOccurrences(of: #""id":"x","#, with: ""), "missing field \"id\""),
        (valid.replacingOccurrences(of: #""id":"x""#, with: #""id":7"#), "field \"id\" is not a non-empty string"),
        (valid.replacingOccurrences(of: "order.filled", with: "order.teleported"), "unknown event type \"order.teleported\""),
        (
            valid.replacingOccurrences(of: "2026-11-27T00:00:00.000Z", with: "yesterday"),
            "field \"occurredAt\" is not an ISO 8601 time: \"yesterday\""
        ),
        (
            valid.replacingOccurrences(of: #""schemaVersion":1"#, with: #""schemaVersion":"1""#),
            "field \"schemaVersion\" is not a positive integer"
        ),
        (
            valid.replacingOccurrences(of: #""schemaVersion":1"#, with: #""schemaVersion":1.5"#),
            "field \"schemaVersion\" is not a positive integer"
        ),
        (
            valid.replacingOccurrences(of: #""schemaVersion":1"#, with: #""schemaVersion":0"#),
            "field \"schemaVersion\" is not a positive integer"
        ),
        (valid.replacingOccurrences(of: #","payload":{}"#, with: ""), "missing field \"payload\""),
    ])
    func malformedEnvelopesAreRejectedByField(text: String, reason: String) {
        #expect(throws: EnvelopeError(reason: reason)) { try decode(text) }
    }

    @Test func oversizedEnvelopeIsRefusedUnread() {
        #expect(throws: EnvelopeError(reason: "envelope of \(Self.valid.utf8.count) bytes exceeds the 64-byte limit")) {
            try decode(Self.valid, limit: 64)
        }
    }

    @Test func validEnvelopeDecodes() throws {
        let envelope = try decode(Self.valid)
        #expect(envelope.type == .orderFilled)
        #expect(envelope.payload == .object([:]))
    }
}

/// Every event type's stream is known to the configuration, which cannot import EventBus.
@Test func configurationKnowsEveryStream() {
    for type in EventType.allCases {
        #expect(EventBusSettings.knownStreams.contains(type.stream))
        #expect(EventBusSettings.knownStreams.contains(type.deadLetterStream))
    }
    #expect(EventBusSettings.knownStreams.count == EventType.allCases.count * 2)
}
