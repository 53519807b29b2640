import Foundation
import Testing
import VaktConfig
import VaktTesting

#if canImport(Glibc)
    import Glibc
#endif

/// A service's start-up phase and migrations, with real `vakt risk` processes on one PostgreSQL
/// database: instances that start together migrate once; a start-up that waits keeps its own
/// routes at 503 while /health answers; a changed migration stops start-up, named.
@Suite struct StartupPhaseTests {
    static func start(redis: RedisServer, postgres: PostgresServer) throws -> ServiceInstance {
        try ServiceInstance(.risk, redisPort: redis.port, postgres: postgres)
    }

    /// A psql session that takes the risk service's migration lock and keeps it until `release`
    /// ends the session (closing its input; a killed client would leave the server-side session,
    /// and its lock, behind).
    final class LockHolder {
        let process = Process()
        let input: Pipe

        init(_ postgres: PostgresServer) throws {
            guard let psql = TestEnvironment.which("psql") else { throw MissingFixture("psql is not installed; run scripts/install-deps") }
            process.executableURL = URL(fileURLWithPath: psql)
            process.arguments = ["-h", postgres.host, "-p", String(postgres.port), "-U", postgres.user, "-d", postgres.database, "-qAt"]
            process.standardOutput = FileHandle.nullDevice
            input = try Spawn.serially { [process] in
                let input = Pipe()
                process.standardInput = input
                try process.run()
                return input
            }
            input.fileHandleForWriting.write(Data("SELECT pg_advisory_lock(hashtext('vakt.migrations'));\n".utf8))
        }

        func release() {
            try? input.fileHandleForWriting.close()
        }
    }

    static func query(_ postgres: PostgresServer, _ sql: String) async throws -> String {
        guard let psql = TestEnvironment.which("psql") else { throw MissingFixture("psql is not installed; run scripts/install-deps") }
        let result = try await TestEnvironment.run(
            psql, ["-h", postgres.host, "-p", String(postgres.port), "-U", postgres.user, "-d", postgres.database, "-qAt", "-c", sql])
        guard result.status == 0 else { throw MissingFixture("psql failed: \(result.output)") }
        return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func twoInstancesStartingTogetherMigrateTheSchemaOnce() async throws {
        let redis = try RedisServer()
        try await redis.start()
        let postgres = try await PostgresServer().freshDatabase()
        let instances = try [Self.start(redis: redis, postgres: postgres), Self.start(redis: redis, postgres: postgres)]
        for instance in instances {
            #expect(await instance.isReady(), "\(instance.process.output())")
        }
        #expect(try await Self.query(postgres, "SELECT count(*) FROM vakt_migrations WHERE service = 'risk'") == "1")
        let appliers = instances.filter { $0.process.output().contains("msg=\"migration applied\"") }
        #expect(appliers.count == 1, "exactly one instance applied the migration")
        for instance in instances {
            #expect(instance.process.output().contains("msg=\"schema up to date\""))
            #expect(await instance.stop() == 0)
        }
    }

    @Test func whileStartUpWaitsItsRoutesAnswerStartingAndHealthAnswers() async throws {
        let redis = try RedisServer()
        try await redis.start()
        let postgres = try await PostgresServer().freshDatabase()
        // Another session holds the risk service's migration lock: its start-up waits for it.
        let holder = try LockHolder(postgres)
        defer { holder.release() }
        #expect(
            await TestEnvironment.eventually {
                // Other tests' databases take advisory locks of their own at the same time.
                (try? await Self.query(
                    postgres,
                    """
                    SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted
                    AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
                    """)) == "1"
            })
        let instance = try Self.start(redis: redis, postgres: postgres)
        let url = instance.url
        var starting: HTTPResult?
        #expect(
            await TestEnvironment.eventually {
                starting = try? await HTTPProbe.get(url("/api/ess"))
                return starting?.status == 503
            }, "\(instance.process.output())")
        #expect(starting?.text.contains("\"status\":\"starting\"") == true, "\(starting?.text ?? "")")
        let health = try await HTTPProbe.get(url("/health"))
        #expect(health.text.contains("startup:phase"), "\(health.text)")
        #expect(health.text.contains("\"output\":\"starting\""), "\(health.text)")
        #expect(try await HTTPProbe.get(url("/metrics")).status == 200)
        #expect(!instance.recorder.assignments.contains(.ready), "READY=1 waits for the start-up phase")

        holder.release()
        #expect(await instance.isReady(), "\(instance.process.output())")
        #expect(try await HTTPProbe.get(url("/api/ess")).status == 200)
        #expect(await instance.stop() == 0)
    }

    @Test func aChangedAppliedMigrationStopsStartUpNamingIt() async throws {
        let redis = try RedisServer()
        try await redis.start()
        let postgres = try await PostgresServer().freshDatabase()
        let first = try Self.start(redis: redis, postgres: postgres)
        #expect(await first.isReady(), "\(first.process.output())")
        #expect(await first.stop() == 0)
        // As if the applied migration's text had been edited since.
        _ = try await Self.query(postgres, "UPDATE vakt_migrations SET checksum = repeat('0', 64) WHERE service = 'risk' AND version = 1")

        let second = try Self.start(redis: redis, postgres: postgres)
        let status = await second.process.waitForExit()
        #expect(status != nil && status != 0, "\(second.process.output())")
        #expect(second.process.output().contains("migration 1 (ESS state and transition log) was changed after it was applied"))
        #expect(second.process.output().contains("start-up failed"))
        #expect(!second.recorder.assignments.contains(.ready))
        second.recorder.stop()
    }
}
