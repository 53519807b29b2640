// VaktTestChild: a program the supervisor tests run as a child, built to misbehave on demand.
// Not part of the product; it exists so tests exercise the real supervisor against real
// processes. Options (each optional):
//   --ready-after-ms N     send READY=1 after N ms (default 0)
//   --never-ready          never send READY=1
//   --status TEXT          send STATUS=TEXT with READY=1
//   --watchdog             ping WATCHDOG=1 at half of WATCHDOG_USEC
//   --hang-after-ms N      stop pinging the watchdog (and stop everything else) after N ms
//   --exit-after-ms N      exit after N ms with --exit-code (default 1)
//   --exit-code C
//   --ignore-sigterm       ignore SIGTERM
//   --flood N              write N numbered lines to stdout at once
//   --grandchildren N      start N `sleep 3600` grandchildren in this process group
//   --systemd-notify       report readiness by running `systemd-notify --ready` instead
//   --publish-redis-port P --buffer FILE
//                          publish events forever through the event bus (see Publisher.swift)
//   --consume-redis-port P --consumer NAME --hold-ms N
//                          consume market.tick in group "test", holding each handler N ms
//   --exchange-load URL --budget-file F --clock-origin MS --clock-rate R --duration-ms D
//   --weight-per-minute W  call the exchange through the adapter (see ExchangeLoad.swift)

import CSystemd
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Writes a line at once: stdout is a pipe, and the supervisor must see each line as it happens.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

func run() async -> Never {
    var options: [String: String] = [:]
    var flags: Set<String> = []
    var arguments = CommandLine.arguments.dropFirst().makeIterator()
    while let argument = arguments.next() {
        switch argument {
        case "--never-ready", "--watchdog", "--ignore-sigterm", "--systemd-notify": flags.insert(argument)
        default: options[argument] = arguments.next() ?? ""
        }
    }
    func number(_ name: String) -> Int? { options[name].flatMap { Int($0) } }

    say("test-child started pid=\(getpid())")
    if options["--exchange-load"] != nil { await loadExchangeAndExit(options: options) }
    if let port = number("--publish-redis-port"), let buffer = options["--buffer"] {
        await publishForever(redisPort: port, bufferPath: buffer)
    }
    if let port = number("--consume-redis-port"), let consumer = options["--consumer"] {
        await consumeForever(redisPort: port, consumer: consumer, holdMilliseconds: number("--hold-ms") ?? 0)
    }
    if flags.contains("--ignore-sigterm") { signal(SIGTERM, SIG_IGN) }
    if let count = number("--grandchildren") {
        for _ in 0..<count {
            var pid: pid_t = 0
            let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/sleep"), strdup("3600"), nil]
            // This runs on a concurrency thread, which blocks every signal; without an explicit
            // empty mask the grandchild would inherit that and ignore SIGTERM.
            var attributes = posix_spawnattr_t()
            posix_spawnattr_init(&attributes)
            var empty = sigset_t()
            sigemptyset(&empty)
            posix_spawnattr_setsigmask(&attributes, &empty)
            posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
            posix_spawn(&pid, "/bin/sleep", nil, &attributes, argv, environ)
            posix_spawnattr_destroy(&attributes)
            say("grandchild pid=\(pid)")
        }
    }
    if let count = number("--flood") {
        for line in 0..<count { say("flood line \(line) " + String(repeating: "x", count: 100)) }
    }

    let start = Date()
    func elapsedMilliseconds() -> Int { Int(Date().timeIntervalSince(start) * 1000) }
    var readySent = false
    var lastPing = Date.distantPast
    let watchdogMicroseconds = ProcessInfo.processInfo.environment["WATCHDOG_USEC"].flatMap { UInt64($0) }

    while true {
        let now = elapsedMilliseconds()
        if let hang = number("--hang-after-ms"), now >= hang {
            say("hanging")
            while true { sleep(3600) }
        }
        if let exitAfter = number("--exit-after-ms"), now >= exitAfter {
            let code = Int32(number("--exit-code") ?? 1)
            say("exiting with \(code)")
            exit(code)
        }
        if !readySent && !flags.contains("--never-ready") && now >= (number("--ready-after-ms") ?? 0) {
            readySent = true
            let status = options["--status"] ?? "test child ready"
            if flags.contains("--systemd-notify") {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: "/usr/bin/systemd-notify")
                process.arguments = ["--ready", "--status=\(status)"]
                try? process.run()
                process.waitUntilExit()
                say("systemd-notify exited with \(process.terminationStatus)")
            } else {
                sd_notify(0, "READY=1\nSTATUS=\(status)")
            }
        }
        if flags.contains("--watchdog"), let interval = watchdogMicroseconds,
            Date().timeIntervalSince(lastPing) * 1_000_000 >= Double(interval) / 2
        {
            sd_notify(0, "WATCHDOG=1")
            lastPing = Date()
        }
        usleep(5_000)
    }
}

await run()
