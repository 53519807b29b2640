import EventBus
import Foundation
import PrometheusText
import RedisClient
import Testing
import VaktConfig
import VaktTesting

#if canImport(Glibc)
    import Glibc
#endif

/// `dashboards/`: the Prometheus rules and configuration pass promtool, the Grafana
/// dashboards take their data source from a template variable, and every metric either
/// names is exported by a running system.
@Suite struct DashboardTests {
    static let directory = TestEnvironment.packageRoot.appendingPathComponent("dashboards")

    static func dashboards() throws -> [(name: String, json: [String: Any])] {
        let grafana = directory.appendingPathComponent("grafana")
        return try FileManager.default.contentsOfDirectory(atPath: grafana.path).filter { $0.hasSuffix(".json") }.sorted().map { name in
            let data = try Data(contentsOf: grafana.appendingPathComponent(name))
            return (name, try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any]))
        }
    }

    /// Every PromQL expression of the dashboards and the rules.
    static func expressions() throws -> [String] {
        var expressions: [String] = []
        for (_, json) in try dashboards() {
            for panel in json["panels"] as? [[String: Any]] ?? [] {
                for target in panel["targets"] as? [[String: Any]] ?? [] {
                    if let expr = target["expr"] as? String { expressions.append(expr) }
                }
            }
        }
        let rules = try String(contentsOf: directory.appendingPathComponent("prometheus/rules.yml"), encoding: .utf8)
        for line in rules.split(separator: "\n") where line.trimmingCharacters(in: .whitespaces).hasPrefix("expr:") {
            expressions.append(String(line.split(separator: ":", maxSplits: 1)[1]))
        }
        return expressions
    }

    /// Metric names in an expression: identifiers that are not PromQL functions, keywords or
    /// label names, with histogram suffixes taken off.
    static func metricNames(in expression: String) -> Set<String> {
        let words = ["sum", "by", "rate", "increase", "max", "histogram_quantile", "without", "on", "le", "and", "or", "unless"]
        var names: Set<String> = []
        var withoutLabels = expression
        // Drop label matchers and grouping lists: {…} and (…) after by.
        while let open = withoutLabels.firstIndex(of: "{"), let close = withoutLabels[open...].firstIndex(of: "}") {
            withoutLabels.removeSubrange(open...close)
        }
        withoutLabels = withoutLabels.replacing(/by \([^)]*\)/, with: "")
        for match in withoutLabels.matches(of: /[a-zA-Z_:][a-zA-Z0-9_:]*/) {
            let word = String(match.output)
            guard !words.contains(word), word.contains("_") else { continue }
            names.insert(word.replacing(/_(bucket|sum|count)$/, with: ""))
        }
        return names
    }

    @Test func rulesAndConfigurationPassPromtool() async throws {
        let prometheus = Self.directory.appendingPathComponent("prometheus")
        let rules = try await Promtool.check("rules", ["rules.yml"], in: prometheus)
        #expect(rules.status == 0, "\(rules.output)")
        let config = try await Promtool.check("config", ["prometheus.yml"], in: prometheus)
        #expect(config.status == 0, "\(config.output)")
    }

    @Test func everyAlertHasARunbookSection() throws {
        let root = TestEnvironment.packageRoot
        let runbook = try String(contentsOf: root.appendingPathComponent("docs/runbook.md"), encoding: .utf8)
        // GitHub's anchors: headings lower-cased, spaces as dashes, other punctuation dropped.
        let anchors = Set(
            runbook.split(separator: "\n").filter { $0.hasPrefix("#") }.map { heading in
                String(
                    heading.drop { $0 == "#" }.trimmingCharacters(in: .whitespaces).lowercased()
                        .compactMap { $0 == " " ? "-" : ($0.isLetter || $0.isNumber || $0 == "-" ? $0 : nil) })
            })
        let rules = try String(contentsOf: root.appendingPathComponent("dashboards/prometheus/rules.yml"), encoding: .utf8)
        var alerts = 0
        for line in rules.split(separator: "\n").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            if line.hasPrefix("- alert:") {
                let name = line.dropFirst("- alert:".count).trimmingCharacters(in: .whitespaces)
                #expect(runbook.contains("`\(name)`") || anchors.contains(name.lowercased()), "\(name) in docs/runbook.md")
                alerts += 1
            }
            if line.hasPrefix("runbook_url:") {
                let anchor = line.split(separator: "#").last.map(String.init) ?? ""
                #expect(anchors.contains(anchor), "#\(anchor) in docs/runbook.md")
            }
        }
        #expect(alerts >= 14)
        for name in ["VaktServiceFailing", "VaktDependencyDown", "VaktTradingHalted", "VaktEventStreamStale", "VaktConsumerGroupStalled"] {
            #expect(anchors.contains(name.lowercased()), "the supervisor's \(name) has a section")
        }
    }

    @Test func dashboardsTakeTheirDataSourceFromATemplateVariable() async throws {
        let dashboards = try Self.dashboards()
        #expect(dashboards.map(\.name) == ["event-bus.json", "system-overview.json", "trading.json"])
        for (name, json) in dashboards {
            let variables = (json["templating"] as? [String: Any])?["list"] as? [[String: Any]] ?? []
            #expect(variables.contains { $0["name"] as? String == "datasource" && $0["type"] as? String == "datasource" }, "\(name)")
            for panel in json["panels"] as? [[String: Any]] ?? [] {
                #expect((panel["datasource"] as? [String: Any])?["uid"] as? String == "${datasource}", "\(name): \(panel["title"] ?? "")")
            }
        }
    }

    @Test func aRunningSystemExportsEveryMetricTheDashboardsAndRulesUse() async throws {
        let names = try Self.expressions().reduce(into: Set<String>()) { $0.formUnion(Self.metricNames(in: $1)) }
        #expect(names.count >= 24, "\(names.sorted())")
        let postgres = try await PostgresServer().freshDatabase()
        let system = try await SupervisedSystem(
            programs: [], services: Set(ServiceKind.allCases).subtracting([.supervisor]),
            sections: "metrics:\n  scrape_interval: 500ms\n  scrape_timeout: 500ms\nlag:\n  interval: 300ms\n"
                + "alerts:\n  receivers:\n    oncall: { url: \"http://127.0.0.1:\(TestEnvironment.freePort())/hook\" }\n",
            postgres: postgres)
        defer { Task { _ = await system.stop() } }
        for kind in ServiceKind.allCases where kind != .supervisor {
            #expect(await system.waitFor(kind.rawValue, timeout: .seconds(60)) { $0["ready"] as? Bool == true }, "\(kind)")
        }
        // Activity some metrics appear with: a portfolio snapshot, a restart, an ESS trip and reset.
        let snapshot = EventEnvelope(
            type: .portfolioSnapshot, source: "test", payload: .object(["equity": .string("10000"), "dailyPnl": .string("-12.50")]))
        _ = try await RedisConnection(endpoint: system.redis.endpoint).pipeline(bytes: [
            ["XADD", snapshot.type.stream, "*", "envelope"].map { Array($0.utf8) } + [Array(snapshot.encoded())]
        ])
        let pid = try #require(await system.service("rl-training")?["pid"] as? Int)
        kill(Int32(pid), SIGKILL)
        #expect(await system.waitFor("rl-training") { $0["pid"] as? Int != pid && $0["ready"] as? Bool == true })
        let risk = system.configuration.url(.risk, "/api/ess")
        let token = [("Authorization", "Bearer \(SupervisedSystem.controlToken)")]
        #expect(try await HTTPProbe.request(.POST, risk + "/trip", headers: token, body: #"{"reason": "dashboard test"}"#).status == 200)
        #expect(try await HTTPProbe.request(.POST, risk + "/reset", headers: token, body: #"{"reason": "done"}"#).status == 200)

        // Every service's policy consumer is a group the supervisor judges and shows.
        var groups: [[String: Any]] = []
        #expect(
            await TestEnvironment.eventually {
                let body = (try? await HTTPProbe.get(system.apiURL))?.body ?? []
                groups =
                    ((try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any])?["consumerGroups"] as? [[String: Any]] ?? []
                return groups.contains { $0["stream"] as? String == "policy.updated" && $0["group"] as? String == "gateway" }
            }, "\(groups)")
        let status = try await TestEnvironment.run(
            TestEnvironment.vaktExecutable, ["status", "--config", system.configuration.path],
            environment: ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("VAKT_") })
        #expect(
            status.output.contains("consumer groups (lag verdicts):") && status.output.contains("gateway on policy.updated"),
            "\(status.output)")
        #expect(status.output.contains("health mesh:") && status.output.contains("redis [SPOF]"), "\(status.output)")

        var missing: Set<String> = names
        #expect(
            await TestEnvironment.eventually(timeout: .seconds(30)) {
                guard let text = try? await system.metrics(), let families = try? ExpositionParser().parse(Array(text.utf8)) else {
                    return false
                }
                let exported = Set(families.map(\.name) + families.flatMap { $0.samples.map(\.name) })
                missing = names.subtracting(exported)
                return missing.isEmpty
            }, "not exported: \(missing.sorted())")
    }
}
