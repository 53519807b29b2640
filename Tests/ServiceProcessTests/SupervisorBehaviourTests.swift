import Foundation
import Testing
import VaktConfig
import VaktTesting

#if canImport(Glibc)
    import Glibc
#endif

/// The supervisor against real children that misbehave on purpose (VaktTestChild).
@Suite struct SupervisorBehaviourTests {
    typealias System = SupervisedSystem

    @Test func crashingChildIsRestartedWithGrowingBackoff() async throws {
        let system = try await System(programs: [
            (
                "crasher",
                System.child(
                    ["--exit-after-ms", "50", "--exit-code", "3"],
                    ["backoff: { initial: 200ms, multiplier: 2, maximum: 5s, jitter: 0 }", "intensity: { max_restarts: 20, period: 60s }"])
            )
        ])
        // The supervisor's own log says when each child started; polling /proc could miss a
        // child that lives 100 ms on a loaded machine.
        func startTimes() -> [Date] {
            system.supervisor.output().split(separator: "\n").filter { $0.contains("msg=\"child started\" child=crasher") }
                .compactMap { line in
                    line.split(separator: " ").first { $0.hasPrefix("ts=") }.flatMap {
                        try? Date(String($0.dropFirst(3)), strategy: .iso8601)
                    }
                }
        }
        #expect(await TestEnvironment.eventually(timeout: .seconds(15)) { startTimes().count >= 4 }, "\(system.supervisor.output())")
        let starts = startTimes()
        // Every exit is reaped: a child seen exited but not yet waited for is gone soon after
        // (on a loaded machine the supervisor may be a moment behind the crash loop).
        let zombies = Set(TestEnvironment.zombieChildren(of: system.supervisor.pid))
        #expect(
            await TestEnvironment.eventually { zombies.isDisjoint(with: TestEnvironment.zombieChildren(of: system.supervisor.pid)) },
            "never reaped: \(zombies)")
        // Start n+1 follows start n by the run (about 50 ms) plus 200, 400, 800 ms of backoff.
        let gaps = zip(starts, starts.dropFirst()).map { $1.timeIntervalSince($0) }
        for (gap, backoff) in zip(gaps, [0.2, 0.4, 0.8]) {
            #expect(gap >= backoff, "gaps: \(gaps)")
        }
        let entry = try #require(await system.service("crasher"))
        #expect((entry["restarts"] as? Int ?? 0) >= 3)
        #expect(entry["lastExit"] as? String == "exited with status 3")
        #expect(entry["lastExitReason"] as? String == "exit")
        #expect(try await system.metric("vakt_service_restarts_total", ["service": "crasher", "reason": "exit"]) ?? 0 >= 3)
        #expect(await system.stop() == 0, "\(system.supervisor.output())")
    }

    @Test func crashLoopEndsFailedAfterTheIntensityLimit() async throws {
        let system = try await System(programs: [
            (
                "looper",
                System.child(
                    ["--exit-after-ms", "0"],
                    [
                        "backoff: { initial: 20ms, multiplier: 1, maximum: 20ms, jitter: 0 }",
                        "intensity: { max_restarts: 3, period: 30s }",
                        "critical: true",
                    ])
            )
        ])
        #expect(await system.waitFor("looper") { $0["state"] as? String == "failed" }, "\(system.supervisor.output())")
        let entry = try #require(await system.service("looper"))
        #expect(entry["restarts"] as? Int == 3)
        #expect(system.supervisor.output().filter { $0 == "\n" }.count > 0)
        let starts = system.supervisor.output().components(separatedBy: "test-child started").count - 1
        #expect(starts == 4, "one start and three restarts")
        // It stays down.
        try await Task.sleep(for: .milliseconds(300))
        #expect(TestEnvironment.childPIDs(of: system.supervisor.pid).isEmpty)
        #expect(try await system.metric("vakt_service_failures_total", ["service": "looper"]) == 1)
        // A failed critical child makes the supervisor's own health fail.
        let health = try await HTTPProbe.get(system.configuration.url(.supervisor, "/health"))
        #expect(health.status == 503, "\(health.text)")
        #expect(health.text.contains("critical children failed: looper"))
        let promtool = try await Promtool.checkMetrics(try await system.metrics())
        #expect(promtool.status == 0, "\(promtool.output)")
        #expect(await system.stop() == 0, "\(system.supervisor.output())")
    }

    @Test func missedWatchdogKillsWithSIGABRTAndRestarts() async throws {
        let system = try await System(programs: [
            (
                "hanger",
                System.child(
                    ["--watchdog", "--hang-after-ms", "400"],
                    [
                        "readiness: notify", "watchdog: 300ms", "backoff: { initial: 50ms, jitter: 0 }", "stop_timeout: 5s",
                        // Swift's backtracer would catch SIGABRT and take seconds to symbolicate.
                        "environment: { SWIFT_BACKTRACE: enable=no }",
                    ])
            )
        ])
        #expect(
            await system.waitFor("hanger") { ($0["restarts"] as? Int ?? 0) >= 1 && $0["lastExitReason"] as? String == "watchdog" },
            "\(system.supervisor.output())")
        let entry = try #require(await system.service("hanger"))
        #expect((entry["lastExit"] as? String)?.contains("signal 6") == true, "\(entry)")
        #expect(try await system.metric("vakt_watchdog_misses_total", ["service": "hanger"]) ?? 0 >= 1)
        #expect(
            system.recorder.datagrams.allSatisfy { $0.senderPID == system.supervisor.pid },
            "children's messages go to the supervisor, not to its manager")
        #expect(await system.stop() == 0, "\(system.supervisor.output())")
    }

    @Test func childThatNeverBecomesReadyHitsItsStartTimeout() async throws {
        let system = try await System(programs: [
            (
                "sleeper",
                System.child(["--never-ready"], ["readiness: notify", "start_timeout: 400ms", "restart: never", "stop_timeout: 1s"])
            )
        ])
        #expect(await system.waitFor("sleeper") { $0["state"] as? String == "exited" }, "\(system.supervisor.output())")
        let entry = try #require(await system.service("sleeper"))
        #expect(entry["lastExitReason"] as? String == "start_timeout")
        #expect(entry["ready"] as? Bool == false)
        #expect(await system.stop() == 0, "\(system.supervisor.output())")
    }

    @Test func childIgnoringSIGTERMIsKilledAfterItsStopTimeoutWithItsGrandchildren() async throws {
        let system = try await System(programs: [
            ("stubborn", System.child(["--ignore-sigterm", "--grandchildren", "2"], ["readiness: none", "stop_timeout: 600ms"]))
        ])
        #expect(await system.waitFor("stubborn") { $0["state"] as? String == "running" })
        let child = try #require(TestEnvironment.childPIDs(of: system.supervisor.pid).first)
        #expect(await TestEnvironment.eventually { TestEnvironment.childPIDs(of: child).count == 2 })
        let grandchildren = TestEnvironment.childPIDs(of: child)

        let started = ContinuousClock.now
        let response = try await system.control("stop", "stubborn")
        let took = ContinuousClock.now - started
        #expect(response.status == 200, "\(response.text)")
        #expect(took >= .milliseconds(600), "stopped after \(took), before the stop timeout")
        let entry = try #require(await system.service("stubborn"))
        #expect(entry["state"] as? String == "stopped")
        #expect(entry["lastExit"] as? String == "killed by signal 9 (Killed)")
        #expect(entry["lastExitReason"] as? String == "stopped")
        #expect(!TestEnvironment.isAlive(child))
        #expect(await TestEnvironment.eventually { grandchildren.allSatisfy { !TestEnvironment.isAlive($0) } })
        #expect(await system.stop() == 0, "\(system.supervisor.output())")
    }

    @Test func aStopLongerThanTheSupervisorsOwnStopTimeoutStillEndsCleanly() async throws {
        // Two levels that each take their whole 4 s stop_timeout: 8 s, more than the supervisor's
        // own 5 s. It waits for them (SIGKILL at 4 s each) and exits 0, not cut short at 5 s.
        let stubborn = ["--ignore-sigterm"]
        let system = try await System(programs: [
            ("base", System.child(stubborn, ["readiness: none", "stop_timeout: 4s"])),
            ("top", System.child(stubborn, ["readiness: none", "stop_timeout: 4s", "depends_on: [base]"])),
        ])
        #expect(await system.waitFor("top") { $0["state"] as? String == "running" })
        let children = TestEnvironment.childPIDs(of: system.supervisor.pid)
        #expect(children.count == 2)
        #expect(await system.stop() == 0, "\(system.supervisor.output())")
        #expect(children.allSatisfy { !TestEnvironment.isAlive($0) })
        #expect(system.supervisor.output().contains("all children stopped"))
    }

    @Test func systemdNotifyInAChildScriptMarksItReady() async throws {
        let system = try await System(programs: [
            ("scripted", System.child(["--systemd-notify", "--status", "warming caches"], ["readiness: notify"]))
        ])
        #expect(await system.waitFor("scripted") { $0["ready"] as? Bool == true }, "\(system.supervisor.output())")
        #expect(await system.service("scripted")?["status"] as? String == "warming caches")
        #expect(await TestEnvironment.eventually { system.supervisor.output().contains("systemd-notify exited with 0") })
        #expect(await system.stop() == 0, "\(system.supervisor.output())")
    }

    @Test func datagramsFromUnrelatedProcessesAreIgnoredAndCounted() async throws {
        let system = try await System(programs: [("steady", System.child([], ["readiness: notify"]))])
        #expect(await system.waitFor("steady") { $0["ready"] as? Bool == true })
        let address = try #require(
            system.supervisor.output().split(separator: " ").first { $0.hasPrefix("notify_socket=") }.map { String($0.dropFirst(14)) })
        // This test process is no child of the supervisor.
        let result = try await TestEnvironment.run(
            "/usr/bin/systemd-notify", ["--status=forged"], environment: ["NOTIFY_SOCKET": address, "PATH": "/usr/bin:/bin"])
        #expect(result.status == 0, "systemd-notify: \(result.output)")
        // systemd-notify sends its message and then a BARRIER=1 datagram: two rejected.
        let counted = await TestEnvironment.eventually {
            (try? await system.metric("vakt_notify_rejected_total", ["reason": "unknown_sender"])) == 2
        }
        let metrics = (try? await system.metrics()) ?? ""
        #expect(counted, "\(metrics.split(separator: "\n").filter { $0.contains("notify") })")
        #expect(await system.service("steady")?["status"] as? String == "test child ready")
        #expect(await system.stop() == 0, "\(system.supervisor.output())")
    }

    @Test func controlRequiresTheTokenAndChangesNothingWithoutIt() async throws {
        let system = try await System(programs: [("guarded", System.child([], ["readiness: notify"]))])
        #expect(await system.waitFor("guarded") { $0["ready"] as? Bool == true })
        let pid = try #require(await system.service("guarded")?["pid"] as? Int)
        var attempts = 0
        for authorization in [nil, "Bearer wrong", "Bearer \(System.controlToken)x", "Basic \(System.controlToken)", "Bearer "] {
            for action in ["stop", "restart", "start"] {
                let response = try await system.control(action, "guarded", authorization: authorization)
                // Five failures a minute get 401; more are rate-limited.
                #expect(response.status == (attempts < 5 ? 401 : 429), "\(action) with \(authorization ?? "no header")")
                attempts += 1
            }
        }
        #expect(await system.service("guarded")?["pid"] as? Int == pid)
        #expect(await system.service("guarded")?["state"] as? String == "running")
        #expect(try await system.control("stop", "no-such-service").status == 404)

        let restarted = try await system.control("restart", "guarded")
        #expect(restarted.status == 200)
        #expect(await system.waitFor("guarded") { $0["ready"] as? Bool == true && $0["pid"] as? Int != pid })
        #expect(await system.service("guarded")?["restarts"] as? Int == 0, "an operator's restart is not a failure")
        #expect(await system.stop() == 0, "\(system.supervisor.output())")
    }

    /// SIGTERM while children are being spawned: every spawn in flight is waited for and
    /// stopped, and the supervisor exits instead of waiting for a child that starts later.
    @Test(arguments: [0, 5, 20, 60])
    func aStopDuringStartUpStopsEverythingAndExits(afterMilliseconds delay: Int) async throws {
        let system = try await System(programs: (0..<6).map { ("early-\($0)", System.child([], ["readiness: notify"])) })
        // From the moment it starts its children (a signal before the handlers are in place
        // ends any process).
        #expect(await TestEnvironment.eventually(poll: .milliseconds(1)) { system.supervisor.output().contains("msg=supervising") })
        try await Task.sleep(for: .milliseconds(delay))
        system.supervisor.signal(SIGTERM)
        #expect(await system.supervisor.waitForExit(timeout: .seconds(20)) == 0, "\(system.supervisor.output())")
        let log = system.supervisor.output()
        let started = log.components(separatedBy: "msg=\"child started\"").count - 1
        let exited =
            log.components(separatedBy: "msg=\"child stopped\"").count + log.components(separatedBy: "msg=\"child exited\"").count - 2
        #expect(started == exited, "\(started) started, \(exited) exited:\n\(log)")
    }

    /// SIGTERM while a new supervisor is still stopping what an earlier one left: it starts
    /// nothing and exits once the clean-up is done.
    @Test func aStopDuringTheCleanUpOfLeftoversStartsNothingAndExits() async throws {
        let first = try await System(programs: [
            ("stubborn", System.child(["--ignore-sigterm"], ["readiness: none", "stop_timeout: 2s"]))
        ])
        #expect(await first.waitFor("stubborn") { $0["state"] as? String == "running" })
        let second = try await System(
            programs: [("fresh", System.child([], ["readiness: notify"])), ("other", System.child([], ["readiness: notify"]))],
            stateDirectoryOf: first)
        #expect(
            await TestEnvironment.eventually(poll: .milliseconds(5)) {
                second.supervisor.output().contains("stopping processes left by a previous supervisor")
            })
        second.supervisor.signal(SIGTERM)
        #expect(await second.supervisor.waitForExit(timeout: .seconds(20)) == 0, "\(second.supervisor.output())")
        #expect(!second.supervisor.output().contains("msg=\"child started\""), "\(second.supervisor.output())")
        _ = await first.stop()
    }

    @Test func dependentsStartOnlyAfterTheirDependenciesAreReady() async throws {
        let system = try await System(programs: [
            ("late", System.child([], ["readiness: notify", "depends_on: [slow]"])),
            ("slow", System.child(["--ready-after-ms", "700"], ["readiness: notify"])),
        ])
        #expect(await system.waitFor("late") { $0["ready"] as? Bool == true }, "\(system.supervisor.output())")
        let output = system.supervisor.output()
        let slowReady = try #require(
            output.range(of: "msg=\"child ready\" child=slow") ?? output.range(of: "child=slow msg=\"child ready\""))
        let lateStarted = try #require(output.range(of: "child started\" child=late") ?? output.range(of: "child=late"))
        #expect(slowReady.lowerBound < lateStarted.lowerBound, "late started before slow was ready")
        #expect(await system.stop() == 0, "\(system.supervisor.output())")
    }

    @Test func supervisorReportsReadyAndStatusToItsOwnManager() async throws {
        let system = try await System(programs: [
            ("one", System.child([], ["readiness: notify", "critical: true"])),
            ("two", System.child(["--ready-after-ms", "300"], ["readiness: notify", "critical: true"])),
        ])
        #expect(await system.recorder.waitFor { $0.contains(.ready) })
        let status = system.recorder.assignments.compactMap { assignment -> String? in
            if case .status(let text) = assignment { text } else { nil }
        }
        #expect(status.contains("2/2 ready, 0 failed"), "\(status)")
        // READY=1 came only once both critical children were ready.
        #expect(await system.service("two")?["ready"] as? Bool == true)
        #expect(await system.stop() == 0, "\(system.supervisor.output())")
        #expect(await system.recorder.waitFor { $0.contains(.stopping) })
    }

    @Test func aNewSupervisorStopsWhatAKilledOneLeftBehind() async throws {
        let first = try await System(programs: [("parent", System.child(["--grandchildren", "1"], ["readiness: none"]))])
        #expect(await first.waitFor("parent") { $0["state"] as? String == "running" })
        let child = try #require(TestEnvironment.childPIDs(of: first.supervisor.pid).first)
        #expect(await TestEnvironment.eventually { TestEnvironment.childPIDs(of: child).count == 1 })
        let grandchild = TestEnvironment.childPIDs(of: child)[0]
        first.supervisor.signal(SIGKILL)
        _ = await first.supervisor.waitForExit()
        #expect(await TestEnvironment.eventually { !TestEnvironment.isAlive(child) }, "the child dies with its supervisor")
        #expect(TestEnvironment.isAlive(grandchild), "its own child outlives it, in its process group")

        let second = try await System(programs: [("parent", System.child([], ["readiness: none"]))], stateDirectoryOf: first)
        #expect(await TestEnvironment.eventually { !TestEnvironment.isAlive(grandchild) }, "\(second.supervisor.output())")
        #expect(second.supervisor.output().contains("stopping processes left by a previous supervisor"))
        #expect(await second.stop() == 0, "\(second.supervisor.output())")
    }

    @Test func cliShowsAStatusTableAndStopsAndStartsWithTheToken() async throws {
        let system = try await System(programs: [("worker", System.child(["--status", "crunching"], ["readiness: notify"]))])
        #expect(await system.waitFor("worker") { $0["ready"] as? Bool == true })
        let url = system.configuration.url(.supervisor, "")
        let vakt = TestEnvironment.vaktExecutable
        let base = ["--config", system.configuration.path, "--url", url]
        let noToken = ["PATH": "/usr/bin:/bin"]
        let withToken = noToken.merging(["VAKT_SECRET_CONTROL_TOKEN": System.controlToken]) { $1 }

        let status = try await TestEnvironment.run(vakt, ["status"] + base, environment: noToken)
        #expect(status.status == 0, "\(status.output)")
        let lines = status.output.split(separator: "\n").map(String.init)
        #expect(lines.first == "supervisor: 1/1 ready, 0 failed  (* critical for trading)")
        #expect(lines.dropFirst().first?.hasPrefix("SERVICE") == true)
        #expect(lines.contains { $0.hasPrefix("worker ") && $0.contains("running") && $0.contains("crunching") }, "\(status.output)")

        let refused = try await TestEnvironment.run(vakt, ["stop", "worker"] + base, environment: noToken)
        #expect(refused.status != 0)
        #expect(refused.output.contains("no control token"), "\(refused.output)")
        #expect(await system.service("worker")?["state"] as? String == "running")

        let stopped = try await TestEnvironment.run(vakt, ["stop", "worker"] + base, environment: withToken)
        #expect(stopped.status == 0, "\(stopped.output)")
        #expect(stopped.output == "worker: stopped\n")
        let started = try await TestEnvironment.run(vakt, ["start", "worker"] + base, environment: withToken)
        #expect(started.status == 0, "\(started.output)")
        #expect(await system.waitFor("worker") { $0["ready"] as? Bool == true })
        #expect(await system.stop() == 0, "\(system.supervisor.output())")
    }

    @Test func floodedOutputIsForwardedWholeAndItsLogFileRotatesAtItsCap() async throws {
        let directory = try TestEnvironment.temporaryDirectory("vakt-logs")
        defer { try? FileManager.default.removeItem(at: directory) }
        let logPath = directory.appendingPathComponent("flooder.log").path
        let system = try await System(programs: [
            (
                "flooder",
                System.child(["--flood", "5000"], ["readiness: none", "log_file: { path: \(logPath), max_bytes: 65536, keep: 2 }"])
            )
        ])
        #expect(await TestEnvironment.eventually { system.supervisor.output().contains("flood line 4999 ") }, "last line never forwarded")
        let output = system.supervisor.output()
        let forwarded = output.split(separator: "\n").filter { $0.contains("flood line ") }
        #expect(forwarded.count == 5000)
        #expect(forwarded.allSatisfy { $0.contains("child=flooder") && $0.contains("stream=stdout") })
        let files = FileManager.default
        #expect(files.fileExists(atPath: logPath + ".1"))
        #expect(files.fileExists(atPath: logPath + ".2"))
        #expect(!files.fileExists(atPath: logPath + ".3"), "only two rotated files are kept")
        for path in [logPath, logPath + ".1", logPath + ".2"] {
            let size = (try files.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
            #expect(size <= 65536, "\(path) is \(size) bytes")
        }
        let newest = try String(contentsOfFile: logPath, encoding: .utf8)
        #expect(newest.contains("flood line 4999 "))
        #expect(await system.stop() == 0, "\(system.supervisor.output())")
    }

    @Test func vaktServiceWithAWatchdogKeepsItAliveThroughWatchdogPID() async throws {
        // sd_watchdog_enabled only answers when WATCHDOG_PID names the process itself, which
        // the supervisor can only write after fork; a wrong pid would make the service stay
        // silent and be killed as hung.
        // The default watchdog (10 s, pinged every 5 s): a loaded machine's pauses are far shorter.
        let system = try await System(programs: [], services: [.exchangeSim])
        #expect(await system.waitFor("exchange-sim") { $0["ready"] as? Bool == true }, "\(system.supervisor.output())")
        #expect(
            await TestEnvironment.eventually(timeout: .seconds(60)) {
                (try? await system.metric("vakt_notify_messages_total", ["type": "WATCHDOG"])) ?? 0 >= 3
            }, "\(system.supervisor.output())")
        let entry = try #require(await system.service("exchange-sim"))
        #expect(entry["restarts"] as? Int == 0, "\(entry)")
        #expect(await system.stop() == 0, "\(system.supervisor.output())")
    }

    @Test func shutdownStopsDependentsFirst() async throws {
        let system = try await System(programs: [
            ("base", System.child([], ["readiness: notify"])),
            ("top", System.child([], ["readiness: notify", "depends_on: [base]"])),
        ])
        #expect(await system.waitFor("top") { $0["ready"] as? Bool == true })
        #expect(await system.stop() == 0, "\(system.supervisor.output())")
        let lines = system.supervisor.output().split(separator: "\n").filter { $0.contains("msg=\"child stopped\"") }
        let order = lines.compactMap { line in ["base", "top"].first { line.contains("child=\($0) ") } }
        #expect(order == ["top", "base"], "\(lines)")
    }

    @Test func supervisorPingsItsOwnWatchdogWhileItMakesProgress() async throws {
        let redis = try RedisServer()
        try await redis.start()
        let configuration = try TestConfiguration(redisPort: redis.port, postgres: nil, disabled: Set(ServiceKind.allCases))
        let recorder = try NotifyRecorder()
        defer { recorder.stop() }
        let supervisor = try ServiceProcess(
            arguments: ["supervisor", "--config", configuration.path], environment: ["WATCHDOG_USEC": "400000"],
            notifySocket: recorder.address)
        #expect(await recorder.waitFor { $0.filter { $0 == .watchdogPing }.count >= 3 }, "\(supervisor.output())")
        supervisor.signal(SIGTERM)
        #expect(await supervisor.waitForExit() == 0)
    }

    @Test func crashIsHandledAtOnceEvenWhenAGrandchildHoldsTheOutputOpen() async throws {
        // The grandchild inherits the child's stdout; the exit must not wait for that pipe.
        let system = try await System(programs: [
            (
                "leaky",
                System.child(
                    ["--grandchildren", "1", "--exit-after-ms", "100"],
                    ["readiness: none", "backoff: { initial: 0ms, jitter: 0 }", "intensity: { max_restarts: 100, period: 60s }"])
            )
        ])
        #expect(await system.waitFor("leaky") { ($0["restarts"] as? Int ?? 0) >= 3 }, "\(system.supervisor.output())")
        // Each exit took the child's process group, grandchild included, with it.
        #expect(await system.stop() == 0, "\(system.supervisor.output())")
        let grandchildren = system.supervisor.output().split(separator: "\n").compactMap { line -> Int32? in
            guard let range = line.range(of: "grandchild pid=") else { return nil }
            return Int32(line[range.upperBound...].prefix { $0.isNumber })
        }
        #expect(grandchildren.count >= 3)
        #expect(await TestEnvironment.eventually { grandchildren.allSatisfy { !TestEnvironment.isAlive($0) } })
    }
}
