import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// Reads a child's stdout or stderr on a thread of its own and forwards each line, tagged with
/// the child. A line the child already wrote in logfmt (every Vakt service does) passes through
/// verbatim with `child=` and `stream=` appended, so it stays one flat structured line and keeps
/// any journald `<N>` priority prefix; any other line is logged as a message. With a log file
/// configured, each line also goes there. A line longer than
/// ``maximumLineBytes`` is split rather than buffered without bound.
final class OutputForwarder: Sendable {
    static let maximumLineBytes = 16 * 1024
    private let done = AsyncStream<Void>.makeStream()

    init(fd: Int32, stream: String, logFile: RotatingLogFile?, logger: Logger) {
        let continuation = done.continuation
        let thread = Thread {
            Self.forward(fd: fd, stream: stream, logFile: logFile, logger: logger)
            close(fd)
            continuation.finish()
        }
        thread.name = "vakt.output.\(stream)"
        thread.start()
    }

    /// Returns once the pipe reached end of file and every line was logged.
    func drained() async {
        for await _ in done.stream {}
    }

    private static func forward(fd: Int32, stream: String, logFile: RotatingLogFile?, logger: Logger) {
        var pending: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 8192)
        let tag = " child=\(logger[metadataKey: "child"] ?? "unknown") stream=\(stream)"
        func emit(_ bytes: ArraySlice<UInt8>) {
            var line = String(decoding: bytes, as: UTF8.self)
            if line.hasSuffix("\r") { line.removeLast() }
            logFile?.append(line)
            if line.contains("level=") && line.contains(" msg=") {
                FileHandle.standardError.write(Data((line + tag + "\n").utf8))
            } else {
                logger.info("\(line)", metadata: ["stream": "\(stream)"])
            }
        }
        while true {
            let count = read(fd, &chunk, chunk.count)
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            pending.append(contentsOf: chunk[0..<count])
            // Walk the lines with an index and drop what was emitted once per read: removing
            // each line from the front would move the rest of the buffer every time.
            var start = pending.startIndex
            while let newline = pending[start...].firstIndex(of: UInt8(ascii: "\n")) {
                emit(pending[start..<newline])
                start = newline + 1
            }
            while pending.endIndex - start >= maximumLineBytes {
                emit(pending[start..<start + maximumLineBytes])
                start += maximumLineBytes
            }
            pending.removeSubrange(..<start)
        }
        if !pending.isEmpty { emit(pending[...]) }
    }
}
