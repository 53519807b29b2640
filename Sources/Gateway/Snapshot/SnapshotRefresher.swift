import AsyncHTTPClient
import EventBus
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// Keeps the ``SnapshotCache`` current: each section is read again from its service soon after
/// an event that changes it (at most once per `minimumSpacing`, however many events come) and
/// at least every `interval` anyway. A failed read keeps the last data and records why; an
/// answer that is not JSON is refused, never cached.
final class SnapshotRefresher: Service, Sendable {
    let sources: [SnapshotSource]
    let cache: SnapshotCache
    let baseURL: @Sendable (SnapshotSource) -> String
    let httpClient: HTTPClient
    let interval: Duration
    let minimumSpacing: Duration
    let timeout: Duration
    let logger: Logger
    private let wakes: [String: AsyncStream<Void>.Continuation]
    private let streams: Mutex<[String: AsyncStream<Void>]>

    static let maxBodyBytes = 8 << 20

    init(
        sources: [SnapshotSource], cache: SnapshotCache, baseURL: @escaping @Sendable (SnapshotSource) -> String, httpClient: HTTPClient,
        interval: Duration, minimumSpacing: Duration, timeout: Duration, logger: Logger
    ) {
        self.sources = sources
        self.cache = cache
        self.baseURL = baseURL
        self.httpClient = httpClient
        self.interval = interval
        self.minimumSpacing = minimumSpacing
        self.timeout = timeout
        self.logger = logger
        var wakes: [String: AsyncStream<Void>.Continuation] = [:]
        var streams: [String: AsyncStream<Void>] = [:]
        for source in sources {
            let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
            wakes[source.section] = continuation
            streams[source.section] = stream
        }
        self.wakes = wakes
        self.streams = Mutex(streams)
    }

    /// Marks the sections `type` changes for reading soon.
    func eventArrived(_ type: EventType) {
        for source in sources where source.refreshedBy.contains(type) { wakes[source.section]?.yield() }
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                for source in self.sources {
                    guard let stream = self.streams.withLock({ $0.removeValue(forKey: source.section) }) else { continue }
                    group.addTask { await self.keepCurrent(source, wakes: stream) }
                }
                // The interval wakes every section too, so none is older than it while its
                // service answers.
                group.addTask {
                    while (try? await Task.sleep(for: self.interval)) != nil {
                        for wake in self.wakes.values { wake.yield() }
                    }
                }
            }
        }
    }

    /// Reads the section at start and at every wake-up, never sooner than the spacing after the
    /// last read, so a flood of events costs the service one read per spacing.
    private func keepCurrent(_ source: SnapshotSource, wakes: AsyncStream<Void>) async {
        self.wakes[source.section]?.yield()
        for await _ in wakes {
            let started = ContinuousClock.now
            await refresh(source)
            guard (try? await Task.sleep(until: started + minimumSpacing, clock: .continuous)) != nil else { return }
        }
    }

    func refresh(_ source: SnapshotSource) async {
        do {
            var parts: [String: JSONValue] = [:]
            for (name, path) in source.paths {
                parts[name] = try await read(baseURL(source) + path)
            }
            let data = source.paths.count == 1 ? parts[source.paths[0].name]! : .object(parts)
            cache.update(source.section, data: Array(data.encoded()), at: Date())
        } catch {
            cache.failed(source.section, "\(source.service.rawValue): \(error)")
        }
    }

    struct ReadError: Error, CustomStringConvertible {
        var description: String
    }

    private func read(_ url: String) async throws -> JSONValue {
        let response: HTTPClientResponse
        do {
            response = try await httpClient.execute(HTTPClientRequest(url: url), timeout: .milliseconds(timeout.milliseconds))
        } catch {
            throw ReadError(description: "GET \(url): \(error)")
        }
        let body: ByteBuffer
        do {
            body = try await response.body.collect(upTo: Self.maxBodyBytes)
        } catch {
            throw ReadError(description: "GET \(url): body not read (larger than \(Self.maxBodyBytes) bytes?): \(error)")
        }
        guard let value = try? JSONValue(parsing: Array(buffer: body)) else {
            throw ReadError(description: "GET \(url): answered \(response.status.code) with a body that is not JSON")
        }
        guard response.status == .ok else {
            if case .object(let fields) = value, case .string(let message)? = fields["error"] {
                throw ReadError(description: "GET \(url): \(response.status.code) \(message)")
            }
            throw ReadError(description: "GET \(url): \(response.status.code)")
        }
        return value
    }
}
