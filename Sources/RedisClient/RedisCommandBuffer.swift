/// Commands in Redis's wire format (RESP), ready to be written as they are: an array of bulk
/// strings per command, `*<count>\r\n` then `$<length>\r\n<bytes>\r\n` per argument
/// (https://redis.io/docs/latest/develop/reference/protocol-spec/).
///
/// Arguments that repeat from command to command (a stream's `XADD` and trimming) can be encoded
/// once as ``Arguments`` and put in front of each command's own last argument.
public struct RedisCommandBuffer: Sendable {
    /// Leading arguments of a command, already encoded.
    public struct Arguments: Sendable {
        fileprivate var bytes: [UInt8] = []
        fileprivate var count = 0

        public init(_ arguments: [[UInt8]]) {
            bytes.reserveCapacity(arguments.reduce(0) { $0 + $1.count + 16 })
            for argument in arguments { RedisCommandBuffer.appendBulk(argument, to: &bytes) }
            count = arguments.count
        }

        public init(_ arguments: [String]) { self.init(arguments.map { Array($0.utf8) }) }
    }

    public private(set) var bytes: [UInt8] = []
    /// How many commands the buffer holds: how many replies they get.
    public private(set) var count = 0

    public init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    public init(_ commands: [[[UInt8]]]) {
        self.init(capacity: commands.reduce(0) { $0 + $1.reduce(16) { $0 + $1.count + 16 } })
        for command in commands { append(command) }
    }

    public mutating func append(_ arguments: [[UInt8]]) {
        appendHeader(arguments.count)
        for argument in arguments { Self.appendBulk(argument, to: &bytes) }
        count += 1
    }

    /// One command: the encoded leading arguments, then `last`.
    public mutating func append(_ leading: Arguments, _ last: [UInt8]) {
        appendHeader(leading.count + 1)
        bytes.append(contentsOf: leading.bytes)
        Self.appendBulk(last, to: &bytes)
        count += 1
    }

    private mutating func appendHeader(_ arguments: Int) {
        bytes.append(UInt8(ascii: "*"))
        Self.appendDecimalLine(arguments, to: &bytes)
    }

    private static func appendBulk(_ argument: [UInt8], to output: inout [UInt8]) {
        output.append(UInt8(ascii: "$"))
        appendDecimalLine(argument.count, to: &output)
        output.append(contentsOf: argument)
        output.append(UInt8(ascii: "\r"))
        output.append(UInt8(ascii: "\n"))
    }

    /// `<value>\r\n`; the decimal text of a count or length fits a small (inline) string.
    private static func appendDecimalLine(_ value: Int, to output: inout [UInt8]) {
        output.append(contentsOf: String(value).utf8)
        output.append(UInt8(ascii: "\r"))
        output.append(UInt8(ascii: "\n"))
    }
}
