import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A program run from a configuration file of its own, on a free port and in a temporary
/// directory of its own (on a host, optionally), quiet, in the foreground (so SIGKILL ends it), killed and cleaned up
/// when released: what the Sentinel and HAProxy fixtures have in common.
final class ConfiguredDaemon: Sendable {
    let port: Int
    let directory: URL
    private let process: Process

    /// - Parameters:
    ///   - configuration: the file's text, given the port and the directory.
    ///   - arguments: the program's arguments, given the file's path.
    init(
        program: String, name: String, host: NetworkHost? = nil, configuration: (_ port: Int, _ directory: URL) -> String,
        arguments: (_ file: String) -> [String]
    ) throws {
        guard let executable = TestEnvironment.which(program) else {
            throw MissingFixture("\(program) is not installed; run scripts/install-deps")
        }
        port = TestEnvironment.freePort()
        directory = try TestEnvironment.temporaryDirectory("vakt-\(name)")
        let file = directory.appendingPathComponent("\(name).conf")
        try configuration(port, directory).write(to: file, atomically: true, encoding: .utf8)
        process = Process()
        let launch = host?.launch(executable, arguments(file.path)) ?? (executable: executable, arguments: arguments(file.path))
        process.executableURL = URL(fileURLWithPath: launch.executable)
        process.arguments = launch.arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try Spawn.serially { try process.run() }
    }

    deinit {
        kill(process.processIdentifier, SIGKILL)
        KilledProcess.waitUntilExited(process.processIdentifier)
        try? FileManager.default.removeItem(at: directory)
    }
}
