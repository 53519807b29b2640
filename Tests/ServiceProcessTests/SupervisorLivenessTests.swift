import Foundation
import Testing
import VaktConfig
import VaktTesting

#if canImport(Glibc)
    import Glibc
#endif

/// Deadlines a child can move, and the ways a child that stops answering is found and restarted,
/// against the real supervisor, the real `systemd-notify` and real children.
///
/// Each test that shows that something does not happen waits out the deadline it would have
/// happened at (a few seconds); every other wait is for the event itself, with a generous limit.
@Suite struct SupervisorLivenessTests {
    typealias System = SupervisedSystem

    /// A bash child script as a YAML command, found through the supervisor's PATH.
    static func bash(_ script: String) -> String {
        "command: [bash, -c, \"\(script)\"]"
    }

    /// A path the test creates to let a child script go on (`while [ ! -e FILE ]`).
    static func signalFile() throws -> String {
        try TestEnvironment.temporaryDirectory("vakt-extend").appendingPathComponent("go").path
    }

    static func extensions(_ system: System, _ deadline: String) -> Int {
        system.supervisor.output().split(separator: "\n").filter {
            $0.contains("msg=\"child extended its deadline\"") && $0.contains("deadline=\(deadline)")
        }.count
    }

    @Test func extendTimeoutFromSystemdNotifyMovesTheStartDeadlineAgainAndAgain() async throws {
        let go = try Self.signalFile()
        // Asks for 60 s twice (the second moves the deadline again), then waits for the test.
        let script =
            "systemd-notify EXTEND_TIMEOUT_USEC=60000000 && systemd-notify EXTEND_TIMEOUT_USEC=60000000"
            + " && while [ ! -e \(go) ]; do sleep 0.05; done; systemd-notify --ready; exec sleep 3600"
        let system = try await System(programs: [
            ("slow-start", [Self.bash(script), "readiness: notify", "start_timeout: 1s", "stop_timeout: 5s"])
        ])
        #expect(
            await TestEnvironment.eventually { Self.extensions(system, "start") == 2 }, "\(system.supervisor.output())")
        // Past the configured start timeout, the child is still being waited for.
        try await Task.sleep(for: .seconds(2))
        let waiting = try #require(await system.service("slow-start"))
        #expect(waiting["state"] as? String == "starting", "\(waiting)")
        #expect(waiting["restarts"] as? Int == 0)

        _ = FileManager.default.createFile(atPath: go, contents: nil)
        #expect(await system.waitFor("slow-start", timeout: .seconds(60)) { $0["ready"] as? Bool == true }, "\(system.supervisor.output())")
        let ready = try #require(await system.service("slow-start"))
        #expect(ready["restarts"] as? Int == 0)
        #expect(ready["lastExitReason"] as? String == nil)
        #expect(!system.supervisor.output().contains("not ready within its start timeout"))
        #expect(await system.stop() == 0, "\(system.supervisor.output())")
    }

    @Test func extendTimeoutFromSystemdNotifyMovesTheStopDeadline() async throws {
        let go = try Self.signalFile()
        // On SIGTERM: ask for 60 s more, and finish only when the test says so.
        let script =
            "trap 'systemd-notify EXTEND_TIMEOUT_USEC=60000000; while [ ! -e \(go) ]; do sleep 0.05; done; exit 0' TERM;"
            + " systemd-notify --ready; while true; do sleep 0.1; done"
        let system = try await System(programs: [("slow-stop", [Self.bash(script), "readiness: notify", "stop_timeout: 1s"])])
        #expect(await system.waitFor("slow-stop", timeout: .seconds(60)) { $0["ready"] as? Bool == true }, "\(system.supervisor.output())")
        let pid = try #require(await system.service("slow-stop")?["pid"] as? Int)

        async let stopped = system.control("stop", "slow-stop")
        #expect(await TestEnvironment.eventually { Self.extensions(system, "kill") == 1 }, "\(system.supervisor.output())")
        // Past the configured stop timeout, the child is still finishing, not killed.
        try await Task.sleep(for: .seconds(2))
        #expect(TestEnvironment.isAlive(Int32(pid)))
        #expect(!system.supervisor.output().contains("still running after its stop timeout"))

        _ = FileManager.default.createFile(atPath: go, contents: nil)
        #expect(try await stopped.status == 200)
        let entry = try #require(await system.service("slow-stop"))
        #expect(entry["state"] as? String == "stopped")
        #expect(entry["lastExit"] as? String == "exited with status 0", "\(entry)")
        #expect(entry["lastExitReason"] as? String == "stopped")
        #expect(await system.stop() == 0, "\(system.supervisor.output())")
    }

    @Test func aBareProgramNameIsFoundInThePATH() async throws {
        let system = try await System(programs: [("shell", [Self.bash("echo started-through-path; exec sleep 3600")])])
        #expect(
            await TestEnvironment.eventually { system.supervisor.output().contains("started-through-path") },
            "\(system.supervisor.output())")
        let entry = try #require(await system.service("shell"))
        #expect(entry["state"] as? String == "running")
        #expect(entry["restarts"] as? Int == 0)
        #expect(!system.supervisor.output().contains("cannot start"))
        #expect(await system.stop() == 0, "\(system.supervisor.output())")
    }

    /// A Vakt service that stops answering (here frozen by SIGSTOP) stops pinging its watchdog,
    /// which every Vakt service has by default: it is aborted and restarted.
    @Test func aFrozenVaktServiceIsAbortedByItsDefaultWatchdogAndRestarted() async throws {
        let system = try await System(programs: [], services: [.exchangeSim])
        #expect(
            await system.waitFor("exchange-sim", timeout: .seconds(60)) { $0["ready"] as? Bool == true }, "\(system.supervisor.output())")
        let pid = try #require(await system.service("exchange-sim")?["pid"] as? Int)
        kill(Int32(pid), SIGSTOP)
        #expect(
            await system.waitFor("exchange-sim", timeout: .seconds(120)) {
                $0["lastExitReason"] as? String == "watchdog" && $0["ready"] as? Bool == true && $0["pid"] as? Int != pid
            }, "\(system.supervisor.output())")
        #expect(try await system.metric("vakt_watchdog_misses_total", ["service": "exchange-sim"]) ?? 0 >= 1)
        #expect(!TestEnvironment.isAlive(Int32(pid)))
        #expect(await system.stop() == 0, "\(system.supervisor.output())")
    }

    /// A program that cannot ping a watchdog (python's http.server) is restarted after its
    /// `/health` fails `restart_after_failed_probes` probes in a row, as a liveness probe does.
    @Test func aFrozenProgramIsRestartedAfterItsFailedProbes() async throws {
        let directory = try TestEnvironment.temporaryDirectory("vakt-liveness")
        try #"{"status":"pass"}"#.write(to: directory.appendingPathComponent("health"), atomically: true, encoding: .utf8)
        let port = TestEnvironment.freePort()
        let system = try await System(
            programs: [
                (
                    "web",
                    [
                        "command: [python3, -m, http.server, \"\(port)\", --bind, 127.0.0.1, --directory, \"\(directory.path)\"]",
                        "port: \(port)", "readiness: http", "restart_after_failed_probes: 3", "backoff: { initial: 100ms, jitter: 0 }",
                    ]
                )
            ],
            sections: """
                health:
                  check_timeout: 1s
                  probes:
                    web: { interval: 1s, timeout: 1s, failure_threshold: 2, start_grace: 5s }

                """)
        #expect(await system.waitFor("web", timeout: .seconds(60)) { $0["ready"] as? Bool == true }, "\(system.supervisor.output())")
        let pid = try #require(await system.service("web")?["pid"] as? Int)
        kill(Int32(pid), SIGSTOP)
        #expect(
            await system.waitFor("web", timeout: .seconds(120)) {
                $0["lastExitReason"] as? String == "liveness" && $0["ready"] as? Bool == true && $0["pid"] as? Int != pid
            }, "\(system.supervisor.output())")
        #expect(try await system.metric("vakt_liveness_failures_total", ["service": "web"]) ?? 0 >= 1)
        #expect(try await system.metric("vakt_service_restarts_total", ["service": "web", "reason": "liveness"]) ?? 0 >= 1)
        #expect(!TestEnvironment.isAlive(Int32(pid)))
        #expect(await system.stop() == 0, "\(system.supervisor.output())")
    }
}
