/// Redis's wire format for commands: an array of bulk strings, `*<count>\r\n` then
/// `$<length>\r\n<bytes>\r\n` per argument (https://redis.io/docs/latest/develop/reference/protocol-spec/).
enum RESP {
    static func encode(_ commands: [[[UInt8]]]) -> [UInt8] {
        var size = 0
        for command in commands {
            size += 16
            for argument in command { size += argument.count + 16 }
        }
        var output: [UInt8] = []
        output.reserveCapacity(size)
        for command in commands {
            output.append(UInt8(ascii: "*"))
            appendDecimal(command.count, to: &output)
            for argument in command {
                output.append(UInt8(ascii: "$"))
                appendDecimal(argument.count, to: &output)
                output.append(contentsOf: argument)
                output.append(UInt8(ascii: "\r"))
                output.append(UInt8(ascii: "\n"))
            }
        }
        return output
    }

    /// `<value>\r\n`; the decimal text of a count or length fits a small (inline) string.
    private static func appendDecimal(_ value: Int, to output: inout [UInt8]) {
        output.append(contentsOf: String(value).utf8)
        output.append(UInt8(ascii: "\r"))
        output.append(UInt8(ascii: "\n"))
    }
}
