import Binance
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The host's ``RequestBudget`` in a file every process that calls the exchange opens: each
/// reservation locks the file (`flock`), reads the budget, decides, writes it back. Binance's
/// limits are per IP, so execution, market data and the AI engine reserve from one budget and
/// together never exceed it. Hosts behind one public IP share a budget in Redis instead, and
/// each falls back to its file, at its share of every limit, while Redis cannot be reached.
///
/// The lock is only ever tried without blocking (`LOCK_NB`); while another process holds it
/// (for the microseconds of a read and a write) the caller sleeps briefly and tries again, so
/// no thread of the concurrency pool waits in the kernel. Within the process a mutex orders
/// callers, since `flock` does not exclude two users of one descriptor.
public final class SharedRequestBudget: RequestBudgetStore {
    public let path: String
    private let descriptor: Int32
    /// The limits from `exchangeInfo`, once read; until then the file's own (or none: only
    /// pauses and bans hold).
    private let local: Mutex<[RateLimit]?>
    private let guardTime: Int64
    /// The part of each limit this file's budget may use (1: all of it).
    private let share: Double

    public struct OpenError: Error, CustomStringConvertible {
        public var path: String
        public var reason: String
        public var description: String { "request budget file \(path): \(reason)" }
    }

    /// Opens (creating it, mode 0600) the budget file at `path`.
    /// - Parameters:
    ///   - guardTime: how long after a window begins by this host's reckoning its budget is
    ///     used (ms of the exchange's clock): the server's clock may be behind.
    ///   - share: the part of each limit this budget may use, when others use the rest.
    public init(path: String, guardTime: Int64 = 100, share: Double = 1) throws {
        self.path = path
        try? FileManager.default.createDirectory(
            at: URL(fileURLWithPath: path).deletingLastPathComponent(), withIntermediateDirectories: true)
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw OpenError(path: path, reason: String(cString: strerror(errno))) }
        self.descriptor = descriptor
        local = Mutex(nil)
        self.guardTime = guardTime
        self.share = share
    }

    deinit { close(descriptor) }

    public func adopt(_ limits: [RateLimit]) {
        local.withLock { $0 = share < 1 ? limits.map { $0.sharing(share) } : limits }
    }

    /// Runs `body` once on the budget with the file locked, and stores what it leaves.
    public func update<T: Sendable>(_ body: (inout RequestBudget) -> T) async -> T {
        var pause: UInt64 = 20
        while true {
            let result: T? = local.withLock { limits in
                guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else { return nil }
                defer { flock(descriptor, LOCK_UN) }
                let stored = read()
                var budget = stored ?? RequestBudget(limits: limits ?? [], guardTime: guardTime)
                if let limits { budget = budget.adopting(limits) }
                let result = body(&budget)
                write(budget)
                return result
            }
            if let result { return result }
            try? await Task.sleep(for: .microseconds(pause))
            pause = min(pause * 2, 1_000)
        }
    }

    private func read() -> RequestBudget? {
        var bytes = [UInt8](repeating: 0, count: 4_096)
        let count = pread(descriptor, &bytes, bytes.count, 0)
        guard count > 0, count % 8 == 0 else { return nil }
        var values: [Int64] = []
        for index in 0..<(count / 8) {
            var value: UInt64 = 0
            for byte in 0..<8 { value |= UInt64(bytes[index * 8 + byte]) << UInt64(8 * byte) }
            values.append(Int64(bitPattern: value))
        }
        return RequestBudget(decoding: values)
    }

    private func write(_ budget: RequestBudget) {
        var bytes: [UInt8] = []
        for value in budget.encoded {
            let pattern = UInt64(bitPattern: value)
            for byte in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: pattern >> UInt64(8 * byte))) }
        }
        _ = pwrite(descriptor, bytes, bytes.count, 0)
        _ = ftruncate(descriptor, off_t(bytes.count))
    }
}
