import AsyncHTTPClient
import Foundation
import Logging
import SystemdNotify
import VaktConfig

#if canImport(Glibc)
    import Glibc
#endif

/// Keeps one child running by its settings: waits for its dependencies, starts it, tracks
/// readiness and the watchdog over sd_notify, kills it on a missed deadline, and restarts it
/// with backoff within its restart intensity.
///
/// Every change goes through one event stream (exits, notify messages, deadlines, commands),
/// handled in order on this actor; a deadline or exit from an earlier run carries that run's
/// generation and is ignored once a newer run exists.
actor ChildSupervisor {
    enum Command: Sendable, Equatable {
        case start, stop, restart
        /// The health mesh saw `restart_after_failed_probes` failed probes in a row: stop the
        /// child as a failure, so that the restart policy, backoff and intensity apply.
        case livenessFailed(detail: String)
    }

    /// The three deadlines a run can have. Each holds at most one instant: moving it (a watchdog
    /// ping, `EXTEND_TIMEOUT_USEC`) replaces the instant, and a timer that fires for an instant
    /// no longer current is ignored.
    enum DeadlineKind: Sendable, Hashable {
        case start
        case watchdog
        case kill
    }

    enum Event: Sendable {
        case dependenciesReady(generation: Int)
        case spawned(generation: Int, Result<ChildProcess, any Error>)
        case exited(generation: Int, ExitStatus)
        case notify([NotifyMessage.Assignment])
        case httpReady(generation: Int)
        case deadline(generation: Int, DeadlineKind)
        case backoffElapsed(generation: Int)
        case command(Command, CheckedContinuation<ChildSnapshot, Never>?)
        case shutdown(CheckedContinuation<Void, Never>)
    }

    /// How to start the child, fixed at configuration time.
    struct LaunchPlan: Sendable {
        var executable: String
        var arguments: [String]
        var environment: [String: String]
        var workingDirectory: String?
        var healthURL: String?
    }

    let settings: ServiceSettings
    private let plan: LaunchPlan
    private let environment: Environment
    private let logger: Logger
    private let events: AsyncStream<Event>.Continuation
    private let stream: AsyncStream<Event>

    private var state = ChildState.stopped
    private var wanted = false
    private var shuttingDown = false
    private var generation = 0
    private var process: ChildProcess?
    private var startedAt: ContinuousClock.Instant?
    private var ready = false
    private var restartCount = 0
    private var lastExit: ExitReason?
    private var statusText: String?
    private var lastErrno: Int32?
    private var tracker: RestartTracker
    private var watchdogInterval: Duration?
    private var deadlines: [DeadlineKind: ContinuousClock.Instant] = [:]
    private var pendingKillReason: ((ExitStatus) -> ExitReason)?
    private var restartAfterStop = false
    private var exitWaiters: [CheckedContinuation<ChildSnapshot, Never>] = []
    private var shutdownWaiters: [CheckedContinuation<Void, Never>] = []
    /// A spawn is on the spawner thread and its process not yet known: shutdown must wait
    /// for it, or the process would start after the supervisor stopped looking.
    private var spawning = false

    /// What every child shares with the supervisor.
    struct Environment: Sendable {
        var board: ReadinessBoard
        var processes: ProcessIndex
        var stateDirectory: StateDirectory
        var metrics: SupervisorMetrics
        var httpClient: HTTPClient
        var epoch: ContinuousClock.Instant
        var changed: @Sendable () -> Void
    }

    init(settings: ServiceSettings, plan: LaunchPlan, environment: Environment, logger: Logger) {
        self.settings = settings
        self.plan = plan
        self.environment = environment
        var logger = logger
        logger[metadataKey: "child"] = "\(settings.name)"
        self.logger = logger
        self.tracker = RestartTracker(settings: settings)
        self.watchdogInterval = settings.watchdog
        (stream, events) = AsyncStream.makeStream(of: Event.self)
    }

    nonisolated func send(_ event: Event) {
        events.yield(event)
    }

    /// Handles events until the supervisor's shutdown has stopped the child.
    func run() async {
        for await event in stream {
            handle(event)
            if shuttingDown && process == nil && !spawning {
                finishShutdown()
                break
            }
        }
    }

    func snapshot() -> ChildSnapshot {
        ChildSnapshot(
            name: settings.name, state: state, ready: ready, critical: settings.critical, pid: process?.pid,
            uptimeSeconds: process.map { (ContinuousClock.now - $0.startedAt).seconds }, restarts: restartCount,
            lastExit: lastExit?.status.description, lastExitReason: lastExit?.label, status: statusText,
            readiness: settings.readiness.rawValue, lastErrno: lastErrno)
    }

    // MARK: - Events

    private func handle(_ event: Event) {
        switch event {
        case .dependenciesReady(let runGeneration):
            guard runGeneration == generation, state == .waiting, wanted, !shuttingDown else { return }
            spawn()
        case .spawned(let runGeneration, let result):
            guard runGeneration == generation else {
                if case .success(let stale) = result { stale.signalGroup(SIGKILL) }
                return
            }
            spawning = false
            spawned(result)
            if shuttingDown && process != nil { requestStop() }
        case .exited(let runGeneration, let status):
            guard runGeneration == generation, process != nil else { return }
            exited(status)
        case .notify(let assignments):
            guard process != nil else { return }
            for assignment in assignments { apply(assignment) }
        case .httpReady(let runGeneration):
            guard runGeneration == generation, state == .starting else { return }
            becameReady()
        case .deadline(let runGeneration, let kind):
            guard runGeneration == generation, process != nil, let due = deadlines[kind], ContinuousClock.now >= due else { return }
            deadlines[kind] = nil
            deadlinePassed(kind)
        case .backoffElapsed(let runGeneration):
            guard runGeneration == generation, state == .backoff, wanted, !shuttingDown else { return }
            waitForDependencies()
        case .command(let command, let reply):
            perform(command, reply: reply)
        case .shutdown(let continuation):
            shuttingDown = true
            wanted = false
            shutdownWaiters.append(continuation)
            if process != nil {
                requestStop()
            } else if !spawning {
                generation += 1
                setState(.stopped)
            }
        }
    }

    private func perform(_ command: Command, reply: CheckedContinuation<ChildSnapshot, Never>?) {
        guard !shuttingDown else {
            reply?.resume(returning: snapshot())
            return
        }
        switch command {
        case .start:
            wanted = true
            if [.stopped, .exited, .failed].contains(state) {
                tracker.reset()
                waitForDependencies()
            }
            reply?.resume(returning: snapshot())
        case .stop:
            wanted = false
            if process != nil {
                if let reply { exitWaiters.append(reply) }
                requestStop()
            } else {
                generation += 1
                setState(.stopped)
                reply?.resume(returning: snapshot())
            }
        case .livenessFailed(let detail):
            if process != nil && state == .running {
                logger.error("child failed its liveness probes; stopping it for a restart", metadata: ["detail": "\(detail)"])
                environment.metrics.livenessFailed(settings.name)
                pendingKillReason = ExitReason.liveness
                requestStop()
            }
            reply?.resume(returning: snapshot())
        case .restart:
            wanted = true
            if process != nil {
                restartAfterStop = true
                if let reply { exitWaiters.append(reply) }
                requestStop()
            } else {
                tracker.reset()
                waitForDependencies()
                reply?.resume(returning: snapshot())
            }
        }
    }

    private func waitForDependencies() {
        generation += 1
        setState(.waiting)
        let runGeneration = generation
        let dependencies = Set(settings.dependsOn)
        let board = environment.board
        if dependencies.isSubset(of: board.readyNames()) {
            spawn()
            return
        }
        let events = self.events
        Task {
            await board.waitUntilReady(dependencies)
            events.yield(.dependenciesReady(generation: runGeneration))
        }
    }

    private func spawn() {
        setState(.starting)
        spawning = true
        let runGeneration = generation
        let plan = self.plan
        let settings = self.settings
        let logger = self.logger
        let events = self.events
        var environment = plan.environment
        if let watchdogInterval {
            environment["WATCHDOG_USEC"] = String(watchdogInterval.microseconds)
        }
        let request = { (stdout: Int32, stderr: Int32) in
            Spawner.Request(
                executable: plan.executable, arguments: plan.arguments, environment: environment,
                workingDirectory: plan.workingDirectory, setWatchdogPID: settings.watchdog != nil, stdoutFD: stdout, stderrFD: stderr)
        }
        let processes = self.environment.processes
        Task {
            do {
                let logFile = try settings.logFile.map { try RotatingLogFile(settings: $0) }
                let child = try await ChildProcess.start(
                    name: settings.name, request: request, logFile: logFile, logger: logger,
                    registered: { pid in processes.register(pid: pid, name: settings.name) })
                events.yield(.spawned(generation: runGeneration, .success(child)))
            } catch {
                events.yield(.spawned(generation: runGeneration, .failure(error)))
            }
        }
    }

    private func spawned(_ result: Result<ChildProcess, any Error>) {
        switch result {
        case .failure(let error):
            logger.error("cannot start child", metadata: ["error": "\(error)"])
            // A program that cannot start is an exit like any other, so the backoff and the
            // restart intensity apply: a missing binary is not retried in a tight loop.
            startedAt = .now
            decideAfterExit(.exited(.exited(code: 127)), ranFor: .zero)
        case .success(let child):
            process = child
            startedAt = child.startedAt
            ready = false
            environment.stateDirectory.record(name: settings.name, pid: child.pid)
            environment.metrics.started(settings.name)
            logger.info("child started", metadata: ["pid": "\(child.pid)", "command": "\(plan.executable)"])
            let runGeneration = generation
            let events = self.events
            Task {
                let status = await child.waitForExit()
                events.yield(.exited(generation: runGeneration, status))
            }
            schedule(.start, after: settings.startTimeout)
            switch settings.readiness {
            case .none: becameReady()
            case .http: pollHealth(generation: runGeneration)
            case .notify: break
            }
        }
    }

    private func apply(_ assignment: NotifyMessage.Assignment) {
        environment.metrics.notifyReceived(assignment.kind)
        switch assignment {
        case .ready:
            if settings.readiness == .notify && (state == .starting || !ready) && state != .stopping { becameReady() }
        case .status(let text):
            statusText = text
            environment.changed()
        case .watchdogPing:
            armWatchdog()
        case .watchdogTrigger:
            logger.warning("child asked for its watchdog to fire (WATCHDOG=trigger)")
            killForWatchdog()
        case .watchdogInterval(let microseconds):
            watchdogInterval = .microseconds(Int64(clamping: microseconds))
            armWatchdog()
        case .stopping:
            if state != .stopping { setState(.stopping) }
            setReady(false)
        case .reloading:
            setReady(false)
        case .mainPID(let pid):
            environment.processes.register(pid: pid, name: settings.name)
        case .extendTimeout(let microseconds):
            extendDeadlines(by: .microseconds(Int64(clamping: microseconds)))
        case .errno(let code):
            lastErrno = code
        case .barrier, .other:
            break
        }
    }

    private func becameReady() {
        deadlines[.start] = nil
        setState(.running)
        setReady(true)
        if let startedAt {
            environment.metrics.startDuration(settings.name, ContinuousClock.now - startedAt)
        }
        logger.info("child ready", metadata: ["pid": "\(process?.pid ?? 0)"])
        armWatchdog()
    }

    private func armWatchdog() {
        guard let interval = watchdogInterval, process != nil, state == .running || state == .starting else { return }
        schedule(.watchdog, after: interval)
    }

    /// `EXTEND_TIMEOUT_USEC`, as systemd reads it: the deadline of the current phase (start while
    /// starting, the kill while stopping) and the watchdog's move to now + `extra` when that is
    /// later; a child that keeps extending keeps its phase alive, one that stops is held to the
    /// last extension. A deadline is never brought forward.
    private func extendDeadlines(by extra: Duration) {
        let until = ContinuousClock.now + extra
        var extended: [DeadlineKind] = [.watchdog]
        if state == .starting { extended.append(.start) }
        if state == .stopping && pendingKillReason != nil { extended.append(.kill) }
        for kind in extended {
            guard let due = deadlines[kind], due < until else { continue }
            schedule(kind, at: until)
            logger.info("child extended its deadline", metadata: ["deadline": "\(kind)", "extended_ms": "\(extra.milliseconds)"])
        }
    }

    private func deadlinePassed(_ kind: DeadlineKind) {
        switch kind {
        case .start:
            guard state == .starting else { return }
            logger.error(
                "child not ready within its start timeout; stopping it", metadata: ["timeout_ms": "\(settings.startTimeout.milliseconds)"])
            pendingKillReason = ExitReason.startTimeout
            signal(SIGTERM)
            schedule(.kill, after: settings.stopTimeout)
            setState(.stopping)
        case .watchdog:
            guard state == .running || state == .starting else { return }
            environment.metrics.watchdogMissed(settings.name)
            logger.error(
                "child missed its watchdog deadline; aborting it", metadata: ["interval_ms": "\((watchdogInterval ?? .zero).milliseconds)"])
            killForWatchdog()
        case .kill:
            logger.warning("child still running after its stop timeout; killing its process group")
            signal(SIGKILL)
        }
    }

    /// SIGABRT (so the child can dump core), then SIGKILL after the stop timeout.
    private func killForWatchdog() {
        pendingKillReason = ExitReason.watchdog
        signal(SIGABRT)
        schedule(.kill, after: settings.stopTimeout)
        setState(.stopping)
        setReady(false)
    }

    /// SIGTERM to the process group, SIGKILL after the stop timeout.
    private func requestStop() {
        if pendingKillReason == nil { pendingKillReason = ExitReason.stopped }
        setReady(false)
        setState(.stopping)
        signal(SIGTERM)
        schedule(.kill, after: settings.stopTimeout)
    }

    private func exited(_ status: ExitStatus) {
        guard let child = process else { return }
        let reason = pendingKillReason?(status) ?? .exited(status)
        let ranFor = ContinuousClock.now - child.startedAt
        process = nil
        pendingKillReason = nil
        deadlines = [:]
        // The whole group goes: a grandchild must not outlive the child it belongs to.
        kill(-child.pid, SIGKILL)
        environment.processes.unregister(name: settings.name)
        environment.stateDirectory.forget(name: settings.name)
        setReady(false)
        lastExit = reason
        environment.metrics.exited(settings.name, reason: reason.label)
        let metadata: Logger.Metadata = ["pid": "\(child.pid)", "exit": "\(reason)", "ran_ms": "\(ranFor.milliseconds)"]
        if case .stopped = reason {
            logger.info("child stopped", metadata: metadata)
        } else {
            logger.warning("child exited", metadata: metadata)
        }

        let replies = exitWaiters
        exitWaiters = []
        if shuttingDown {
            setState(.stopped)
        } else if restartAfterStop {
            restartAfterStop = false
            tracker.reset()
            waitForDependencies()
        } else if !wanted {
            generation += 1
            setState(.stopped)
        } else {
            decideAfterExit(reason, ranFor: ranFor)
        }
        for reply in replies { reply.resume(returning: snapshot()) }
    }

    private func decideAfterExit(_ reason: ExitReason, ranFor: Duration) {
        let now = ContinuousClock.now - environment.epoch
        switch tracker.decide(after: reason, ranFor: ranFor, now: now, jitterSample: Double.random(in: -1...1)) {
        case .restart(let delay):
            restartCount += 1
            environment.metrics.restarted(settings.name, reason: reason.label)
            logger.notice("restarting child after backoff", metadata: ["delay_ms": "\(delay.milliseconds)", "restarts": "\(restartCount)"])
            if delay <= .zero {
                waitForDependencies()
                return
            }
            generation += 1
            setState(.backoff)
            let runGeneration = generation
            let events = self.events
            Task {
                try? await Task.sleep(for: delay)
                events.yield(.backoffElapsed(generation: runGeneration))
            }
        case .stayDown:
            generation += 1
            setState(.exited)
            logger.notice("child stays down by its restart policy", metadata: ["restart": "\(settings.restart.rawValue)"])
        case .giveUp(let why):
            generation += 1
            setState(.failed)
            environment.metrics.failed(settings.name)
            logger.critical(
                "child failed: restart intensity exceeded; it stays down until started by an operator",
                metadata: ["reason": "\(why)", "critical": "\(settings.critical)"])
        }
    }

    private func finishShutdown() {
        for waiter in shutdownWaiters { waiter.resume() }
        shutdownWaiters = []
        events.finish()
    }

    // MARK: - Helpers

    /// Signals the child's process group. SIGCONT follows any signal but SIGKILL, as systemd sends
    /// it: a stopped (SIGSTOP, SIGTSTP) child would otherwise hold the signal pending and never
    /// act on it, so a frozen service would wait out the whole stop timeout.
    private func signal(_ signal: Int32) {
        process?.signalGroup(signal)
        if signal != SIGKILL { process?.signalGroup(SIGCONT) }
    }

    private func schedule(_ kind: DeadlineKind, after delay: Duration) {
        schedule(kind, at: .now + delay)
    }

    /// Sets `kind`'s deadline to `instant`, replacing the one it had.
    private func schedule(_ kind: DeadlineKind, at instant: ContinuousClock.Instant) {
        deadlines[kind] = instant
        let runGeneration = generation
        let events = self.events
        Task {
            try? await Task.sleep(until: instant, clock: .continuous)
            events.yield(.deadline(generation: runGeneration, kind))
        }
    }

    private func pollHealth(generation runGeneration: Int) {
        guard let url = plan.healthURL else { return }
        let client = environment.httpClient
        let events = self.events
        Task {
            while true {
                if let response = try? await client.execute(HTTPClientRequest(url: url), timeout: .seconds(1)) {
                    _ = try? await response.body.collect(upTo: 1 << 20)
                    if response.status == .ok {
                        events.yield(.httpReady(generation: runGeneration))
                        return
                    }
                }
                guard self.isCurrent(runGeneration) else { return }
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    private func isCurrent(_ runGeneration: Int) -> Bool {
        runGeneration == generation && state == .starting
    }

    private func setState(_ newState: ChildState) {
        guard state != newState else { return }
        state = newState
        environment.metrics.state(settings.name, newState)
        environment.changed()
    }

    private func setReady(_ isReady: Bool) {
        guard ready != isReady else { return }
        ready = isReady
        environment.metrics.up(settings.name, isReady)
        environment.board.set(settings.name, ready: isReady)
        environment.changed()
    }
}
