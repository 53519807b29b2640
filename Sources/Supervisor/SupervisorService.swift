// Supervisor: the Monitoring & Health service (8005) and parent of every other service. It
// starts each enabled service as a child process, hands it a NOTIFY_SOCKET it owns, forwards
// its output, reaps and classifies each exit, and restarts what stopped.

import Foundation
import Logging
import ServiceKit
import ServiceLifecycle
import SystemdNotify
import VaktConfig

/// `vakt supervisor`: runs the enabled services as children.
public struct SupervisorService: VaktService {
    public let kind = ServiceKind.supervisor
    let configurationPath: String

    /// - Parameter configurationPath: the file children are started with, so that the whole
    ///   system runs from the one file the supervisor was given.
    public init(configurationPath: String) {
        self.configurationPath = configurationPath
    }

    public func backgroundServices(context: ServiceContext) -> [any ServiceLifecycle.Service] {
        [ChildSupervision(context: context, configurationPath: configurationPath)]
    }
}

/// Keeps every enabled service running until graceful shutdown, then stops them all.
struct ChildSupervision: ServiceLifecycle.Service {
    let context: ServiceContext
    let configurationPath: String

    func run() async throws {
        let listener = try NotifySocketListener.abstract(prefix: "vakt-supervisor")
        defer { listener.stop() }
        let registry = ChildRegistry(logger: context.logger, metrics: SupervisorMetrics(registry: context.metrics.registry))
        let children = ServiceKind.allCases.filter { $0 != .supervisor && context.configuration.service($0).enabled }
        let executable = try context.configuration.supervisor.executable ?? Self.ownExecutable()
        context.logger.info(
            "supervising",
            metadata: ["children": "\(children.map(\.rawValue).joined(separator: ","))", "notify_socket": "\(listener.address)"])

        if children.isEmpty {
            context.logger.notice("no service is enabled; supervising nothing until shutdown")
            try? await gracefulShutdown()
            return
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await datagram in listener.datagrams { await registry.receive(datagram) }
            }
            for kind in children {
                group.addTask {
                    await supervise(kind, executable: executable, notifySocket: listener.address, registry: registry)
                }
            }
            // The listener's loop ends only when the socket closes; the children's loops end at shutdown.
            for _ in children { await group.next() }
            group.cancelAll()
        }
        context.logger.info("all children stopped")
    }

    private func supervise(_ kind: ServiceKind, executable: String, notifySocket: String, registry: ChildRegistry) async {
        let settings = context.configuration.service(kind)
        let restartDelay = context.configuration.supervisor.restartDelay
        while !Task.isShuttingDownGracefully {
            let child: ChildProcess
            do {
                child = try ChildProcess(
                    name: kind.rawValue, executable: executable, arguments: [kind.rawValue, "--config", configurationPath],
                    environment: Self.childEnvironment(notifySocket: notifySocket), logger: context.logger)
            } catch {
                context.logger.error("cannot start child", metadata: ["child": "\(kind.rawValue)", "error": "\(error)"])
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: restartDelay) }
                continue
            }
            await registry.started(kind, pid: child.pid)
            let status = await withGracefulShutdownHandler {
                await child.waitForExit()
            } onGracefulShutdown: {
                Self.stop(child, timeout: settings.shutdownTimeout, logger: context.logger)
            }
            await registry.exited(kind, pid: child.pid, status: status, duringShutdown: Task.isShuttingDownGracefully)
            if Task.isShuttingDownGracefully { break }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: restartDelay) }
        }
    }

    /// SIGTERM to the child's process group, SIGKILL to it after `timeout` if it is still there.
    private static func stop(_ child: ChildProcess, timeout: Duration, logger: Logger) {
        child.signalGroup(SIGTERM)
        Task {
            try? await Task.sleep(for: timeout)
            if kill(child.pid, 0) == 0 {
                logger.warning("child ignored SIGTERM; killing its process group", metadata: ["child": "\(child.name)"])
                child.signalGroup(SIGKILL)
            }
        }
    }

    /// The supervisor's environment minus what systemd meant for the supervisor alone.
    static func childEnvironment(notifySocket: String) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        for key in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"] {
            environment.removeValue(forKey: key)
        }
        environment["NOTIFY_SOCKET"] = notifySocket
        return environment
    }

    struct ExecutableError: Error, CustomStringConvertible {
        var description: String { "cannot resolve /proc/self/exe; set supervisor.executable" }
    }

    static func ownExecutable() throws -> String {
        guard let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else { throw ExecutableError() }
        return path
    }
}
