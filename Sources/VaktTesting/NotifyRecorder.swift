import Synchronization
import SystemdNotify

/// Owns a real notify socket and records every datagram that arrives, for assertions.
public final class NotifyRecorder: Sendable {
    public let listener: NotifySocketListener
    private let received = Received()
    private let task: Task<Void, Never>

    public init(address: String? = nil) throws {
        let listener = try address.map { try NotifySocketListener(address: $0) } ?? NotifySocketListener.abstract(prefix: "vakt-test")
        self.listener = listener
        let received = self.received
        task = Task {
            for await datagram in listener.datagrams { received.items.withLock { $0.append(datagram) } }
        }
    }

    public var address: String { listener.address }

    public var datagrams: [NotifySocketListener.Datagram] { received.items.withLock { $0 } }

    /// Every well-formed assignment received so far, in order.
    public var assignments: [NotifyMessage.Assignment] {
        datagrams.flatMap { (try? $0.message.get())?.assignments ?? [] }
    }

    public func waitFor(timeout: Duration = .seconds(30), _ predicate: @escaping ([NotifyMessage.Assignment]) -> Bool) async -> Bool {
        await TestEnvironment.eventually(timeout: timeout) { predicate(self.assignments) }
    }

    public func stop() {
        listener.stop()
        task.cancel()
    }

    deinit {
        stop()
    }
}

private final class Received: Sendable {
    let items = Mutex<[NotifySocketListener.Datagram]>([])
}
