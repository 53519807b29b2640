import Synchronization

/// Which child a notify datagram came from: by the sender's pid (the child, or a pid it named
/// with `MAINPID=`), else by its process group, since each child leads a group of its own and
/// helpers such as `systemd-notify` run inside it.
final class ProcessIndex: Sendable {
    private let owners = Mutex<[Int32: String]>([:])

    func register(pid: Int32, name: String) {
        owners.withLock { $0[pid] = name }
    }

    func unregister(name: String) {
        owners.withLock { $0 = $0.filter { $0.value != name } }
    }

    func owner(pid: Int32, processGroup: Int32?) -> String? {
        owners.withLock { owners in
            owners[pid] ?? processGroup.flatMap { owners[$0] }
        }
    }
}
