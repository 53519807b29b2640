import EmergencyStop
import Foundation
import PolicyStore
import Testing

@testable import EventBus

/// Every event type has one payload type, and `docs/events.md` lists what the types read and
/// write: the fields, which may be absent, and the schema version.
@Suite struct EventCatalogTests {
    static let catalogue: [any EventPayload.Type] = [
        MarketTick.self, MarketKline.self, SignalGenerated.self, SignalsDropped.self, OrderSubmitted.self, OrderPartiallyFilled.self,
        OrderFilled.self,
        OrderCanceled.self, OrderRejected.self, PositionUpdated.self, PortfolioSnapshot.self, ModelRetrainRequested.self,
        ModelPromoted.self, PolicyUpdated.self, ESSStateChanged.self, ESSTripRequested.self, HealthChanged.self, AlertFired.self,
        AlertResolved.self, ControlActionTaken.self,
    ]

    @Test func everyEventTypeHasExactlyOnePayloadType() {
        let types = Self.catalogue.map { $0.eventType }
        #expect(Set(types) == Set(EventType.allCases))
        #expect(types.count == EventType.allCases.count)
    }

    /// A documented row: fields, those marked absent-able (`name`?), the version.
    struct Row {
        var fields: Set<String>
        var optional: Set<String>
        var version: Int?
    }

    static func documentedRows() throws -> [String: Row] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("docs/events.md"), encoding: .utf8)
        let section = try #require(text.components(separatedBy: "## Payloads").dropFirst().first?.components(separatedBy: "\n## ").first)
        var rows: [String: Row] = [:]
        for line in section.split(separator: "\n") where line.hasPrefix("| `") {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 5 else { continue }
            let type = cells[1].trimmingCharacters(in: CharacterSet(charactersIn: "`"))
            var row = Row(fields: [], optional: [], version: Int(cells[2]))
            let parts = cells[3].components(separatedBy: "`")
            // Odd parts are inside backticks; a field may be absent when the text after it starts with "?".
            for index in stride(from: 1, to: parts.count, by: 2) {
                row.fields.insert(parts[index])
                if index + 1 < parts.count, parts[index + 1].hasPrefix("?") { row.optional.insert(parts[index]) }
            }
            rows[type] = row
        }
        return rows
    }

    @Test func theDocumentationListsEachPayloadsFieldsAndVersion() throws {
        let rows = try Self.documentedRows()
        for payload in Self.catalogue {
            let name = payload.eventType.rawValue
            let row = try #require(rows[name], "docs/events.md has no row for \(name)")
            guard case .object(let fields) = Self.exampleJSON(payload) else {
                Issue.record("\(name): the example is not an object")
                continue
            }
            #expect(row.fields == Set(fields.keys), "\(name): documented \(row.fields.sorted()), written \(fields.keys.sorted())")
            #expect(row.version == payload.schemaVersion, "\(name)")
            // A field may be absent exactly when the documentation says so.
            for field in fields.keys {
                var without = fields
                without[field] = nil
                let reads = Self.reads(payload, .object(without))
                #expect(reads == row.optional.contains(field), "\(name).\(field): reads without it: \(reads)")
            }
        }
        #expect(Set(rows.keys) == Set(EventType.allCases.map(\.rawValue)))
    }

    @Test func examplesRoundTripThroughEnvelopes() throws {
        for payload in Self.catalogue { try Self.roundTrip(payload) }
    }

    static func exampleJSON<Payload: EventPayload>(_: Payload.Type) -> JSONValue { Payload.example.json }

    static func reads<Payload: EventPayload>(_: Payload.Type, _ json: JSONValue) -> Bool { (try? Payload(json: json)) != nil }

    static func roundTrip<Payload: EventPayload>(_: Payload.Type) throws {
        let envelope = EventEnvelope(Payload.example, source: "test")
        #expect(envelope.type == Payload.eventType)
        #expect(envelope.schemaVersion == Payload.schemaVersion)
        let decoded = try EventEnvelope.decode(envelope.encodedBytes(), maximumBytes: 1 << 20)
        #expect(try decoded.decode(Payload.self) == Payload.example, "\(Payload.eventType)")
    }

    @Test func amountsAreDecimalStringsAndEveryBadFieldIsNamed() {
        #expect(!String(decoding: MarketTick.example.json.encoded(), as: UTF8.self).contains(#""price":4"#))
        let bad: JSONValue = .object([
            "clientOrderId": .string("bad id!"), "orderId": .number(7), "side": .string("HOLD"), "tradeId": .number(1),
            "lastQuantity": .number(0.5), "lastPrice": .string("1e3"), "cumulativeQuantity": .string("0.1"),
            "cumulativeQuote": .string("10"), "commission": .string("0"), "commissionAsset": .string("USDT"),
        ])
        #expect(
            throws: PayloadError(problems: [
                "clientOrderId: \"bad id!\" has characters outside [.A-Z:/a-z0-9_-]",
                "symbol: missing",
                "side: \"HOLD\" is not one of \"BUY\", \"SELL\"",
                "lastQuantity: expected a decimal string such as \"1234.50\", got a number",
                "lastPrice: \"1e3\" is not a decimal number: unexpected character \"e\"",
            ])
        ) { try OrderFilled(json: bad) }
    }

    @Test func anOptionalFieldMayBeNullButNotMalformed() throws {
        guard case .object(var fields) = OrderRejected.example.json else { return }
        fields["code"] = .null
        #expect(try OrderRejected(json: .object(fields)).code == nil)
        fields["code"] = .string("-2010")
        #expect(throws: PayloadError(problems: ["code: expected an integer, got a string"])) { try OrderRejected(json: .object(fields)) }
        guard case .object(var alert) = AlertResolved.example.json else { return }
        alert["endsAt"] = .null
        #expect(try AlertResolved(json: .object(alert)).alert.endsAt == nil)
    }

    @Test func aReaderRefusesAnotherTypeOrANewerSchema() {
        var envelope = EventEnvelope(PortfolioSnapshot.example, source: "test")
        #expect(throws: PayloadError(problems: ["expected a order.filled event, got portfolio.snapshot"])) {
            try envelope.decode(OrderFilled.self)
        }
        envelope.schemaVersion = 2
        #expect(throws: PayloadError(problems: ["portfolio.snapshot schema version 2 is newer than 1, the newest this service reads"])) {
            try envelope.decode(PortfolioSnapshot.self)
        }
    }
}
