/// Writes families in the text format 0.0.4, which `promtool check metrics` and every
/// Prometheus read. OpenMetrics-only shapes are written as their nearest 0.0.4 equivalent: a
/// counter family takes its `_total` sample name, `_created` samples become gauges of their own,
/// `info` and `stateset` are gauges, others untyped.
public enum ExpositionWriter {
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    public static func write(_ families: [MetricFamily], into output: inout [UInt8]) {
        for family in families {
            for part in textFormatFamilies(family) where !part.samples.isEmpty {
                if let help = part.help {
                    output.append(contentsOf: "# HELP \(part.name) ".utf8)
                    escape(help, quotes: false, into: &output)
                    output.append(0x0A)
                }
                output.append(contentsOf: "# TYPE \(part.name) \(part.type.rawValue)\n".utf8)
                for sample in part.samples { write(sample, into: &output) }
            }
        }
    }

    public static func write(_ sample: Sample, into output: inout [UInt8]) {
        output.append(contentsOf: sample.name.utf8)
        if !sample.labels.isEmpty {
            output.append(UInt8(ascii: "{"))
            for (index, label) in sample.labels.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                output.append(contentsOf: label.name.utf8)
                output.append(contentsOf: "=\"".utf8)
                escape(label.value, quotes: true, into: &output)
                output.append(UInt8(ascii: "\""))
            }
            output.append(UInt8(ascii: "}"))
        }
        output.append(0x20)
        appendValue(sample.value, to: &output)
        if let timestamp = sample.timestamp {
            output.append(0x20)
            output.append(contentsOf: String(timestamp).utf8)
        }
        output.append(0x0A)
    }

    /// Integers digit by digit, without making a string; others as ``format(_:)``.
    static func appendValue(_ value: Double, to output: inout [UInt8]) {
        guard value == value.rounded(), abs(value) < 1e15 else {
            output.append(contentsOf: format(value).utf8)
            return
        }
        var integer = Int64(value)
        if integer < 0 {
            output.append(UInt8(ascii: "-"))
            integer = -integer
        }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var count = 0
            repeat {
                digits[count] = UInt8(ascii: "0") + UInt8(integer % 10)
                integer /= 10
                count += 1
            } while integer > 0
            for index in stride(from: count - 1, through: 0, by: -1) { output.append(digits[index]) }
        }
    }

    /// `NaN`, `+Inf`, `-Inf`, integers without a fraction, others in Swift's shortest form.
    public static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    static func escape(_ text: String, quotes: Bool, into output: inout [UInt8]) {
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x0A: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case UInt8(ascii: "\"") where quotes: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            default: output.append(byte)
            }
        }
    }

    static func textFormatFamilies(_ family: MetricFamily) -> [MetricFamily] {
        switch family.type {
        case .counter, .histogram, .summary:
            // Text-format families, the usual case, are written as they are.
            if !family.samples.contains(where: { $0.name.hasSuffix("_created") || (family.type == .counter && $0.name != family.name) }) {
                return [family]
            }
            var main = MetricFamily(name: family.name, type: family.type, help: family.help)
            var others: [MetricFamily] = []
            for sample in family.samples {
                if sample.name.hasSuffix("_created") && sample.name != family.name {
                    others.append(MetricFamily(name: sample.name, type: .gauge, samples: [sample]))
                    continue
                }
                if family.type == .counter { main.name = sample.name }
                main.samples.append(sample)
            }
            return [main] + merged(others)
        case .gauge, .untyped: return [family]
        case .info, .stateset:
            return merged(family.samples.map { MetricFamily(name: $0.name, type: .gauge, help: family.help, samples: [$0]) })
        case .unknown, .gaugehistogram:
            return merged(family.samples.map { MetricFamily(name: $0.name, type: .untyped, help: family.help, samples: [$0]) })
        }
    }

    /// Families of one sample each, joined by name in order.
    private static func merged(_ parts: [MetricFamily]) -> [MetricFamily] {
        var result: [MetricFamily] = []
        for part in parts {
            if let last = result.indices.last, result[last].name == part.name {
                result[last].samples += part.samples
            } else {
                result.append(part)
            }
        }
        return result
    }
}
