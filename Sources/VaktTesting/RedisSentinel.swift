import Foundation
import RedisClient

/// A real Redis Sentinel (`redis-server --sentinel`) on a port of its own, watching the primary
/// named `vakt` on this host with a quorum of `quorum`, and quick to act: a primary is down
/// after 1 s without an answer, and a failover may be tried again after 5 s.
public final class RedisSentinel: Sendable {
    public var port: Int { daemon.port }
    /// The address it answers on: its host's (loopback when it has none).
    public let address: String
    private let daemon: ConfiguredDaemon

    /// - Parameters:
    ///   - primaryAddress: the primary's address, when it is on another host.
    ///   - host: the host to run on.
    public init(watching primary: Int, quorum: Int, primaryAddress: String = "127.0.0.1", on host: NetworkHost? = nil) async throws {
        let address = host?.address ?? "127.0.0.1"
        self.address = address
        // The Sentinel rewrites its file as it learns the group: a file of its own.
        daemon = try ConfiguredDaemon(
            program: "redis-server", name: "sentinel", host: host,
            configuration: { port, directory in
                """
                port \(port)
                bind \(address)
                protected-mode no
                dir \(directory.path)
                sentinel monitor vakt \(primaryAddress) \(primary) \(quorum)
                sentinel down-after-milliseconds vakt 1000
                sentinel failover-timeout vakt 5000
                sentinel parallel-syncs vakt 1

                """
            }, arguments: { [$0, "--sentinel", "--loglevel", "warning"] })
        let port = daemon.port
        let probe = RedisConnection(
            endpoint: RedisEndpoint(host: address, port: port, connectTimeout: .seconds(2)), label: "sentinel-probe")
        let up = await TestEnvironment.eventually(timeout: .seconds(10)) {
            (try? await probe.command(["SENTINEL", "get-master-addr-by-name", "vakt"]))?.array?.count == 2
        }
        guard up else { throw MissingFixture("redis sentinel on port \(port) did not name the primary within 10 s") }
    }

    public var sentinelAddress: RedisEndpoint.SentinelAddress { .init(host: address, port: port) }

    /// `count` Sentinels watching `primary`, returned once each knows the primary's `replicas`
    /// replicas and the other Sentinels: a failover from then on has its quorum and a candidate.
    /// With `hosts`, one Sentinel on each (`count` is then their number).
    public static func group(
        watching primary: Int, replicas: Int, count: Int = 3, quorum: Int = 2, primaryAddress: String = "127.0.0.1",
        on hosts: [NetworkHost]? = nil
    ) async throws -> [RedisSentinel] {
        var sentinels: [RedisSentinel] = []
        for host in hosts ?? [NetworkHost?](repeating: nil, count: count) {
            sentinels.append(try await RedisSentinel(watching: primary, quorum: quorum, primaryAddress: primaryAddress, on: host))
        }
        for sentinel in sentinels {
            let connection = RedisConnection(endpoint: RedisEndpoint(host: sentinel.address, port: sentinel.port))
            let learned = await TestEnvironment.eventually(timeout: .seconds(60)) {
                let known = (try? await connection.command(["SENTINEL", "replicas", "vakt"]))?.array?.count
                let others = (try? await connection.command(["SENTINEL", "sentinels", "vakt"]))?.array?.count
                return known == replicas && others == sentinels.count - 1
            }
            guard learned else { throw MissingFixture("sentinel \(sentinel.port) did not learn the group within 60 s") }
        }
        return sentinels
    }

    /// The `redis:` section's lines that find the primary through `sentinels`.
    public static func locator(_ sentinels: [RedisSentinel]) -> [String] {
        ["sentinels: [\(sentinels.map { "\"\($0.address):\($0.port)\"" }.joined(separator: ", "))]"]
    }

    /// A client endpoint that finds the primary through `sentinels` (its own host and port
    /// name nothing), quick to reconnect as tests want.
    public static func endpoint(_ sentinels: [RedisSentinel]) -> RedisEndpoint {
        RedisEndpoint(
            host: "127.0.0.1", port: 1, connectTimeout: .seconds(2), commandTimeout: .seconds(10),
            reconnectInitialDelay: .milliseconds(20), reconnectMaxDelay: .milliseconds(200), sentinels: sentinels.map(\.sentinelAddress))
    }

}
