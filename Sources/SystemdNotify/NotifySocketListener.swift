import CPosix
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The receiving end of sd_notify: a datagram socket whose path is handed to children as
/// `NOTIFY_SOCKET`, as systemd does.
///
/// Each datagram arrives with the sender's credentials (`SO_PASSCRED`), which is how a message is
/// attributed to a child; file descriptors passed along (systemd-notify's `BARRIER=1`) are closed
/// at once so the sender's barrier completes. Reception runs on a thread of its own with `poll`,
/// off the Swift concurrency pool.
public final class NotifySocketListener: Sendable {
    /// One received datagram.
    public struct Datagram: Sendable {
        public var senderPID: Int32
        public var senderUID: UInt32
        /// The sender's process group, read when the datagram arrived: a helper such as
        /// `systemd-notify` sends from its own pid but runs in its service's process group, and
        /// is still alive then, waiting for its barrier.
        public var senderProcessGroup: Int32?
        public var message: Result<NotifyMessage, NotifyMessage.ParseError>

        public init(
            senderPID: Int32, senderUID: UInt32, senderProcessGroup: Int32?, message: Result<NotifyMessage, NotifyMessage.ParseError>
        ) {
            self.senderPID = senderPID
            self.senderUID = senderUID
            self.senderProcessGroup = senderProcessGroup
            self.message = message
        }
    }

    public enum SocketError: Error, CustomStringConvertible {
        case pathTooLong(String)
        case system(operation: String, errno: Int32)

        public var description: String {
            switch self {
            case .pathTooLong(let path): "notify socket path is too long: \(path)"
            case .system(let operation, let code): "\(operation) failed: \(String(cString: strerror(code)))"
            }
        }
    }

    /// The address as it goes into `NOTIFY_SOCKET`: a file path, or `@name` for the abstract namespace.
    public let address: String
    public let datagrams: AsyncStream<Datagram>
    private let socketFD: Int32
    private let wakePipe: (read: Int32, write: Int32)
    private let state: Mutex<(stopped: Bool, thread: Thread?)>
    private let finished = DispatchSemaphore(value: 0)

    public init(address: String) throws(SocketError) {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .system(operation: "socket", errno: errno) }
        var storage = sockaddr_un()
        storage.sun_family = sa_family_t(AF_UNIX)
        let isAbstract = address.hasPrefix("@")
        var pathBytes = Array(address.utf8)
        if isAbstract { pathBytes[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: storage.sun_path)
        guard pathBytes.count < capacity else {
            close(fd)
            throw .pathTooLong(address)
        }
        if !isAbstract { unlink(address) }
        withUnsafeMutableBytes(of: &storage.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + pathBytes.count + (isAbstract ? 0 : 1))
        let bound = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0 else {
            let code = errno
            close(fd)
            throw .system(operation: "bind \(address)", errno: code)
        }
        var on: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, socklen_t(MemoryLayout<Int32>.size))
        var pipeFDs: [Int32] = [0, 0]
        guard vakt_pipe_cloexec(&pipeFDs, O_NONBLOCK) == 0 else {
            let code = errno
            close(fd)
            throw .system(operation: "pipe2", errno: code)
        }
        self.address = address
        self.socketFD = fd
        self.wakePipe = (pipeFDs[0], pipeFDs[1])
        self.state = Mutex((false, nil))
        let (stream, continuation) = AsyncStream.makeStream(of: Datagram.self, bufferingPolicy: .bufferingNewest(4096))
        self.datagrams = stream
        let thread = Thread { [socketFD = fd, wake = pipeFDs[0], finished] in
            Self.receiveLoop(socketFD: socketFD, wakeFD: wake, continuation: continuation)
            finished.signal()
        }
        thread.name = "vakt.notify-listener"
        state.withLock { $0.thread = thread }
        thread.start()
    }

    /// Creates a listener at a fresh abstract address, unique to this process.
    public static func abstract(prefix: String = "vakt") throws(SocketError) -> NotifySocketListener {
        try NotifySocketListener(address: "@\(prefix)/notify/\(getpid())/\(UInt64.random(in: 0...UInt64.max))")
    }

    /// Stops receiving, closes the socket and removes its file. Idempotent.
    public func stop() {
        let alreadyStopped = state.withLock { state in
            defer { state.stopped = true }
            return state.stopped
        }
        guard !alreadyStopped else { return }
        var byte: UInt8 = 1
        _ = write(wakePipe.write, &byte, 1)
        finished.wait()
        close(socketFD)
        close(wakePipe.read)
        close(wakePipe.write)
        if !address.hasPrefix("@") { unlink(address) }
    }

    deinit {
        stop()
    }

    private static func receiveLoop(socketFD: Int32, wakeFD: Int32, continuation: AsyncStream<Datagram>.Continuation) {
        defer { continuation.finish() }
        var buffer = [CChar](repeating: 0, count: NotifyMessage.maximumLength + 1)
        var pollFDs = [
            pollfd(fd: socketFD, events: Int16(POLLIN), revents: 0),
            pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0),
        ]
        while true {
            let ready = poll(&pollFDs, 2, -1)
            if ready < 0 {
                if errno == EINTR { continue }
                return
            }
            if pollFDs[1].revents != 0 { return }
            guard pollFDs[0].revents & Int16(POLLIN) != 0 else { continue }
            while true {
                var pid: pid_t = -1
                var uid: uid_t = 0
                var truncated: Int32 = 0
                let count = vakt_notify_recv(socketFD, &buffer, buffer.count, &pid, &uid, &truncated)
                if count < 0 { break }
                let message: Result<NotifyMessage, NotifyMessage.ParseError>
                if truncated != 0 {
                    message = .failure(.tooLong(Int(count)))
                } else {
                    let bytes = buffer[0..<Int(count)].map { UInt8(bitPattern: $0) }
                    message = Result { () throws(NotifyMessage.ParseError) in try NotifyMessage(parsing: bytes) }
                }
                let group = pid > 0 ? processGroup(of: pid) : nil
                continuation.yield(Datagram(senderPID: pid, senderUID: uid, senderProcessGroup: group, message: message))
            }
        }
    }
}

/// The process group of `pid`, from field 5 of `/proc/PID/stat`.
func processGroup(of pid: Int32) -> Int32? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else {
        return nil
    }
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    return fields.count > 2 ? Int32(fields[2]) : nil
}

extension NotifySocketListener {
    /// The datagrams, and a nil `interval` after each call of `revisit`, so a consumer holding
    /// datagrams back can look at them again without a second task, and without waking up
    /// while it holds nothing. Ends when the listener stops.
    public func datagramsWithRevisits(after interval: Duration) -> (stream: AsyncStream<Datagram?>, revisit: @Sendable () -> Void) {
        let (stream, continuation) = AsyncStream.makeStream(of: Datagram?.self, bufferingPolicy: .bufferingNewest(4096))
        let datagrams = self.datagrams
        let forward = Task {
            for await datagram in datagrams { continuation.yield(datagram) }
            continuation.finish()
        }
        let timer = RevisitTimer()
        continuation.onTermination = { _ in
            forward.cancel()
            timer.cancel()
        }
        return (stream, { timer.schedule(after: interval) { continuation.yield(nil) } })
    }
}

/// At most one pending revisit at a time.
private final class RevisitTimer: Sendable {
    private let pending = Mutex<Task<Void, Never>?>(nil)

    func schedule(after interval: Duration, _ fire: @escaping @Sendable () -> Void) {
        pending.withLock { pending in
            guard pending == nil else { return }
            pending = Task {
                try? await Task.sleep(for: interval)
                self.pending.withLock { $0 = nil }
                fire()
            }
        }
    }

    func cancel() {
        pending.withLock { $0?.cancel() }
    }
}
