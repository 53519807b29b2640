import EventBus
import Foundation

/// `policy.updated`: the risk service stored a new policy version; every service's
/// ``PolicyReplica`` takes it. The payload is the whole document, as `GET /api/policy` shows it.
public struct PolicyUpdated: EventPayload {
    public static let eventType = EventType.policyUpdated
    public var document: PolicyDocument

    public init(_ document: PolicyDocument) { self.document = document }

    public init?(reading reader: PayloadReader) {
        do {
            document = try PolicyDocument(json: reader.whole)
        } catch {
            reader.absorb(error)
            return nil
        }
    }

    public var json: JSONValue { document.json }

    public static let example = PolicyUpdated(
        PolicyDocument(version: 3, updatedAt: Date(timeIntervalSince1970: 1_796_000_000), updatedBy: "operator", policy: .defaults))
}
