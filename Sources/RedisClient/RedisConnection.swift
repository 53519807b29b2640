// RedisClient: a Redis connection on hiredis, the reference C client. hiredis blocks, so every
// call runs on the connection's own thread, never on the Swift concurrency pool.

import CHiredis
import Foundation

/// Where and how to connect.
public struct RedisEndpoint: Sendable {
    public var host: String
    public var port: Int
    public var database: Int
    public var password: String?
    public var connectTimeout: Duration
    public var commandTimeout: Duration
    public var reconnectInitialDelay: Duration
    public var reconnectMaxDelay: Duration
    /// How long a caller waiting for the answer to one command keeps its CPU before it sleeps.
    /// On machines whose idle CPUs wake slowly (virtual machines above all) a sleep and wake-up
    /// costs more than the round trip itself; zero sleeps at once.
    public var spinWait: Duration
    /// Redis Sentinels to ask for the primary of ``primaryName``, in order; when set, `host`
    /// and `port` are not used, and a connection lost is made again to whichever primary the
    /// Sentinels then name (a failover).
    public var sentinels: [SentinelAddress]
    public var primaryName: String

    public struct SentinelAddress: Sendable, Equatable {
        public var host: String
        public var port: Int

        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }
    }

    public init(
        host: String, port: Int, database: Int = 0, password: String? = nil,
        connectTimeout: Duration = .milliseconds(500), commandTimeout: Duration = .seconds(1),
        reconnectInitialDelay: Duration = .milliseconds(100), reconnectMaxDelay: Duration = .seconds(5),
        spinWait: Duration = .microseconds(200), sentinels: [SentinelAddress] = [], primaryName: String = "vakt"
    ) {
        self.sentinels = sentinels
        self.primaryName = primaryName
        self.host = host
        self.port = port
        self.database = database
        self.password = password
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.reconnectInitialDelay = reconnectInitialDelay
        self.reconnectMaxDelay = reconnectMaxDelay
        self.spinWait = spinWait
    }
}

/// One Redis connection that reconnects by itself.
///
/// After a failure, reconnect attempts are spaced by exponential backoff with jitter (from
/// ``RedisEndpoint/reconnectInitialDelay`` doubling up to ``RedisEndpoint/reconnectMaxDelay``);
/// a command issued before the next attempt is due fails at once with
/// ``RedisError/unavailable(reason:retryIn:)`` instead of hammering a Redis that is down.
public final class RedisConnection: @unchecked Sendable {
    // Everything below is touched only on `thread`.
    private let thread: ConnectionThread
    private let endpoint: RedisEndpoint
    private var context: UnsafeMutablePointer<redisContext>?
    private var nextAttempt: ContinuousClock.Instant?
    private var currentDelay: Duration
    private var lastError = ""
    /// `host:port` of the server connected to (with Sentinels, the primary they named).
    private var connectedTo: String
    private let spinPolicy: SpinPolicy

    public init(endpoint: RedisEndpoint, label: String = "redis") {
        self.endpoint = endpoint
        self.thread = ConnectionThread(name: "vakt.redis.\(label)")
        self.currentDelay = endpoint.reconnectInitialDelay
        self.connectedTo = "\(endpoint.host):\(endpoint.port)"
        self.spinPolicy = SpinPolicy(limit: endpoint.spinWait)
    }

    deinit {
        thread.stop()
        if let context { redisFree(context) }
    }

    /// The connection's thread as a task executor, for latency-critical tasks: one that prefers
    /// it runs on that thread and sends its commands without a hand-over between threads.
    public var executor: any TaskExecutor { thread }

    /// Runs one command, for example `["PING"]` or `["XADD", "stream", "*", "k", "v"]`.
    ///
    /// - Parameter blocking: the command waits in Redis by design (`XREADGROUP ... BLOCK`), so
    ///   its caller sleeps at once instead of spinning for an answer that is not meant to come soon.
    public func command(_ arguments: [String], blocking: Bool = false) async throws(RedisError) -> RedisReply {
        try await pipeline(RedisCommandBuffer([arguments.map { Array($0.utf8) }]), spinning: !blocking)[0]
    }

    /// Sends several commands in one write and reads their replies in order.
    public func pipeline(_ commands: [[String]]) async throws(RedisError) -> [RedisReply] {
        try await pipeline(bytes: commands.map { $0.map { Array($0.utf8) } })
    }

    /// The same, with binary-safe arguments as bytes: no conversion through `String`.
    public func pipeline(bytes commands: [[[UInt8]]]) async throws(RedisError) -> [RedisReply] {
        try await pipeline(RedisCommandBuffer(commands))
    }

    /// The same, with the commands already encoded. Only a single command spins for its answer
    /// (see ``withSession(spinning:_:)``).
    public func pipeline(_ commands: RedisCommandBuffer) async throws(RedisError) -> [RedisReply] {
        try await pipeline(commands, spinning: commands.count == 1)
    }

    private func pipeline(_ commands: RedisCommandBuffer, spinning: Bool) async throws(RedisError) -> [RedisReply] {
        try await withSession(spinning: spinning) { session in
            Result { () throws(RedisError) in try session.pipeline(commands) }
        }.get()
    }

    /// Runs `body` with the connection to itself: no other command runs between the ones it sends,
    /// so a caller can decide whether to send and send in one step. `body` runs on the
    /// connection's thread and may block there; the session is valid only inside it.
    ///
    /// - Parameter spinning: whether the caller may wait for the answer on its own CPU first
    ///   (up to ``RedisEndpoint/spinWait``, when ``SpinPolicy`` allows): right for one command,
    ///   whose answer comes in tens of microseconds; a long pipeline would only take the CPU
    ///   Redis and the connection need.
    public func withSession<T: Sendable>(spinning: Bool = true, _ body: @escaping @Sendable (RedisSession) -> T) async -> T {
        if thread.isCurrent { return body(RedisSession(connection: self)) }
        let handoff = Handoff<T>()
        thread.execute { handoff.complete(body(RedisSession(connection: self))) }
        guard spinning else { return await handoff.value(spinningFor: .zero).0 }
        let (value, spin) = await handoff.value(spinningFor: spinPolicy.begin())
        spinPolicy.finish(spin)
        return value
    }

    // MARK: - On the thread

    fileprivate func runPipeline(_ commands: RedisCommandBuffer) throws(RedisError) -> [RedisReply] {
        let context = try connectedContext()
        if Self.append(commands, to: context) != REDIS_OK {
            throw lose(context, during: "sending")
        }
        var replies: [RedisReply] = []
        replies.reserveCapacity(commands.count)
        for _ in 0..<commands.count {
            var raw: UnsafeMutableRawPointer?
            guard redisGetReply(context, &raw) == REDIS_OK, let raw else {
                throw lose(context, during: "reading a reply")
            }
            let reply = raw.assumingMemoryBound(to: redisReply.self)
            replies.append(Self.convert(reply))
            freeReplyObject(raw)
        }
        return replies
    }

    private func connectedContext() throws(RedisError) -> UnsafeMutablePointer<redisContext> {
        if let context { return context }
        let now = ContinuousClock.now
        if let nextAttempt, now < nextAttempt {
            throw .unavailable(reason: lastError, retryIn: nextAttempt - now)
        }
        do {
            let context = try openContext()
            self.context = context
            nextAttempt = nil
            currentDelay = endpoint.reconnectInitialDelay
            return context
        } catch {
            lastError = error.reason
            scheduleReconnect()
            throw .unavailable(reason: lastError, retryIn: nextAttempt.map { $0 - ContinuousClock.now } ?? .zero)
        }
    }

    private struct ConnectFailure: Error { var reason: String }

    private func openContext() throws(ConnectFailure) -> UnsafeMutablePointer<redisContext> {
        let address = endpoint.sentinels.isEmpty ? (host: endpoint.host, port: endpoint.port) : try primaryFromSentinels()
        let context = try connect(to: address.host, address.port)
        var setup: [[String]] = []
        if let password = endpoint.password { setup.append(["AUTH", password]) }
        if endpoint.database != 0 { setup.append(["SELECT", String(endpoint.database)]) }
        // A primary the Sentinels name may have just been demoted (a failover in progress): only
        // a primary is written to.
        if !endpoint.sentinels.isEmpty { setup.append(["ROLE"]) }
        for arguments in setup {
            let reply: RedisReply
            do throws(ConnectFailure) {
                reply = try Self.ask(context, arguments)
            } catch {
                redisFree(context)
                throw ConnectFailure(reason: "setting up the connection: \(error.reason)")
            }
            if case .error(let message) = reply {
                redisFree(context)
                // The AUTH argument is never part of the message: only the command's name.
                throw ConnectFailure(reason: "\(arguments[0]) rejected: \(message)")
            }
            if arguments[0] == "ROLE", reply.array?.first?.string != "master" {
                redisFree(context)
                throw ConnectFailure(
                    reason: "\(address.host):\(address.port), named primary of \(endpoint.primaryName) by the Sentinels, is a "
                        + "\(reply.array?.first?.string ?? "server of unknown role"): a failover is under way")
            }
        }
        connectedTo = "\(address.host):\(address.port)"
        return context
    }

    /// A connection to `host:port` with the endpoint's timeouts.
    private func connect(to host: String, _ port: Int) throws(ConnectFailure) -> UnsafeMutablePointer<redisContext> {
        guard let context = redisConnectWithTimeout(host, Int32(port), Self.timeval(endpoint.connectTimeout)) else {
            throw ConnectFailure(reason: "cannot allocate a connection")
        }
        if context.pointee.err != 0 {
            let reason = Self.errorText(context)
            redisFree(context)
            throw ConnectFailure(reason: "connecting to \(host):\(port): \(reason)")
        }
        redisSetTimeout(context, Self.timeval(endpoint.commandTimeout))
        return context
    }

    /// One command and its reply on a context being set up.
    private static func ask(_ context: UnsafeMutablePointer<redisContext>, _ arguments: [String]) throws(ConnectFailure) -> RedisReply {
        var raw: UnsafeMutableRawPointer?
        guard append(RedisCommandBuffer([arguments.map { Array($0.utf8) }]), to: context) == REDIS_OK,
            redisGetReply(context, &raw) == REDIS_OK,
            let raw
        else { throw ConnectFailure(reason: errorText(context)) }
        defer { freeReplyObject(raw) }
        return convert(raw.assumingMemoryBound(to: redisReply.self))
    }

    /// Asks each Sentinel in turn for the primary's address (`SENTINEL get-master-addr-by-name`);
    /// the first that knows it answers for all.
    private func primaryFromSentinels() throws(ConnectFailure) -> (host: String, port: Int) {
        var failures: [String] = []
        for sentinel in endpoint.sentinels {
            do throws(ConnectFailure) {
                let context = try connect(to: sentinel.host, sentinel.port)
                defer { redisFree(context) }
                let reply = try Self.ask(context, ["SENTINEL", "get-master-addr-by-name", endpoint.primaryName])
                guard case .array(let parts) = reply, parts.count == 2, let host = parts[0].string,
                    let port = parts[1].string.flatMap(Int.init)
                else { throw ConnectFailure(reason: "does not know \(endpoint.primaryName) (answered \(reply))") }
                return (host, port)
            } catch {
                failures.append("sentinel \(sentinel.host):\(sentinel.port): \(error.reason)")
            }
        }
        throw ConnectFailure(reason: "no Sentinel named the primary: " + failures.joined(separator: "; "))
    }

    private func lose(_ context: UnsafeMutablePointer<redisContext>, during step: String) -> RedisError {
        let reason = "\(connectedTo): \(step): \(Self.errorText(context))"
        lastError = reason
        dropContext()
        // Reconnect on the next command at once: a single dropped connection is common and cheap
        // to retry; a Redis that stays down then meets the backoff.
        nextAttempt = nil
        return .connectionLost(reason)
    }

    private func dropContext() {
        if let context { redisFree(context) }
        context = nil
    }

    private func scheduleReconnect() {
        let jitter = Double.random(in: 0.8...1.2)
        nextAttempt = ContinuousClock.now + currentDelay * jitter
        currentDelay = min(currentDelay * 2, endpoint.reconnectMaxDelay)
    }

    /// Hands the encoded commands to hiredis in one call, instead of one formatting call per command.
    private static func append(_ commands: RedisCommandBuffer, to context: UnsafeMutablePointer<redisContext>) -> Int32 {
        commands.bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { redisAppendFormattedCommand(context, $0.baseAddress, $0.count) }
        }
    }

    private static func convert(_ reply: UnsafeMutablePointer<redisReply>) -> RedisReply {
        let value = reply.pointee
        switch Int32(value.type) {
        case REDIS_REPLY_STRING:
            return .bulk(bytes(value.str, count: value.len))
        case REDIS_REPLY_STATUS:
            return .status(String(decoding: bytes(value.str, count: value.len), as: UTF8.self))
        case REDIS_REPLY_ERROR:
            return .error(String(decoding: bytes(value.str, count: value.len), as: UTF8.self))
        case REDIS_REPLY_INTEGER:
            return .integer(value.integer)
        case REDIS_REPLY_ARRAY:
            var items: [RedisReply] = []
            items.reserveCapacity(Int(value.elements))
            for index in 0..<Int(value.elements) {
                if let element = value.element[index] { items.append(convert(element)) }
            }
            return .array(items)
        default:
            return .null
        }
    }

    private static func bytes(_ pointer: UnsafeMutablePointer<CChar>?, count: Int) -> [UInt8] {
        guard let pointer, count > 0 else { return [] }
        return pointer.withMemoryRebound(to: UInt8.self, capacity: count) { Array(UnsafeBufferPointer(start: $0, count: count)) }
    }

    private static func errorText(_ context: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: context.pointee.errstr) { raw in
            let text = String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            return text.isEmpty ? "error \(context.pointee.err)" : text
        }
    }

    private static func timeval(_ duration: Duration) -> Glibc.timeval {
        let microseconds = duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000
        return Glibc.timeval(tv_sec: Int(microseconds / 1_000_000), tv_usec: Int(microseconds % 1_000_000))
    }
}

/// The connection inside ``RedisConnection/withSession(spinning:_:)``.
public struct RedisSession: Sendable {
    fileprivate let connection: RedisConnection

    /// Sends the commands in one write and reads their replies in order, blocking until then.
    public func pipeline(_ commands: RedisCommandBuffer) throws(RedisError) -> [RedisReply] {
        try connection.runPipeline(commands)
    }
}
