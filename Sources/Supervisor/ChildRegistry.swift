import Logging
import SystemdNotify
import VaktConfig

/// Which pid is which child, and what each child last said over sd_notify.
actor ChildRegistry {
    private let logger: Logger
    private let metrics: SupervisorMetrics
    private var kindByPID: [Int32: ServiceKind] = [:]
    private var ready: Set<ServiceKind> = []

    init(logger: Logger, metrics: SupervisorMetrics) {
        self.logger = logger
        self.metrics = metrics
    }

    func started(_ kind: ServiceKind, pid: Int32) {
        kindByPID[pid] = kind
        ready.remove(kind)
        metrics.setUp(kind, false)
        logger.info("child started", metadata: ["child": "\(kind.rawValue)", "pid": "\(pid)"])
    }

    func exited(_ kind: ServiceKind, pid: Int32, status: ExitStatus, duringShutdown: Bool) {
        kindByPID[pid] = nil
        ready.remove(kind)
        metrics.setUp(kind, false)
        let metadata: Logger.Metadata = ["child": "\(kind.rawValue)", "pid": "\(pid)", "exit": "\(status)"]
        if duringShutdown {
            logger.info("child stopped", metadata: metadata)
        } else {
            metrics.restarted(kind)
            logger.warning("child exited; restarting", metadata: metadata)
        }
    }

    /// Attributes a datagram to a child by the sender's pid; anything else is counted and dropped.
    func receive(_ datagram: NotifySocketListener.Datagram) {
        guard let kind = kindByPID[datagram.senderPID] else {
            metrics.rejected(reason: "unknown_sender")
            logger.warning("notify message from an unknown sender ignored", metadata: ["sender_pid": "\(datagram.senderPID)"])
            return
        }
        switch datagram.message {
        case .failure(let error):
            metrics.rejected(reason: "malformed")
            logger.warning("malformed notify message", metadata: ["child": "\(kind.rawValue)", "error": "\(error)"])
        case .success(let message):
            for assignment in message.assignments {
                metrics.received(assignment.kind)
                switch assignment {
                case .ready:
                    ready.insert(kind)
                    metrics.setUp(kind, true)
                    logger.info("child ready", metadata: ["child": "\(kind.rawValue)"])
                case .status(let text):
                    logger.info("child status", metadata: ["child": "\(kind.rawValue)", "status": "\(text)"])
                default:
                    break
                }
            }
        }
    }
}
