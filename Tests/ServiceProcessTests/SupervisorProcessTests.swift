import Foundation
import Testing
import VaktConfig
import VaktTesting

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct SupervisorProcessTests {
    /// The supervisor with only the exchange simulator enabled: it needs no Redis or PostgreSQL.
    func startSupervisor() async throws -> (ServiceProcess, TestConfiguration, RedisServer, NotifyRecorder) {
        let redis = try RedisServer()
        try await redis.start()
        let configuration = try TestConfiguration(
            redisPort: redis.port, postgres: nil, disabled: Set(ServiceKind.allCases).subtracting([.exchangeSim]),
            serviceSettings: [.exchangeSim: ["backoff: { initial: 50ms }"]])
        let recorder = try NotifyRecorder()
        let supervisor = try ServiceProcess(arguments: ["supervisor", "--config", configuration.path], notifySocket: recorder.address)
        return (supervisor, configuration, redis, recorder)
    }

    @Test func startsChildrenRestartsOneThatDiesAndStopsThemAll() async throws {
        let (supervisor, configuration, _, recorder) = try await startSupervisor()
        defer { recorder.stop() }
        let childURL = configuration.url(.exchangeSim, "/api/v3/ping")
        #expect(await TestEnvironment.eventually { (try? await HTTPProbe.get(childURL))?.status == 200 }, "\(supervisor.output())")
        let firstChildren = TestEnvironment.childPIDs(of: supervisor.pid)
        #expect(firstChildren.count == 1)
        let first = try #require(firstChildren.first)

        kill(first, SIGKILL)
        #expect(
            await TestEnvironment.eventually {
                let now = TestEnvironment.childPIDs(of: supervisor.pid)
                return now.count == 1 && now[0] != first
            }, "child was not restarted: \(supervisor.output())")
        #expect(await TestEnvironment.eventually { (try? await HTTPProbe.get(childURL))?.status == 200 })
        #expect(supervisor.output().contains("killed by signal 9"))

        let second = TestEnvironment.childPIDs(of: supervisor.pid)[0]
        supervisor.signal(SIGTERM)
        #expect(await supervisor.waitForExit() == 0, "\(supervisor.output())")
        #expect(!TestEnvironment.isAlive(second))
    }

    @Test func childrenDieWithAKilledSupervisor() async throws {
        let (supervisor, configuration, _, recorder) = try await startSupervisor()
        defer { recorder.stop() }
        #expect(
            await TestEnvironment.eventually {
                (try? await HTTPProbe.get(configuration.url(.exchangeSim, "/api/v3/ping")))?.status == 200
            })
        let child = try #require(TestEnvironment.childPIDs(of: supervisor.pid).first)
        supervisor.signal(SIGKILL)
        _ = await supervisor.waitForExit()
        #expect(await TestEnvironment.eventually { !TestEnvironment.isAlive(child) })
    }
}
