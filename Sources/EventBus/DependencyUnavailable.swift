/// What an event handler throws when something it needs (its database) cannot be reached: the
/// event is not at fault, so it must never be taken for poison.
///
/// The consumer retries the same event in place, backing off from 100 ms to 5 s (at most half
/// its lease, which it renews), until the handler returns or the consumer stops (the event then
/// stays pending for the next run). The events behind it wait, in order; the group's lag shows
/// the wait. A handler that throws anything else fails the delivery, and after
/// ``EventBusSettings/maxDeliveries`` the event is dead-lettered.
public struct DependencyUnavailable: Error, CustomStringConvertible {
    /// What could not be reached, as an operator names it ("PostgreSQL").
    public var dependency: String
    public var reason: String

    public init(_ dependency: String, reason: String) {
        self.dependency = dependency
        self.reason = reason
    }

    public var description: String { "\(dependency) unavailable: \(reason)" }
}
