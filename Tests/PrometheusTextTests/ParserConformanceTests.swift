import Foundation
import PrometheusText
import Testing
import VaktTesting

/// The parser against expositions written from the format's specification: each valid one
/// parses to what it says and survives a round trip through the writer and promtool; each
/// invalid one is refused with its line and reason.
@Suite struct ParserConformanceTests {
    static func parse(_ text: String, _ format: ExpositionParser.Format = .text, maxSamples: Int = .max) throws(ExpositionError)
        -> [MetricFamily]
    {
        try ExpositionParser(format: format, maxSamples: maxSamples).parse(Array(text.utf8))
    }

    static let full = #"""
        # HELP http_requests_total The total number of HTTP requests.
        # TYPE http_requests_total counter
        http_requests_total{method="post",code="200"} 1027 1395066363000
        http_requests_total{method="post",code="400"}    3 1395066363000

        # Escaping in label values:
        msdos_file_access_time_seconds{path="C:\\DIR\\FILE.TXT",error="Cannot find file:\n\"FILE.TXT\""} 1.458255915e9

        # Minimalistic line:
        metric_without_timestamp_and_labels 12.47

        # A weird metric from before the epoch:
        something_weird{problem="division by zero"} +Inf -3982045

        # HELP help_escapes A backslash \\ and a newline \n in help.
        # TYPE help_escapes gauge
        help_escapes{} -Inf
        not_a_number NaN

        # A histogram, which has a pretty complex representation in the text format:
        # HELP http_request_duration_seconds A histogram of the request duration.
        # TYPE http_request_duration_seconds histogram
        http_request_duration_seconds_bucket{le="0.05"} 24054
        http_request_duration_seconds_bucket{le="0.1"} 33444
        http_request_duration_seconds_bucket{le="0.2"} 100392
        http_request_duration_seconds_bucket{le="0.5"} 129389
        http_request_duration_seconds_bucket{le="1"} 133988
        http_request_duration_seconds_bucket{le="+Inf"} 144320
        http_request_duration_seconds_sum 53423
        http_request_duration_seconds_count 144320

        # Finally a summary, which has a complex representation, too:
        # HELP rpc_duration_seconds A summary of the RPC duration in seconds.
        # TYPE rpc_duration_seconds summary
        rpc_duration_seconds{quantile="0.01"} 3102
        rpc_duration_seconds{quantile="0.05"} 3272
        rpc_duration_seconds{quantile="0.5"} 4773
        rpc_duration_seconds{quantile="0.9"} 9001
        rpc_duration_seconds{quantile="0.99"} 76656
        rpc_duration_seconds_sum 1.7560473e+07
        rpc_duration_seconds_count 2693
        # TYPE untyped_with_trailing_comma untyped
        untyped_with_trailing_comma{a="1",b="ünïcødé ✓",} 0.5

        """#

    @Test func theSpecificationsExampleParsesToWhatItSays() async throws {
        let families = try Self.parse(Self.full)
        #expect(
            families.map(\.name) == [
                "http_requests_total", "msdos_file_access_time_seconds", "metric_without_timestamp_and_labels", "something_weird",
                "help_escapes", "not_a_number", "http_request_duration_seconds", "rpc_duration_seconds", "untyped_with_trailing_comma",
            ])
        let requests = families[0]
        #expect(requests.type == .counter && requests.help == "The total number of HTTP requests.")
        #expect(
            requests.samples[1]
                == Sample(
                    name: "http_requests_total", labels: [Label("method", "post"), Label("code", "400")], value: 3,
                    timestamp: 1_395_066_363_000))
        #expect(families[1].samples[0].labels == [Label("path", #"C:\DIR\FILE.TXT"#), Label("error", "Cannot find file:\n\"FILE.TXT\"")])
        #expect(families[1].samples[0].value == 1.458255915e9)
        #expect(families[3].samples[0].value == .infinity && families[3].samples[0].timestamp == -3_982_045)
        #expect(families[4].help == "A backslash \\ and a newline \n in help." && families[4].samples[0].value == -.infinity)
        #expect(families[5].samples[0].value.isNaN)
        #expect(families[6].type == .histogram && families[6].samples.count == 8)
        #expect(families[7].type == .summary && families[7].samples.count == 7)
        #expect(families[8].samples[0].labels[1].value == "ünïcødé ✓")
    }

    @Test func writtenBackItParsesTheSameAndPassesPromtool() async throws {
        let families = try Self.parse(Self.full)
        var output: [UInt8] = []
        ExpositionWriter.write(families, into: &output)
        #expect(try ExpositionParser().parse(output) == families)
        let promtool = try await Promtool.checkMetrics(String(decoding: output, as: UTF8.self))
        // promtool lints naming conventions too; only its errors matter here.
        #expect(!promtool.output.contains("error"), "\(promtool.output)")
    }

    @Test func openMetricsWithSecondTimestampsAndEOFIsReadAndWrittenAsText() async throws {
        let text = """
            # TYPE acme_http_router_request counter
            # HELP acme_http_router_request Total number of requests
            # UNIT acme_http_router_request requests
            acme_http_router_request_total{path="/api/v1",method="GET"} 1.0 1604676851.123
            acme_http_router_request_created{path="/api/v1",method="GET"} 1604676000.0
            # TYPE build info
            build_info{version="1.2"} 1
            # TYPE latency histogram
            latency_bucket{le="0.5"} 3 # {trace_id="abc"} 0.4 1604676851.0
            latency_bucket{le="+Inf"} 4
            latency_sum 1.5
            latency_count 4
            # EOF
            """
        let families = try Self.parse(text, .openMetrics)
        #expect(families[0].samples[0].timestamp == 1_604_676_851_123)
        #expect(families[1].type == .info)
        var output: [UInt8] = []
        ExpositionWriter.write(families, into: &output)
        let written = String(decoding: output, as: UTF8.self)
        #expect(
            written.contains(
                "# TYPE acme_http_router_request_total counter\nacme_http_router_request_total{path=\"/api/v1\",method=\"GET\"} 1 1604676851123\n"
            ))
        #expect(written.contains("# TYPE acme_http_router_request_created gauge"))
        #expect(written.contains("# TYPE build_info gauge"))
        let promtool = try await Promtool.checkMetrics(written)
        // promtool lints naming conventions too; only its errors matter here.
        #expect(!promtool.output.contains("error"), "\(promtool.output)")
    }

    @Test(arguments: [
        ("metric{a=\"1\" 2\n", 1, "expected , or } after label a"),
        ("metric{a=1} 2\n", 1, "expected a quoted value for label a"),
        ("metric{a=\"x\\q\"} 2\n", 1, "invalid escape \\q in label value"),
        ("metric{a=\"open} 2\n", 1, "label value not closed by a quote"),
        ("metric{__name__=\"x\"} 2\n", 1, "label name __name__ is reserved"),
        ("metric{a=\"1\",a=\"2\"} 2\n", 1, "label a appears twice"),
        ("metric{1a=\"1\"} 2\n", 1, "invalid label name"),
        ("0metric 1\n", 1, "invalid metric name"),
        ("metric\n", 1, "expected a space and a value after metric"),
        ("metric abc\n", 1, "invalid value \"abc\" for metric"),
        ("metric 0x1F\n", 1, "invalid value \"0x1F\""),
        ("metric 1 12.5\n", 1, "invalid timestamp \"12.5\""),
        ("metric 1 2 3\n", 1, "unexpected text after the value of metric"),
        ("ok 1\n# TYPE metric gauge\n# TYPE metric counter\n", 3, "second # TYPE for metric"),
        ("# HELP metric one\n# HELP metric two\n", 2, "second # HELP for metric"),
        ("# TYPE metric gauges\n", 1, "invalid type \"gauges\" for metric"),
        ("# TYPE metric info\n", 1, "invalid type \"info\" for metric"),
        ("metric 1\n# TYPE metric gauge\n", 2, "# TYPE for metric after its samples"),
        ("a 1\nb 1\na{x=\"1\"} 2\n", 3, "samples of a are not grouped together"),
        ("a{x=\"1\"} 1\na{x=\"1\"} 2\n", 2, "duplicate series a{x=\"1\"}"),
        ("a{x=\"1\",y=\"2\"} 1\na{y=\"2\",x=\"1\"} 2\n", 2, "duplicate series"),
        (
            "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"0.5\"} 2\nh_bucket{le=\"+Inf\"} 2\n", 3,
            "histogram h buckets out of order at le=\"0.5\""
        ),
        ("# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"2\"} 2\nh_count 2\n", 2, "histogram h has no +Inf bucket"),
        ("# TYPE h histogram\nh_bucket{le=\"1\"} 5\nh_bucket{le=\"+Inf\"} 4\n", 3, "counts fewer than the one before"),
        ("# TYPE h histogram\nh_bucket{le=\"+Inf\"} 4\nh_count 5\n", 2, "_count 5.0 differs from its +Inf bucket 4.0"),
        ("# TYPE h histogram\nh_bucket 4\n", 2, "histogram bucket without le"),
        ("# TYPE h histogram\nh_bucket{le=\"big\"} 4\n", 2, "le=\"big\" is not a number"),
        ("# TYPE s summary\ns{quantile=\"1.5\"} 1\n", 2, "summary s needs a quantile label between 0 and 1"),
        ("# TYPE s summary\ns 1\n", 2, "summary s needs a quantile label"),
        ("# HELP metric ends in \\", 1, "help text ends in a lone backslash"),
    ])
    func invalidExpositionsAreRefusedWithLineAndReason(text: String, line: Int, reason: String) {
        do {
            _ = try Self.parse(text)
            Issue.record("accepted: \(text)")
        } catch {
            #expect(error.line == line, "\(error)")
            #expect(error.reason.contains(reason), "\(error)")
        }
    }

    @Test func invalidUTF8IsRefused() {
        var bytes = Array("metric{a=\"".utf8)
        bytes += [0xC3, 0x28]
        bytes += Array("\"} 1\n".utf8)
        #expect(throws: ExpositionError(line: 1, reason: "label value is not valid UTF-8")) { try ExpositionParser().parse(bytes) }
        var help = Array("# HELP m bad ".utf8)
        help += [0xFF, 0x0A]
        #expect(throws: ExpositionError(line: 1, reason: "help text is not valid UTF-8")) { try ExpositionParser().parse(help) }
    }

    @Test func openMetricsRules() {
        #expect(throws: ExpositionError(line: 1, reason: "OpenMetrics exposition does not end with # EOF")) {
            try Self.parse("a_total 1\n", .openMetrics)
        }
        #expect(throws: ExpositionError(line: 3, reason: "content after # EOF")) { try Self.parse("a 1\n# EOF\nb 2\n", .openMetrics) }
        #expect(throws: ExpositionError.self) { try Self.parse("a 1\n\n# EOF", .openMetrics) }
    }

    @Test func theSampleCapRefusesTheWholeExposition() {
        let text = (0..<11).map { "m{i=\"\($0)\"} 1" }.joined(separator: "\n")
        #expect(throws: ExpositionError(line: 11, reason: "more than 10 samples")) { try Self.parse(text, maxSamples: 10) }
        #expect((try? Self.parse(text, maxSamples: 11))?.first?.samples.count == 11)
    }
}

/// Large expositions are parsed in two halves at once; the result must always be the serial one.
@Suite struct ParallelParseTests {
    static let serial = ExpositionParser(parallelFrom: .max)
    static let parallel = ExpositionParser(parallelFrom: 0)

    static func exposition(families: Int) -> String {
        (0..<families).map { family in
            "# HELP f\(family) Family \(family).\n# TYPE f\(family) histogram\n"
                + (0..<3).map { series in
                    ["0.1", "1", "+Inf"].enumerated().map { "f\(family)_bucket{s=\"\(series)\",le=\"\($1)\"} \($0 + 1)\n" }.joined()
                        + "f\(family)_sum{s=\"\(series)\"} 1.5\nf\(family)_count{s=\"\(series)\"} 3\n"
                }.joined()
        }.joined()
    }

    @Test func twoHalvesGiveTheSerialResult() async throws {
        let bytes = Array(Self.exposition(families: 400).utf8)
        let families = try Self.parallel.parse(bytes)
        #expect(families == (try Self.serial.parse(bytes)))
        #expect(families.count == 400 && families.allSatisfy { $0.samples.count == 15 })
    }

    /// What the halves cannot see alone: a duplicate series across the halves, a type declared
    /// in the first half for samples at the end (allowed), a family continued after others, an
    /// error late in the second half, the sample cap.
    @Test func errorsAcrossTheHalvesAreTheSerialErrors() async throws {
        let text = Self.exposition(families: 400)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let middle = lines.count / 2
        let cases: [String] = [
            (lines + ["f3_bucket{s=\"9\",le=\"+Inf\"} 1"]).joined(separator: "\n"),
            (lines[..<middle] + ["# TYPE late gauge"] + lines[middle...] + ["late 1"]).joined(separator: "\n"),
            (lines + ["f0_sum{s=\"0\"} 2"]).joined(separator: "\n"),
            (lines.dropLast(3) + ["f399_count{s=\"2\"} 4", ""]).joined(separator: "\n"),
        ]
        for (number, text) in cases.enumerated() {
            let bytes = Array(text.utf8)
            let serial = Result { () throws(ExpositionError) in try Self.serial.parse(bytes) }
            let parallel = Result { () throws(ExpositionError) in try Self.parallel.parse(bytes) }
            #expect(parallel == serial, "case \(number)")
            if number != 1 { #expect((try? serial.get()) == nil, "case \(number) must be refused") }
        }
        let capped = Array(text.utf8)
        #expect(throws: ExpositionError(line: 1_135, reason: "more than 1000 samples")) {
            try ExpositionParser(maxSamples: 1000, parallelFrom: .max).parse(capped)
        }
        #expect(throws: ExpositionError(line: 1_135, reason: "more than 1000 samples")) {
            try ExpositionParser(maxSamples: 1000, parallelFrom: 0).parse(capped)
        }
    }
}
