// Alerting: alerts, grouped and deduplicated as Alertmanager does (``AlertGrouper``), written
// to a durable SQLite outbox with the grouping state in one transaction (``AlertOutbox``), and
// delivered with retries to webhook, PagerDuty Events v2 and Alertmanager receivers
// (``NotificationDelivery``). Receiver secrets are resolved at delivery and never stored.

import Foundation

/// One alert, in Alertmanager's model: identified by its labels, described by its annotations.
public struct Alert: Sendable, Codable, Equatable {
    public var labels: [String: String]
    public var annotations: [String: String]
    public var startsAt: Date
    /// Set once resolved.
    public var endsAt: Date?
    public var generatorURL: String

    public init(labels: [String: String], annotations: [String: String], startsAt: Date, endsAt: Date? = nil, generatorURL: String) {
        self.labels = labels
        self.annotations = annotations
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.generatorURL = generatorURL
    }

    public var isResolved: Bool { endsAt != nil }
    public var status: String { isResolved ? "resolved" : "firing" }
    public var name: String { labels["alertname"] ?? "" }

    /// Alertmanager's fingerprint: 64-bit FNV-1a over the labels sorted by name, each name and
    /// value followed by 0xff, as 16 hex digits. Stable across restarts and processes.
    public var fingerprint: String { Self.fingerprint(of: labels) }

    public static func fingerprint(of labels: [String: String]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ bytes: some Sequence<UInt8>) {
            for byte in bytes {
                hash ^= UInt64(byte)
                hash = hash &* 0x0000_0100_0000_01b3
            }
        }
        for name in labels.keys.sorted() {
            mix(name.utf8)
            mix([0xff])
            mix(labels[name]!.utf8)
            mix([0xff])
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
