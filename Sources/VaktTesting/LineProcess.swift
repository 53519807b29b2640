import Foundation
import Synchronization

/// A helper program a test talks to line by line (a browser driver script): it writes lines to
/// its standard input and waits for lines on its standard output. Standard error is kept for
/// the failure message.
public final class LineProcess: Sendable {
    private final class Output: Sendable {
        struct State {
            var pending = Data()
            var lines: [String] = []
            var ended = false
            var errors = ""
        }
        let state = Mutex(State())
    }

    private let process: Process
    private let input: FileHandle
    private let output = Output()

    public init(executable: String, arguments: [String], environment: [String: String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        // The handlers below are set once it runs: a pipe keeps what it is sent until then.
        let (stdin, stdout, stderr) = try Spawn.serially {
            let (stdin, stdout, stderr) = (Pipe(), Pipe(), Pipe())
            process.standardInput = stdin
            process.standardOutput = stdout
            process.standardError = stderr
            try process.run()
            return (stdin, stdout, stderr)
        }
        let output = self.output
        stdout.fileHandleForReading.readabilityHandler = { handle in
            let chunk = handle.availableData
            output.state.withLock { state in
                guard !chunk.isEmpty else {
                    state.ended = true
                    handle.readabilityHandler = nil
                    return
                }
                state.pending.append(chunk)
                while let newline = state.pending.firstIndex(of: UInt8(ascii: "\n")) {
                    state.lines.append(String(decoding: state.pending[state.pending.startIndex..<newline], as: UTF8.self))
                    state.pending.removeSubrange(state.pending.startIndex...newline)
                }
            }
        }
        stderr.fileHandleForReading.readabilityHandler = { handle in
            let chunk = handle.availableData
            guard !chunk.isEmpty else {
                handle.readabilityHandler = nil
                return
            }
            output.state.withLock { state in
                state.errors += String(decoding: chunk, as: UTF8.self)
                if state.errors.count > 20_000 { state.errors = String(state.errors.suffix(20_000)) }
            }
        }
        self.process = process
        input = stdin.fileHandleForWriting
    }

    /// The next line that starts with `prefix` (lines before it are dropped), or nil when the
    /// program ended or `timeout` passed first.
    public func line(startingWith prefix: String, timeout: Duration) async -> String? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let (found, ended): (String?, Bool) = output.state.withLock { state in
                while !state.lines.isEmpty {
                    let line = state.lines.removeFirst()
                    if line.hasPrefix(prefix) { return (line, false) }
                }
                return (nil, state.ended)
            }
            if let found { return found }
            if ended { return nil }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return nil
    }

    public func send(_ line: String) {
        input.write(Data((line + "\n").utf8))
    }

    /// What it wrote to standard error (the last 20,000 characters).
    public var errorOutput: String { output.state.withLock { $0.errors } }

    public func terminate() {
        if process.isRunning { process.terminate() }
    }

    deinit { terminate() }
}
