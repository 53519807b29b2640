import AsyncHTTPClient
import Logging
import PostgresNIO
import RedisClient
import SystemdNotify
import VaktConfig

/// What a running service is given: its configuration and the shared clients.
public struct ServiceContext: Sendable {
    public let kind: ServiceKind
    public let configuration: VaktConfiguration
    public let logger: Logger
    public let redis: RedisConnection?
    public let postgres: PostgresClient?
    public let httpClient: HTTPClient
    public let metrics: MetricsExposition
    public let notify: NotifyClient
    public let secrets: SecretStore
    public let startedAt: ContinuousClock.Instant

    public var settings: ServiceSettings { configuration.service(kind) }
}
