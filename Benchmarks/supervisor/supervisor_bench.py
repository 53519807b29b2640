#!/usr/bin/env python3
"""Crash-to-respawn latency and idle cost of `vakt supervisor`, against supervisord and a bare
fork/exec/waitpid loop, in one run on one machine. See Benchmarks/README.md."""
import argparse, os, signal, statistics, subprocess, sys, tempfile, time

def read_starts(path):
    try:
        with open(path) as f:
            return [tuple(map(int, line.split())) for line in f if line.strip()]
    except FileNotFoundError:
        return []

def wait_for_starts(path, count, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        starts = read_starts(path)
        if len(starts) >= count:
            return starts
        time.sleep(0.0005)
    raise SystemExit(f"no respawn within {timeout}s (log {path})")

def measure(name, start, log, iterations):
    """Kills the current child with SIGKILL and times until the next one wrote its line."""
    process = start()
    try:
        deadline = time.monotonic() + 30
        while not read_starts(log):
            if process.poll() is not None:
                raise SystemExit(f"{name} exited with {process.returncode} before starting its child")
            if time.monotonic() > deadline:
                raise SystemExit(f"{name} did not start its child within 30 s")
            time.sleep(0.001)
        latencies = []
        for _ in range(iterations):
            starts = read_starts(log)
            pid = starts[-1][0]
            killed_at = time.monotonic_ns()
            os.kill(pid, signal.SIGKILL)
            new = wait_for_starts(log, len(starts) + 1)[-1]
            latencies.append((new[1] - killed_at) / 1e6)
            time.sleep(0.02)  # let the supervisor settle; not part of the figure
        return latencies
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        # The floor loop does not take its child with it; no child may outlive the run.
        for pid, _ in read_starts(log)[-1:]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]

def proc_cpu_and_rss(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    rss_pages = int(fields[21])
    return ticks / os.sysconf("SC_CLK_TCK"), rss_pages * os.sysconf("SC_PAGE_SIZE")

def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--vakt", required=True)
    parser.add_argument("--child", required=True)
    parser.add_argument("--floor", required=True)
    parser.add_argument("--supervisord", required=True)
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--idle-seconds", type=int, default=60)
    parser.add_argument("--system-config", help="config running all nine services, for the idle measurement")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="vakt-bench-")
    devnull = subprocess.DEVNULL

    def vakt():
        log = os.path.join(work, "vakt.starts")
        config = os.path.join(work, "vakt.yaml")
        disabled = "".join(f"  {s}:\n    enabled: false\n" for s in
                           ["gateway", "ai-engine", "execution", "risk", "portfolio", "rl-training", "market-data", "dashboard", "exchange-sim"])
        with open(config, "w") as f:
            f.write(f"""system:
  state_directory: {work}/state
log:
  level: warning
services:
  supervisor:
    port: 18005
{disabled}  bench:
    command: ["{args.child}", "{log}"]
    readiness: none
    backoff: {{ initial: 0ms, multiplier: 1, maximum: 0ms, jitter: 0 }}
    intensity: {{ max_restarts: 10000, period: 1s }}
""")
        return log, lambda: subprocess.Popen([args.vakt, "supervisor", "--config", config], stdout=devnull, stderr=devnull)

    def supervisord():
        log = os.path.join(work, "supervisord.starts")
        config = os.path.join(work, "supervisord.conf")
        with open(config, "w") as f:
            f.write(f"""[supervisord]
nodaemon=true
logfile={work}/supervisord.log
pidfile={work}/supervisord.pid
[program:bench]
command={args.child} {log}
autorestart=true
startsecs=0
startretries=100000
""")
        return log, lambda: subprocess.Popen([args.supervisord, "-c", config], stdout=devnull, stderr=devnull)

    def floor():
        log = os.path.join(work, "floor.starts")
        return log, lambda: subprocess.Popen([args.floor, args.child, log], stdout=devnull, stderr=devnull)

    results = {}
    # A supervisor that exits early (a configuration error) must fail the run, not hang it.
    for name, setup in [("floor (fork/exec/waitpid)", floor), ("vakt supervisor", vakt), ("supervisord", supervisord)]:
        log, start = setup()
        latencies = measure(name, start, log, args.iterations)
        results[name] = (statistics.median(latencies), percentile(latencies, 99))

    floor_median, floor_p99 = results["floor (fork/exec/waitpid)"]
    vakt_median, vakt_p99 = results["vakt supervisor"]
    sd_median, sd_p99 = results["supervisord"]
    print(f"crash-to-respawn latency, SIGKILL until the new child wrote its first line, {args.iterations} runs each")
    print(f"{'':28} {'median ms':>10} {'p99 ms':>10}")
    for name, (median, p99) in results.items():
        print(f"{name:28} {median:10.3f} {p99:10.3f}")
    print(f"vakt / floor:        median {vakt_median / floor_median:6.2f}x   p99 {vakt_p99 / floor_p99:6.2f}x   (goal: within 2x)")
    print(f"supervisord / vakt:  median {sd_median / vakt_median:6.1f}x   p99 {sd_p99 / vakt_p99:6.1f}x   (goal: at least 10x)")

    if args.system_config:
        system_log = open(os.path.join(work, "system-supervisor.log"), "w")
        process = subprocess.Popen([args.vakt, "supervisor", "--config", args.system_config], stdout=devnull, stderr=system_log)
        try:
            time.sleep(10)  # every service started and ready
            cpu0, _ = proc_cpu_and_rss(process.pid)
            start = time.monotonic()
            time.sleep(args.idle_seconds)
            cpu1, rss = proc_cpu_and_rss(process.pid)
            elapsed = time.monotonic() - start
            print(f"supervisor idle with nine services for {elapsed:.0f}s: CPU {100 * (cpu1 - cpu0) / elapsed:.2f}% of one core "
                  f"(goal < 1%), resident {rss / 1048576:.1f} MiB (goal < 64 MiB); its log: {system_log.name}")
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)

if __name__ == "__main__":
    main()
