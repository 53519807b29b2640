import EventBus
import Foundation
import NIOCore
import Synchronization

/// The dashboard's snapshot, section by section, as last read from the services that own the
/// data: each section's JSON is encoded once when it changes, and a request only stitches the
/// sections together with their ages, so it costs the same whatever the services are doing.
final class SnapshotCache: Sendable {
    struct Section: Sendable {
        /// The section's JSON, as last read successfully.
        var data: [UInt8]?
        var updatedAt: Date?
        /// Why the last read failed, when it did (the data, if any, is older).
        var error: String?
    }

    private let sections: Mutex<[String: Section]>
    let names: [String]

    init(sections names: [String]) {
        self.names = names
        sections = Mutex(Dictionary(uniqueKeysWithValues: names.map { ($0, Section()) }))
    }

    func update(_ name: String, data: [UInt8], at time: Date) {
        sections.withLock { $0[name] = Section(data: data, updatedAt: time, error: nil) }
    }

    func failed(_ name: String, _ error: String) {
        sections.withLock { $0[name]?.error = error }
    }

    func section(_ name: String) -> Section? { sections.withLock { $0[name] } }

    /// The age of each section that has data, at `now`.
    func ages(at now: Date) -> [String: TimeInterval] {
        sections.withLock { sections in sections.compactMapValues { $0.updatedAt.map { now.timeIntervalSince($0) } } }
    }

    /// `{"generatedAt","epoch","sequence","sections":{name:{"updatedAt","ageMs","error","data"}}}`:
    /// `epoch` and `sequence` are the WebSocket's at this moment, so a client that applies the
    /// snapshot resumes the stream from there.
    func render(at now: Date, epoch: String, sequence: UInt64) -> ByteBuffer {
        let current = sections.withLock { $0 }
        var output: [UInt8] = []
        output.reserveCapacity(current.values.reduce(256) { $0 + ($1.data?.count ?? 0) + 128 })
        output.append(contentsOf: "{\"generatedAt\":".utf8)
        JSONValue.write(string: EventEnvelope.timestamp(now), into: &output)
        output.append(contentsOf: ",\"epoch\":".utf8)
        JSONValue.write(string: epoch, into: &output)
        output.append(contentsOf: ",\"sequence\":\(sequence),\"sections\":{".utf8)
        for (index, name) in names.enumerated() {
            let section = current[name] ?? Section()
            if index > 0 { output.append(UInt8(ascii: ",")) }
            JSONValue.write(string: name, into: &output)
            output.append(contentsOf: ":{\"updatedAt\":".utf8)
            if let updatedAt = section.updatedAt {
                JSONValue.write(string: EventEnvelope.timestamp(updatedAt), into: &output)
                output.append(contentsOf: ",\"ageMs\":\(Int((now.timeIntervalSince(updatedAt) * 1000).rounded()))".utf8)
            } else {
                output.append(contentsOf: "null,\"ageMs\":null".utf8)
            }
            if let error = section.error {
                output.append(contentsOf: ",\"error\":".utf8)
                JSONValue.write(string: error, into: &output)
            }
            output.append(contentsOf: ",\"data\":".utf8)
            output.append(contentsOf: section.data ?? Array("null".utf8))
            output.append(UInt8(ascii: "}"))
        }
        output.append(contentsOf: "}}".utf8)
        return ByteBuffer(bytes: output)
    }
}
