import Testing

@testable import RedisClient

/// Commands in Redis's wire format, byte for byte.
@Suite struct RedisCommandBufferTests {
    @Test func commandsAreArraysOfBulkStrings() {
        let commands = RedisCommandBuffer([
            [Array("GET".utf8), Array("k".utf8)], [Array("SET".utf8), [], Array(repeating: 120, count: 10)],
        ])
        #expect(commands.count == 2)
        #expect(
            String(decoding: commands.bytes, as: UTF8.self)
                == "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*3\r\n$3\r\nSET\r\n$0\r\n\r\n$10\r\nxxxxxxxxxx\r\n")
    }

    @Test func encodedLeadingArgumentsTakeTheLastArgumentBehindThem() {
        let leading = RedisCommandBuffer.Arguments(["XADD", "s", "*", "envelope"])
        var commands = RedisCommandBuffer()
        commands.append(leading, Array("{}".utf8))
        commands.append(leading, Array(repeating: 65, count: 100))
        #expect(commands.count == 2)
        let one = "*5\r\n$4\r\nXADD\r\n$1\r\ns\r\n$1\r\n*\r\n$8\r\nenvelope\r\n"
        #expect(
            String(decoding: commands.bytes, as: UTF8.self) == one + "$2\r\n{}\r\n" + one + "$100\r\n" + String(repeating: "A", count: 100)
                + "\r\n")
    }
}
