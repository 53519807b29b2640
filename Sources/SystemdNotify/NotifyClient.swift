// SystemdNotify: both ends of the sd_notify protocol. ``NotifyClient`` lets a service report
// READY/STATUS/WATCHDOG/STOPPING to whoever started it (systemd or the Vakt supervisor);
// ``NotifySocketListener`` is the receiving end the supervisor owns; ``NotifyMessage`` parses
// the datagrams.

import CSystemd
import Dispatch
import Foundation
import Logging

/// Sends sd_notify messages through libsystemd to `$NOTIFY_SOCKET` (path or abstract `@name`).
///
/// libsystemd's calls block on a socket, so they run on a serial dispatch queue of their own,
/// never on the Swift concurrency pool. Without `NOTIFY_SOCKET` every call is a no-op, so the
/// same binary runs under systemd, under the supervisor, or by hand.
public final class NotifyClient: Sendable {
    private let queue = DispatchQueue(label: "vakt.sd-notify")
    private let logger: Logger

    public init(logger: Logger) {
        self.logger = logger
    }

    /// Sends one message; waits until it left (or failed), never throws: a lost notification must
    /// not take a service down, but it is logged.
    public func send(_ message: NotifyMessage) async {
        let text = message.text
        let result: Int32 = await withCheckedContinuation { continuation in
            queue.async {
                continuation.resume(returning: sd_notify(0, text))
            }
        }
        if result < 0 {
            logger.warning("sd_notify failed", metadata: ["message": "\(text)", "errno": "\(-result)"])
        }
    }

    public func ready(status: String) async {
        await send(NotifyMessage(assignments: [.ready, .status(status), .mainPID(getpid())]))
    }

    public func status(_ text: String) async {
        await send(NotifyMessage(assignments: [.status(text)]))
    }

    public func stopping(status: String) async {
        await send(NotifyMessage(assignments: [.stopping, .status(status)]))
    }

    public func watchdogPing() async {
        await send(NotifyMessage(assignments: [.watchdogPing]))
    }

    /// The watchdog interval systemd (or the supervisor) expects, if it is enabled for this process.
    public func watchdogInterval() -> Duration? {
        var microseconds: UInt64 = 0
        guard sd_watchdog_enabled(0, &microseconds) > 0, microseconds > 0 else { return nil }
        return .microseconds(Int64(clamping: microseconds))
    }
}
