import VaktConfig

/// Start and stop order from `depends_on`: each level depends only on earlier levels.
public enum StartOrder {
    /// Levels to start one after another; configuration validation has ruled out cycles.
    public static func levels(_ services: [ServiceSettings]) -> [[String]] {
        var remaining = Dictionary(uniqueKeysWithValues: services.map { ($0.name, Set($0.dependsOn)) })
        let order = services.map(\.name)
        var placed: Set<String> = []
        var levels: [[String]] = []
        while !remaining.isEmpty {
            let level = order.filter { name in remaining[name].map { $0.isSubset(of: placed) } ?? false }
            guard !level.isEmpty else {
                // Unreachable after validation; start the rest together rather than never.
                levels.append(order.filter { remaining[$0] != nil })
                break
            }
            levels.append(level)
            for name in level { remaining[name] = nil }
            placed.formUnion(level)
        }
        return levels
    }

    /// The reverse: dependents stop before what they depend on.
    public static func stopLevels(_ services: [ServiceSettings]) -> [[String]] {
        levels(services).reversed()
    }

    /// The longest an orderly stop of `services` takes: level after level, each as long as its
    /// slowest member's `stop_timeout` (SIGKILL comes then).
    public static func stopDuration(_ services: [ServiceSettings]) -> Duration {
        let timeouts = Dictionary(uniqueKeysWithValues: services.map { ($0.name, $0.stopTimeout) })
        return stopLevels(services).reduce(.zero) { total, level in total + (level.compactMap { timeouts[$0] }.max() ?? .zero) }
    }
}
