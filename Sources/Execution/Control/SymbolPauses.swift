import Foundation
import Logging
import ServiceKit
import Synchronization

/// The paused symbols as the pre-trade checks read them: loaded from ``PauseStore`` before the
/// first signal is traded, then changed one request at a time, the table first, so that a
/// pause and a resume sent together never leave the copy here different from the table.
final class SymbolPauses: Sendable {
    enum Change: Sendable {
        case pause(SymbolPause)
        case resume(symbol: String)
    }

    enum Outcome: Sendable, Equatable {
        case paused(SymbolPause)
        /// Paused before, by this pause.
        case alreadyPaused(SymbolPause)
        /// The pause it lifted.
        case resumed(SymbolPause)
        case notPaused
    }

    /// Why a change was not made: nothing changed.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    private struct State {
        /// nil until the table is read.
        var pauses: [String: SymbolPause]?
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private typealias Request = (change: Change, reply: CheckedContinuation<Result<Outcome, Failure>, Never>)

    private let store: PauseStore
    private let logger: Logger
    private let state = Mutex(State())
    private let requests: AsyncStream<Request>
    private let continuation: AsyncStream<Request>.Continuation

    init(store: PauseStore, logger: Logger) {
        self.store = store
        self.logger = logger
        (requests, continuation) = AsyncStream.makeStream(of: Request.self)
    }

    /// The pauses in force (none known before the table is read).
    var current: [String: SymbolPause] { state.withLock { $0.pauses ?? [:] } }

    var isLoaded: Bool { state.withLock { $0.pauses != nil } }

    /// Reads the table (retrying while PostgreSQL is away), then makes the changes asked, in
    /// order, until shutdown.
    func run() async {
        defer { release() }
        var delay = Duration.milliseconds(500)
        while !Task.isCancelled {
            do {
                let loaded = try await store.all()
                state.withLock { $0.pauses = Dictionary(loaded.map { ($0.symbol, $0) }, uniquingKeysWith: { $1 }) }
                if !loaded.isEmpty {
                    logger.notice("symbols paused by operators", metadata: ["symbols": "\(loaded.map(\.symbol).joined(separator: ","))"])
                }
                break
            } catch {
                logger.warning("could not read the paused symbols; retrying", metadata: ["error": "\(PostgresErrorText.describe(error))"])
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(10))
            }
        }
        release()
        for await request in requests {
            request.reply.resume(returning: await apply(request.change))
        }
    }

    /// Returns once the table is read (or at shutdown).
    func waitUntilLoaded() async {
        await withCheckedContinuation { waiter in
            let now = state.withLock { state in
                guard state.pauses == nil else { return true }
                state.waiters.append(waiter)
                return false
            }
            if now { waiter.resume() }
        }
    }

    /// Makes `change` after those asked before it.
    func change(_ change: Change) async -> Result<Outcome, Failure> {
        guard isLoaded else {
            return .failure(Failure(description: "the paused symbols are not read from PostgreSQL yet; nothing changed, try again"))
        }
        return await withCheckedContinuation { reply in
            if case .terminated = continuation.yield((change, reply)) {
                reply.resume(returning: .failure(Failure(description: "execution is shutting down; nothing changed")))
            }
        }
    }

    private func apply(_ change: Change) async -> Result<Outcome, Failure> {
        do {
            switch change {
            case .pause(let pause):
                guard try await store.insert(pause) else {
                    let existing = current[pause.symbol] ?? pause
                    return .success(.alreadyPaused(existing))
                }
                state.withLock { $0.pauses?[pause.symbol] = pause }
                logger.notice(
                    "symbol paused",
                    metadata: ["symbol": "\(pause.symbol)", "reason": "\(pause.reason)", "requester": "\(pause.requester)"])
                return .success(.paused(pause))
            case .resume(let symbol):
                guard let lifted = try await store.delete(symbol) else { return .success(.notPaused) }
                state.withLock { $0.pauses?[symbol] = nil }
                logger.notice("symbol resumed", metadata: ["symbol": "\(symbol)"])
                return .success(.resumed(lifted))
            }
        } catch {
            return .failure(
                Failure(description: "the paused symbols could not be written: \(PostgresErrorText.describe(error)); nothing changed"))
        }
    }

    private func release() {
        let waiters = state.withLock { state in
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}
