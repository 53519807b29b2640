import Dispatch

#if canImport(Glibc)
    import Glibc
#endif

/// Parses an exposition completely or not at all: the first rule broken ends the parse with
/// its line number, as Prometheus treats a scrape.
///
/// Rules checked (text format 0.0.4, and OpenMetrics 1.0 when asked): metric and label name
/// syntax, reserved `__` label names, duplicate label names, label value escapes (`\\`, `\"`,
/// `\n` only), float values including `NaN`, `+Inf`, `-Inf`, integer millisecond timestamps
/// (OpenMetrics: float seconds), at most one `# HELP` and `# TYPE` per family and `# TYPE`
/// before its samples, a family's samples in one group, no duplicate series, histogram buckets
/// with an `le`, in increasing order, cumulative, ending in `+Inf`, with `_count` equal to it,
/// summary quantiles between 0 and 1, valid UTF-8, and for OpenMetrics a final `# EOF`.
public struct ExpositionParser: Sendable {
    public enum Format: Sendable {
        /// `text/plain; version=0.0.4`
        case text
        /// `application/openmetrics-text`
        case openMetrics
    }

    public var format: Format
    /// More samples than this refuse the whole exposition.
    public var maxSamples: Int

    /// Expositions at least this large are parsed in two halves at once (see ``parseHalves``).
    public var parallelFrom: Int

    public init(format: Format = .text, maxSamples: Int = .max, parallelFrom: Int = 1 << 20) {
        self.format = format
        self.maxSamples = maxSamples
        self.parallelFrom = parallelFrom
    }

    /// The format a `Content-Type` names; 0.0.4 text unless it says OpenMetrics.
    public static func format(contentType: String?) -> Format {
        contentType?.lowercased().contains("application/openmetrics-text") == true ? .openMetrics : .text
    }

    public func parse(_ bytes: [UInt8]) throws(ExpositionError) -> [MetricFamily] {
        try bytes.withUnsafeBufferPointer { (buffer) throws(ExpositionError) in
            if buffer.count >= parallelFrom, let halves = parseHalves(buffer) { return halves }
            var state = ParseState(format: format, maxSamples: maxSamples)
            try state.run(buffer)
            return state.families
        }
    }

    /// Parses the two halves of a large exposition on two threads, split where a family's
    /// comment block begins. The result is used only when it must equal a serial parse: both
    /// halves parsed cleanly and no family of the second half is, or extends, one of the first
    /// (a family's type, help and samples all in one half), and the first half did not end the
    /// exposition. Anything else, errors included, returns nil and the caller parses serially,
    /// which reports the first error with its line.
    func parseHalves(_ buffer: UnsafeBufferPointer<UInt8>) -> [MetricFamily]? {
        guard let split = Self.splitPoint(buffer) else { return nil }
        let halves = [UnsafeBufferPointer(rebasing: buffer[..<split]), UnsafeBufferPointer(rebasing: buffer[split...])]
        let results = UnsafeMutableBufferPointer<ParseState?>.allocate(capacity: 2)
        results.initialize(repeating: nil)
        defer {
            results.deinitialize()
            results.deallocate()
        }
        // Each thread reads its own half and writes its own slot; concurrentPerform returns
        // only when both are done, and the buffer outlives it.
        let shared = SharedHalves(halves: halves, results: results)
        let format = self.format
        let maxSamples = self.maxSamples
        DispatchQueue.concurrentPerform(iterations: 2) { index in
            var state = ParseState(format: format, maxSamples: maxSamples, requireEOF: index == 1)
            do {
                try state.run(shared.halves[index])
                shared.results[index] = state
            } catch {}
        }
        guard let first = results[0], let second = results[1], !first.sawEOF,
            first.sampleCount + second.sampleCount <= maxSamples
        else { return nil }
        for family in second.families {
            if first.familyIndex[family.name] != nil { return nil }
            for suffix in MetricType.allSampleSuffixes where family.name.hasSuffix(suffix) {
                if first.familyIndex[String(family.name.dropLast(suffix.count))] != nil { return nil }
            }
        }
        return first.families + second.families
    }

    /// The start of a `# HELP` or `# TYPE` line that follows a sample line, nearest after the
    /// middle.
    static func splitPoint(_ buffer: UnsafeBufferPointer<UInt8>) -> Int? {
        var index = buffer.count / 2
        while index < buffer.count && buffer[index] != 0x0A { index += 1 }
        var previousIsSample = false
        while index < buffer.count - 8 {
            let lineStart = index + 1
            let isComment = buffer[lineStart] == UInt8(ascii: "#")
            if isComment && previousIsSample && buffer[lineStart + 1] == 0x20
                && (buffer[lineStart + 2] == UInt8(ascii: "H") || buffer[lineStart + 2] == UInt8(ascii: "T"))
            {
                return lineStart
            }
            previousIsSample = !isComment && buffer[lineStart] != 0x0A
            index = lineStart
            while index < buffer.count && buffer[index] != 0x0A { index += 1 }
        }
        return nil
    }
}

private struct ParseState {
    let format: ExpositionParser.Format
    let maxSamples: Int
    var families: [MetricFamily] = []
    var familyIndex: [String: Int] = [:]
    var declaredTypes: [String: MetricType] = [:]
    var helped: Set<String> = []
    var current: Int?
    var closed: Set<Int> = []
    /// Series seen, by a hash of name and labels (in any order), with where each sample is,
    /// so that a hash collision is told from a real duplicate.
    var series: [UInt64: SeriesReference] = [:]
    var collidingSeries: [UInt64: [SeriesReference]] = [:]

    struct SeriesReference {
        var family: Int32
        var sample: Int32
    }
    var sampleCount = 0
    var histograms: [UInt64: HistogramGroup] = [:]
    var line = 0
    var sawEOF = false
    var lastName = ""
    var lastNameBytes: [UInt8] = []
    /// The current family's name and type, kept apart so the hot path reads no family.
    var currentName = ""
    var currentType = MetricType.untyped

    struct HistogramGroup {
        var labels: [Label]
        var family: Int
        var firstLine: Int
        var lastBound = -Double.infinity
        var lastCount = -Double.infinity
        var infinityCount: Double?
        var count: Double?
        var hasBuckets = false
    }

    /// Whether the exposition must end with `# EOF` (OpenMetrics), false for a first half.
    let requireEOF: Bool

    init(format: ExpositionParser.Format, maxSamples: Int, requireEOF: Bool = true) {
        self.format = format
        self.maxSamples = maxSamples
        self.requireEOF = requireEOF
    }

    func fail(_ reason: String) -> ExpositionError { ExpositionError(line: line, reason: reason) }

    mutating func run(_ buffer: UnsafeBufferPointer<UInt8>) throws(ExpositionError) {
        series.reserveCapacity(buffer.count / 64)
        var start = 0
        let end = buffer.count
        while start < end {
            var stop = start
            while stop < end && buffer[stop] != 0x0A { stop += 1 }
            line += 1
            if sawEOF { throw fail("content after # EOF") }
            try parseLine(UnsafeBufferPointer(rebasing: buffer[start..<stop]))
            start = stop + 1
        }
        if format == .openMetrics && requireEOF && !sawEOF {
            throw ExpositionError(line: line, reason: "OpenMetrics exposition does not end with # EOF")
        }
        if let current { try close(current) }
    }

    mutating func parseLine(_ text: UnsafeBufferPointer<UInt8>) throws(ExpositionError) {
        var cursor = Cursor(text)
        if format == .text { cursor.skipSpaces() }
        guard !cursor.atEnd else {
            if format == .openMetrics { throw fail("empty line") }
            return
        }
        if cursor.peek == UInt8(ascii: "#") {
            try parseComment(&cursor)
        } else {
            try parseSample(&cursor)
        }
    }

    // MARK: Comments

    mutating func parseComment(_ cursor: inout Cursor) throws(ExpositionError) {
        cursor.advance()
        if format == .openMetrics && cursor.rest == Array(" EOF".utf8)[...] {
            sawEOF = true
            return
        }
        guard cursor.take(UInt8(ascii: " ")) || cursor.take(UInt8(ascii: "\t")) else { return }
        cursor.skipSpaces()
        let keyword = cursor.word()
        guard keyword == "HELP" || keyword == "TYPE" || keyword == "UNIT" else {
            if format == .openMetrics { throw fail("unknown comment \"# \(keyword)\"") }
            return
        }
        guard cursor.skipSpaces() > 0 else { throw fail("# \(keyword) needs a metric name") }
        guard let name = cursor.metricName() else { throw fail("invalid metric name in # \(keyword)") }
        switch keyword {
        case "HELP":
            var help = ""
            if !cursor.atEnd {
                guard cursor.skipSpaces() > 0 else { throw fail("invalid metric name in # HELP") }
                help = try cursor.helpText(openMetrics: format == .openMetrics, line: line)
            }
            guard helped.insert(name).inserted else { throw fail("second # HELP for \(name)") }
            families[index(ofFamily: name)].help = help
        case "TYPE":
            guard cursor.skipSpaces() > 0 else { throw fail("# TYPE \(name) needs a type") }
            let typeName = cursor.word()
            cursor.skipSpaces()
            guard cursor.atEnd, let type = MetricType(rawValue: typeName), format == .openMetrics || type.inTextFormat else {
                throw fail("invalid type \"\(typeName)\" for \(name)")
            }
            guard declaredTypes[name] == nil else { throw fail("second # TYPE for \(name)") }
            if let index = familyIndex[name], !families[index].samples.isEmpty {
                throw fail("# TYPE for \(name) after its samples")
            }
            declaredTypes[name] = type
            families[index(ofFamily: name)].type = type
        default:
            break  // # UNIT: accepted, not kept; 0.0.4 has no place for it.
        }
    }

    /// The family's index, made (untyped until a `# TYPE` says otherwise) on first mention.
    mutating func index(ofFamily name: String) -> Int {
        if let index = familyIndex[name] { return index }
        families.append(MetricFamily(name: name, type: declaredTypes[name] ?? .untyped))
        familyIndex[name] = families.count - 1
        return families.count - 1
    }

    // MARK: Samples

    mutating func parseSample(_ cursor: inout Cursor) throws(ExpositionError) {
        guard let nameRange = cursor.metricNameRange() else { throw fail("invalid metric name") }
        // Consecutive samples mostly share a name: reuse the string.
        let name: String
        if cursor.equals(nameRange, lastNameBytes) {
            name = lastName
        } else {
            name = String(decoding: UnsafeBufferPointer(rebasing: cursor.bytes[nameRange]), as: UTF8.self)
            lastName = name
            lastNameBytes = Array(cursor.bytes[nameRange])
        }
        let nameHash = Self.mix(cursor.hash(nameRange, seed: Self.nameSeed))
        var labels = ParsedLabels()
        let afterName = cursor.position
        if format == .text { cursor.skipSpaces() }
        if cursor.take(UInt8(ascii: "{")) {
            labels = try parseLabels(&cursor)
        } else {
            cursor.position = afterName
        }
        guard cursor.skipSpaces() > 0 else { throw fail("expected a space and a value after \(name)") }
        let valueToken = cursor.token()
        guard let value = parseValue(valueToken) else {
            throw fail("invalid value \"\(String(decoding: valueToken, as: UTF8.self))\" for \(name)")
        }
        var timestamp: Int64?
        if cursor.skipSpaces() > 0 && !cursor.atEnd && cursor.peek != UInt8(ascii: "#") {
            let token = cursor.token()
            guard let parsed = parseTimestamp(token) else {
                throw fail("invalid timestamp \"\(String(decoding: token, as: UTF8.self))\" for \(name)")
            }
            timestamp = parsed
            cursor.skipSpaces()
        }
        if !cursor.atEnd {
            // An OpenMetrics exemplar (`# {labels} value`) is allowed and not kept.
            guard format == .openMetrics, cursor.peek == UInt8(ascii: "#") else {
                throw fail("unexpected text after the value of \(name)")
            }
        }
        sampleCount += 1
        guard sampleCount <= maxSamples else { throw fail("more than \(maxSamples) samples") }
        try add(
            Sample(name: name, labels: labels.labels, value: value, timestamp: timestamp), hash: nameHash &+ labels.hash,
            withoutLe: labels.hash &- labels.leHash)
    }

    /// Labels with the order-independent sum of each pair's hash (over the bytes as written,
    /// which determine the value: each character has one escaped form), and the `le` pair's.
    struct ParsedLabels {
        var labels: [Label] = []
        var hash: UInt64 = 0
        var leHash: UInt64 = 0
    }

    static let nameSeed: UInt64 = 0xcbf2_9ce4_8422_2325
    static let labelSeed: UInt64 = 0x8422_2325_cbf2_9ce4

    mutating func parseLabels(_ cursor: inout Cursor) throws(ExpositionError) -> ParsedLabels {
        var parsed = ParsedLabels()
        parsed.labels.reserveCapacity(8)
        while true {
            if format == .text { cursor.skipSpaces() }
            if cursor.take(UInt8(ascii: "}")) { return parsed }
            let nameStart = cursor.position
            guard let name = cursor.labelName() else { throw fail("invalid label name") }
            let nameEnd = cursor.position
            guard !name.hasPrefix("__") else { throw fail("label name \(name) is reserved (starts with __)") }
            if format == .text { cursor.skipSpaces() }
            guard cursor.take(UInt8(ascii: "=")) else { throw fail("expected = after label \(name)") }
            if format == .text { cursor.skipSpaces() }
            guard cursor.take(UInt8(ascii: "\"")) else { throw fail("expected a quoted value for label \(name)") }
            let valueStart = cursor.position
            let value = try cursor.labelValue(line: line)
            guard !parsed.labels.contains(where: { $0.name == name }) else { throw fail("label \(name) appears twice") }
            parsed.labels.append(Label(name, value))
            let pairHash = Self.mix(
                cursor.hash(valueStart..<cursor.position - 1, seed: cursor.hash(nameStart..<nameEnd, seed: Self.labelSeed) ^ 0x3d))
            parsed.hash &+= pairHash
            if name == "le" { parsed.leHash = pairHash }
            if format == .text { cursor.skipSpaces() }
            if cursor.take(UInt8(ascii: ",")) { continue }
            guard cursor.take(UInt8(ascii: "}")) else { throw fail("expected , or } after label \(name)") }
            return parsed
        }
    }

    /// The family a sample name belongs to: its own, or a declared one it is a suffix of.
    func familyName(for sample: String) -> String {
        if declaredTypes[sample] != nil { return sample }
        for suffix in MetricType.allSampleSuffixes where sample.hasSuffix(suffix) {
            let base = String(sample.dropLast(suffix.count))
            guard let type = declaredTypes[base] else { continue }
            if type.sampleSuffixes.contains(suffix) { return base }
        }
        return sample
    }

    /// - Parameters:
    ///   - hash: the series' hash (name and labels).
    ///   - withoutLe: the labels' hash without `le`, for grouping a histogram's buckets.
    mutating func add(_ sample: Sample, hash: UInt64, withoutLe: UInt64) throws(ExpositionError) {
        let name: String
        let index: Int
        if let current,
            sample.name == currentName
                || (MetricFamily.contains(sample.name, family: currentName, type: currentType)
                    && declaredTypes[sample.name] == nil)
        {
            name = currentName
            index = current
        } else {
            name = familyName(for: sample.name)
            index = self.index(ofFamily: name)
        }
        if current != index {
            if closed.contains(index) { throw fail("samples of \(name) are not grouped together") }
            if let current { try close(current) }
            current = index
            currentName = families[index].name
            currentType = families[index].type
        }
        let reference = SeriesReference(family: Int32(index), sample: Int32(families[index].samples.count))
        if let seen = series[hash] {
            let earlier = [seen] + (collidingSeries[hash] ?? [])
            if earlier.contains(where: { Self.sameSeries(families[Int($0.family)].samples[Int($0.sample)], sample) }) {
                throw fail("duplicate series \(sample.name)\(Self.describe(sample.labels))")
            }
            collidingSeries[hash, default: []].append(reference)
        } else {
            series[hash] = reference
        }
        let type = families[index].type
        if type == .histogram || type == .gaugehistogram { try checkHistogram(sample, family: index, labelsHash: withoutLe) }
        if type == .summary && sample.name == name {
            guard let quantile = sample.labels.first(where: { $0.name == "quantile" }), let q = parseValue(quantile.value),
                q >= 0 && q <= 1
            else { throw fail("summary \(name) needs a quantile label between 0 and 1") }
        }
        families[index].samples.append(sample)
    }

    mutating func checkHistogram(_ sample: Sample, family: Int, labelsHash: UInt64) throws(ExpositionError) {
        let base = families[family].name
        var key = Self.mix(UInt64(family)) &+ labelsHash
        // Distinct label sets that share a hash take the next free key.
        while let existing = histograms[key], existing.family != family || !Self.sameLabels(existing.labels, sample.labels, ignoring: "le")
        {
            key &+= 1
        }
        var group = histograms[key] ?? HistogramGroup(labels: sample.labels, family: family, firstLine: line)
        if sample.name.utf8.count == base.utf8.count + 7 && sample.name.hasSuffix("_bucket") {
            guard let le = sample.labels.first(where: { $0.name == "le" }) else { throw fail("histogram bucket without le") }
            guard let bound = parseValue(le.value), !bound.isNaN else {
                throw fail("histogram bucket le=\"\(le.value)\" is not a number")
            }
            guard bound > group.lastBound else { throw fail("histogram \(base) buckets out of order at le=\"\(le.value)\"") }
            guard sample.value >= group.lastCount else {
                throw fail("histogram \(base) bucket le=\"\(le.value)\" counts fewer than the one before")
            }
            group.lastBound = bound
            group.lastCount = sample.value
            group.hasBuckets = true
            if bound == .infinity { group.infinityCount = sample.value }
        } else if sample.name.utf8.count > base.utf8.count && (sample.name.hasSuffix("_count") || sample.name.hasSuffix("_gcount")) {
            group.count = sample.value
        }
        histograms[key] = group
    }

    mutating func close(_ index: Int) throws(ExpositionError) {
        closed.insert(index)
        let type = families[index].type
        guard type == .histogram || type == .gaugehistogram else { return }
        let name = families[index].name
        // A family's samples are contiguous, so every group here is this family's.
        defer { histograms.removeAll(keepingCapacity: true) }
        for group in histograms.values.sorted(by: { $0.firstLine < $1.firstLine }) where group.family == index && group.hasBuckets {
            let series = name + Self.describe(group.labels.filter { $0.name != "le" })
            guard let infinity = group.infinityCount else {
                throw ExpositionError(line: group.firstLine, reason: "histogram \(series) has no +Inf bucket")
            }
            if let count = group.count, count != infinity {
                throw ExpositionError(
                    line: group.firstLine, reason: "histogram \(series) _count \(count) differs from its +Inf bucket \(infinity)")
            }
        }
    }

    /// SplitMix64's finalizer.
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    static func fnv(_ bytes: String.UTF8View, _ seed: UInt64) -> UInt64 {
        var hash = seed
        for byte in bytes {
            hash ^= UInt64(byte)
            hash &*= 0x100_0000_01b3
        }
        return hash
    }

    static func sameSeries(_ left: Sample, _ right: Sample) -> Bool {
        left.name == right.name && sameLabels(left.labels, right.labels)
    }

    /// The same pairs in any order, leaving out the label named `ignoring`.
    static func sameLabels(_ left: [Label], _ right: [Label], ignoring: String? = nil) -> Bool {
        guard let ignoring else { return left == right || (left.count == right.count && Set(left) == Set(right)) }
        // The usual case, the same labels in the same order, without building anything.
        var leftIndex = left.startIndex
        var rightIndex = right.startIndex
        while true {
            while leftIndex < left.endIndex && left[leftIndex].name == ignoring { leftIndex += 1 }
            while rightIndex < right.endIndex && right[rightIndex].name == ignoring { rightIndex += 1 }
            guard leftIndex < left.endIndex, rightIndex < right.endIndex else { break }
            guard left[leftIndex] == right[rightIndex] else { break }
            leftIndex += 1
            rightIndex += 1
        }
        if leftIndex == left.endIndex && rightIndex == right.endIndex { return true }
        let keptLeft = left.filter { $0.name != ignoring }
        let keptRight = right.filter { $0.name != ignoring }
        return keptLeft == keptRight || (keptLeft.count == keptRight.count && Set(keptLeft) == Set(keptRight))
    }

    static func describe(_ labels: [Label]) -> String {
        labels.isEmpty ? "" : "{" + labels.map { "\($0.name)=\"\($0.value)\"" }.joined(separator: ",") + "}"
    }

    // MARK: Numbers

    func parseTimestamp(_ token: UnsafeBufferPointer<UInt8>) -> Int64? {
        if format == .openMetrics {
            guard let seconds = parseValue(token), seconds.isFinite else { return nil }
            return Int64((seconds * 1000).rounded())
        }
        var index = token.startIndex
        var negative = false
        if index < token.endIndex, token[index] == UInt8(ascii: "-") || token[index] == UInt8(ascii: "+") {
            negative = token[index] == UInt8(ascii: "-")
            index += 1
        }
        guard index < token.endIndex, token.endIndex - index <= 18 else { return nil }
        var result: Int64 = 0
        while index < token.endIndex {
            let digit = token[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            result = result * 10 + Int64(digit)
            index += 1
        }
        return negative ? -result : result
    }
}

extension MetricFamily {
    /// Whether a sample of this name belongs to a family of this name and type: the family's
    /// own name, or its name with a suffix its type has.
    static func contains(_ sample: String, family name: String, type: MetricType) -> Bool {
        if sample == name { return true }
        let suffixes = type.sampleSuffixes
        guard !suffixes.isEmpty, sample.utf8.count > name.utf8.count, sample.hasPrefix(name) else { return false }
        return suffixes.contains { sample.utf8.count == name.utf8.count + $0.utf8.count && sample.hasSuffix($0) }
    }
}

extension MetricType {
    static let allSampleSuffixes = ["_bucket", "_count", "_sum", "_total", "_created", "_gcount", "_gsum", "_info"]

    var inTextFormat: Bool {
        switch self {
        case .counter, .gauge, .histogram, .summary, .untyped: true
        default: false
        }
    }

    private static let histogramSuffixes = ["_bucket", "_count", "_sum", "_created"]
    private static let gaugeHistogramSuffixes = ["_bucket", "_gcount", "_gsum"]
    private static let summarySuffixes = ["_count", "_sum", "_created"]
    private static let counterSuffixes = ["_total", "_created"]
    private static let infoSuffixes = ["_info"]

    /// Suffixes of the sample names that belong to a family of this type.
    var sampleSuffixes: [String] {
        switch self {
        case .histogram: Self.histogramSuffixes
        case .gaugehistogram: Self.gaugeHistogramSuffixes
        case .summary: Self.summarySuffixes
        case .counter: Self.counterSuffixes
        case .info: Self.infoSuffixes
        default: []
        }
    }
}

/// Parses a sample value as Prometheus does: a Go float, including `NaN` and `±Inf`.
func parseValue(_ text: String) -> Double? {
    var text = text
    return text.withUTF8 { parseValue($0) }
}

func parseValue(_ token: UnsafeBufferPointer<UInt8>) -> Double? {
    guard !token.isEmpty, token.count < 64 else { return nil }
    // Plain integers, the common case, without a C call.
    var index = token.startIndex
    var negative = false
    if token[index] == UInt8(ascii: "-") || token[index] == UInt8(ascii: "+") {
        negative = token[index] == UInt8(ascii: "-")
        index += 1
    }
    if index < token.endIndex, token.endIndex - index <= 15 {
        var integer: Int64 = 0
        var plain = true
        var cursor = index
        while cursor < token.endIndex {
            let digit = token[cursor] &- UInt8(ascii: "0")
            if digit >= 10 {
                plain = false
                break
            }
            integer = integer * 10 + Int64(digit)
            cursor += 1
        }
        if plain { return negative ? -Double(integer) : Double(integer) }
    }
    switch String(decoding: token[index...], as: UTF8.self).lowercased() {
    case "nan": return token.count == 3 ? .nan : nil
    case "inf", "infinity": return negative ? -.infinity : .infinity
    default: break
    }
    return withUnsafeTemporaryAllocation(of: CChar.self, capacity: token.count + 1) { buffer in
        for (offset, byte) in token.enumerated() {
            // strtod would also read hexadecimal and locale forms Prometheus does not.
            guard
                (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e")
                    || byte == UInt8(ascii: "E") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+")
            else { return nil }
            buffer[offset] = CChar(bitPattern: byte)
        }
        buffer[token.count] = 0
        var end: UnsafeMutablePointer<CChar>?
        let value = strtod(buffer.baseAddress!, &end)
        guard let end, end - buffer.baseAddress! == token.count else { return nil }
        return value
    }
}

/// The two halves and their result slots, handed to the two parsing threads.
private struct SharedHalves: @unchecked Sendable {
    let halves: [UnsafeBufferPointer<UInt8>]
    let results: UnsafeMutableBufferPointer<ParseState?>
}
