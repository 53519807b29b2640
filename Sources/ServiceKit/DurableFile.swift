import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A file replaced whole: written to a temporary file, synced, then renamed over the old one, so
/// a reader (or a crash) sees the old content or the new, never half. The policy authority's
/// snapshot and the supervisor's safety hold are written this way.
public enum DurableFile {
    public struct WriteError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Writes the bytes durably beside `path`: nothing is renamed until they are on disk.
    public static func prepare(_ data: Data, at path: String) throws(WriteError) -> String {
        let directory = (path as NSString).deletingLastPathComponent
        try? FileManager.default.createDirectory(atPath: directory.isEmpty ? "." : directory, withIntermediateDirectories: true)
        let temporary = path + ".tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw WriteError(description: "cannot create \(temporary): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        let written = data.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard written == data.count, fsync(descriptor) == 0 else {
            throw WriteError(description: "cannot write \(temporary): \(String(cString: strerror(errno)))")
        }
        return temporary
    }

    /// Puts a prepared file in place and syncs the directory entry.
    public static func commit(_ temporary: String, to path: String) throws(WriteError) {
        guard rename(temporary, path) == 0 else {
            throw WriteError(description: "cannot rename \(temporary) to \(path): \(String(cString: strerror(errno)))")
        }
        let directory = (path as NSString).deletingLastPathComponent
        let descriptor = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if descriptor >= 0 {
            fsync(descriptor)
            close(descriptor)
        }
    }

    /// Both steps, for a writer with nothing to do between them.
    public static func replace(_ path: String, with data: Data) throws(WriteError) {
        try commit(try prepare(data, at: path), to: path)
    }
}
