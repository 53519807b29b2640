import AsyncHTTPClient
import Foundation
import Logging
import ServiceKit
import ServiceLifecycle
import Synchronization
import SystemdNotify
import VaktConfig

/// The parent of every service: starts them in dependency order, routes their sd_notify
/// messages, reports its own readiness and status, and stops them in reverse order.
final class Supervisor: Sendable {
    let children: [String: ChildSupervisor]
    let order: [ServiceSettings]
    private let board = ReadinessBoard()
    private let processes = ProcessIndex()
    private let stateDirectory: StateDirectory
    private let metrics: SupervisorMetrics
    private let logger: Logger
    private let listener: NotifySocketListener
    private let readyTimeout: Duration
    private let heartbeat = Mutex(ContinuousClock.now)
    /// Services not started when supervising begins: a restored safety hold keeps them stopped.
    private let keptStopped = Mutex<Set<String>>([])
    private let statusTrigger: AsyncStream<Void>.Continuation
    private let statusTriggers: AsyncStream<Void>
    let statusUpdates: AsyncStream<String>
    private let statusContinuation: AsyncStream<String>.Continuation
    /// Yields whenever a child's state or readiness changes, for the health mesh.
    let childChanges: AsyncStream<Void>
    private let childChange: AsyncStream<Void>.Continuation

    init(context: ServiceContext, configurationPath: String) throws {
        let configuration = context.configuration
        logger = context.logger
        metrics = SupervisorMetrics(registry: context.metrics.registry)
        readyTimeout = configuration.supervisor.readyTimeout
        stateDirectory = try StateDirectory(path: configuration.supervisor.stateDirectory, logger: context.logger)
        listener = try NotifySocketListener.abstract(prefix: "vakt-supervisor")
        (statusTriggers, statusTrigger) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        (statusUpdates, statusContinuation) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingNewest(1))
        (childChanges, childChange) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        order = configuration.supervisedServices
        let executable = try configuration.supervisor.executable ?? Self.ownExecutable()
        let trigger = statusTrigger
        let childChange = self.childChange
        let environment = ChildSupervisor.Environment(
            board: board, processes: processes, stateDirectory: stateDirectory, metrics: metrics, httpClient: context.httpClient,
            epoch: .now,
            changed: {
                trigger.yield()
                childChange.yield()
            })
        var children: [String: ChildSupervisor] = [:]
        for settings in order {
            let plan = Self.launchPlan(
                settings, executable: executable, configurationPath: configurationPath, notifySocket: listener.address,
                host: configuration.http.host)
            children[settings.name] = ChildSupervisor(settings: settings, plan: plan, environment: environment, logger: context.logger)
        }
        self.children = children
    }

    /// Runs until graceful shutdown, then stops every child in reverse dependency order.
    func run() async {
        let leftovers = await stateDirectory.stopLeftovers(timeout: order.map(\.stopTimeout).max() ?? .seconds(10))
        if !leftovers.isEmpty {
            logger.warning("stopped children of a previous supervisor", metadata: ["children": "\(leftovers.joined(separator: ","))"])
        }
        logger.info(
            "supervising", metadata: ["children": "\(order.map(\.name).joined(separator: ","))", "notify_socket": "\(listener.address)"])
        await withTaskGroup(of: Void.self) { group in
            for child in children.values {
                // Each child's event loop outlives cancellation (the service group cancels once
                // its shutdown time is up): it must still take the shutdown and stop its process.
                group.addTask { await Task { await child.run() }.value }
            }
            group.addTask { await self.routeNotifications() }
            group.addTask { await self.publishStatus() }
            group.addTask { await self.beat() }
            // A stop requested during the clean-up of leftovers starts nothing.
            if !Task.isShuttingDownGracefully {
                let held = keptStopped.withLock { $0 }
                for settings in order {
                    if held.contains(settings.name) {
                        logger.warning("not started: held stopped by the supervisor's safety hold", metadata: ["child": "\(settings.name)"])
                        continue
                    }
                    children[settings.name]?.send(.command(.start, nil))
                }
            }
            try? await gracefulShutdown()
            await stopAll()
            listener.stop()
            statusTrigger.finish()
            statusContinuation.finish()
            childChange.finish()
            group.cancelAll()
        }
        logger.info("all children stopped")
    }

    /// Where the safety driver records a hold, beside the record of running children.
    var safetyHoldPath: String { stateDirectory.safetyHoldPath }

    /// Keeps `name` stopped when supervising begins; call before ``run()``.
    func keepStoppedAtStart(_ name: String) {
        keptStopped.withLock { _ = $0.insert(name) }
    }

    /// Whether the supervisor's own loops answer: the watchdog is pinged only then.
    func isMakingProgress(within limit: Duration) -> Bool {
        ContinuousClock.now - heartbeat.withLock { $0 } < limit
    }

    /// Waits for every critical child (up to the ready timeout) and says how things stand.
    func readiness() async -> String {
        let critical = Set(order.filter(\.critical).map(\.name))
        let board = self.board
        let ready = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await board.waitUntilReady(critical)
                return true
            }
            group.addTask { [readyTimeout] in
                try? await Task.sleep(for: readyTimeout)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
        let line = await statusLine()
        if ready { return line }
        let missing = critical.subtracting(board.readyNames()).sorted()
        logger.error("critical children not ready within the ready timeout", metadata: ["not_ready": "\(missing.joined(separator: ","))"])
        return "\(line); not ready after \(readyTimeout.milliseconds / 1000)s: \(missing.joined(separator: ", "))"
    }

    func snapshots() async -> [ChildSnapshot] {
        var result: [ChildSnapshot] = []
        for settings in order {
            if let child = children[settings.name] { result.append(await child.snapshot()) }
        }
        return result
    }

    /// `"9/9 ready, 0 failed"`: the one-line STATUS= systemd shows.
    func statusLine() async -> String {
        Self.statusLine(await snapshots())
    }

    static func statusLine(_ snapshots: [ChildSnapshot]) -> String {
        let ready = snapshots.filter(\.ready).count
        let failed = snapshots.filter { $0.state == .failed }.count
        return "\(ready)/\(snapshots.count) ready, \(failed) failed"
    }

    /// Applies an operator's command and returns the child's state afterwards.
    func perform(_ command: ChildSupervisor.Command, on name: String) async -> ChildSnapshot? {
        guard let child = children[name] else { return nil }
        return await withCheckedContinuation { continuation in
            child.send(.command(command, continuation))
        }
    }

    // MARK: - Loops

    /// How long a datagram from a sender not (yet) known is held before it is rejected: the
    /// spawner registers each pid as fork returns, but a datagram can still overtake that.
    static let unattributedGrace: Duration = .seconds(1)

    private func routeNotifications() async {
        var held: [(datagram: NotifySocketListener.Datagram, since: ContinuousClock.Instant)] = []
        let (datagrams, revisit) = listener.datagramsWithRevisits(after: .milliseconds(50))
        for await datagram in datagrams {
            if let datagram, !deliver(datagram) {
                // Bounded: a flood from strangers cannot grow this without limit.
                if held.count >= 256 { reject(held.removeFirst().datagram) }
                held.append((datagram, .now))
            }
            held.removeAll { deliver($0.datagram) }
            let now = ContinuousClock.now
            for expired in held where now - expired.since >= Self.unattributedGrace { reject(expired.datagram) }
            held.removeAll { now - $0.since >= Self.unattributedGrace }
            if !held.isEmpty { revisit() }
        }
    }

    private func reject(_ datagram: NotifySocketListener.Datagram) {
        metrics.notifyRejected(reason: "unknown_sender")
        logger.warning("notify message from an unknown sender ignored", metadata: ["sender_pid": "\(datagram.senderPID)"])
    }

    /// Hands a datagram to the child that sent it; false when no child claims the sender.
    private func deliver(_ datagram: NotifySocketListener.Datagram) -> Bool {
        guard let name = processes.owner(pid: datagram.senderPID, processGroup: datagram.senderProcessGroup), let child = children[name]
        else { return false }
        switch datagram.message {
        case .failure(let error):
            metrics.notifyRejected(reason: "malformed")
            logger.warning("malformed notify message ignored", metadata: ["child": "\(name)", "error": "\(error)"])
        case .success(let message):
            child.send(.notify(message.assignments))
        }
        return true
    }

    private func publishStatus() async {
        var last = ""
        for await _ in statusTriggers {
            let line = await statusLine()
            if line != last {
                last = line
                statusContinuation.yield(line)
            }
        }
    }

    /// A round trip through every child's actor each second; if one is wedged, the heartbeat stops.
    private func beat() async {
        while !Task.isCancelled {
            _ = await snapshots()
            heartbeat.withLock { $0 = .now }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    private func stopAll() async {
        logger.info("stopping children in reverse dependency order")
        for level in StartOrder.stopLevels(order) {
            await withTaskGroup(of: Void.self) { group in
                for name in level {
                    guard let child = children[name] else { continue }
                    group.addTask {
                        await withCheckedContinuation { continuation in child.send(.shutdown(continuation)) }
                    }
                }
            }
        }
    }

    // MARK: - Launch

    static func launchPlan(
        _ settings: ServiceSettings, executable: String, configurationPath: String, notifySocket: String, host: String
    ) -> ChildSupervisor.LaunchPlan {
        var environment = ProcessInfo.processInfo.environment
        // What systemd meant for the supervisor alone.
        for key in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "MAINPID"] {
            environment.removeValue(forKey: key)
        }
        environment.merge(settings.environment) { _, configured in configured }
        environment["NOTIFY_SOCKET"] = notifySocket
        let command = settings.command ?? [executable, settings.name, "--config", configurationPath]
        return ChildSupervisor.LaunchPlan(
            executable: command[0], arguments: Array(command.dropFirst()), environment: environment,
            workingDirectory: settings.workingDirectory, healthURL: settings.port.map { "http://\(host):\($0)/health" })
    }

    struct ExecutableError: Error, CustomStringConvertible {
        var description: String { "cannot resolve /proc/self/exe; set supervisor.executable" }
    }

    static func ownExecutable() throws -> String {
        guard let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else { throw ExecutableError() }
        return path
    }
}
