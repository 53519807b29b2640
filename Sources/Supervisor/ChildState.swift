/// Where a child is in its life.
public enum ChildState: String, Sendable, Codable, CaseIterable {
    /// Not running, and not meant to: before the first start, or stopped by an operator.
    case stopped
    /// Meant to run; waiting for what it depends on to be ready.
    case waiting
    /// Running, not yet ready.
    case starting
    /// Running and ready.
    case running
    /// Asked to stop; waiting for it to exit.
    case stopping
    /// Exited; waiting out the backoff before the next start.
    case backoff
    /// Exited and, by its restart policy, stays down.
    case exited
    /// Restarted more often than its intensity allows; stays down until an operator starts it.
    case failed
}

/// What `GET /api/services` and `vakt status` show of one child.
public struct ChildSnapshot: Sendable, Codable, Equatable {
    public var name: String
    public var state: ChildState
    public var ready: Bool
    public var critical: Bool
    public var pid: Int32?
    public var uptimeSeconds: Double?
    public var restarts: Int
    public var lastExit: String?
    public var lastExitReason: String?
    /// The child's last `STATUS=` text.
    public var status: String?
    public var readiness: String
    public var lastErrno: Int32?
}
