import Foundation

/// Finds the file a command's program names, as `execvp(3)` does: a name with a slash is a path
/// (relative to the working directory), a bare name is searched in each directory of `PATH`.
/// The supervisor resolves once, at configuration time, so a missing program is a configuration
/// error naming the service rather than a child that fails to start five times.
public enum ProgramLookup {
    /// The search path when the environment has none, as glibc's `execvp` uses.
    public static let defaultSearchPath = "/usr/local/bin:/usr/bin:/bin"

    /// The executable file `program` names, or nil when there is none.
    /// - Parameters:
    ///   - searchPath: a `PATH` value; empty entries mean the working directory, as in POSIX.
    ///   - workingDirectory: where relative paths start; nil is the current directory.
    public static func resolve(_ program: String, searchPath: String, workingDirectory: String?) -> String? {
        guard !program.isEmpty else { return nil }
        let base = workingDirectory ?? FileManager.default.currentDirectoryPath
        func absolute(_ path: String) -> String {
            path.hasPrefix("/") ? path : (base as NSString).appendingPathComponent(path)
        }
        if program.contains("/") {
            let path = absolute(program)
            return isExecutableFile(path) ? path : nil
        }
        for directory in searchPath.split(separator: ":", omittingEmptySubsequences: false) {
            let candidate = absolute((directory.isEmpty ? "." : String(directory)) + "/" + program)
            if isExecutableFile(candidate) { return candidate }
        }
        return nil
    }

    private static func isExecutableFile(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
            && FileManager.default.isExecutableFile(atPath: path)
    }
}
