import Foundation
import Synchronization
import VaktConfig

/// A child's output file with a size cap: when a write would pass `maxBytes`, the file becomes
/// `path.1` (older ones shift up to `path.keep`, the oldest is dropped) and a new one starts.
final class RotatingLogFile: Sendable {
    private struct State {
        var handle: FileHandle?
        var size: Int
    }

    let settings: ServiceSettings.LogFile
    private let state: Mutex<State>

    init(settings: ServiceSettings.LogFile) throws {
        self.settings = settings
        let directory = (settings.path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        let (handle, size) = try Self.open(settings.path)
        state = Mutex(State(handle: handle, size: size))
    }

    func append(_ line: String) {
        let data = Data((line + "\n").utf8)
        state.withLock { state in
            if state.size + data.count > settings.maxBytes && state.size > 0 {
                rotate(&state)
            }
            state.handle?.write(data)
            state.size += data.count
        }
    }

    private func rotate(_ state: inout State) {
        try? state.handle?.close()
        let files = FileManager.default
        if settings.keep == 0 {
            try? files.removeItem(atPath: settings.path)
        } else {
            try? files.removeItem(atPath: "\(settings.path).\(settings.keep)")
            for index in stride(from: settings.keep - 1, through: 1, by: -1) {
                try? files.moveItem(atPath: "\(settings.path).\(index)", toPath: "\(settings.path).\(index + 1)")
            }
            try? files.moveItem(atPath: settings.path, toPath: "\(settings.path).1")
        }
        if let (handle, size) = try? Self.open(settings.path) {
            state = State(handle: handle, size: size)
        } else {
            state = State(handle: nil, size: 0)
        }
    }

    private static func open(_ path: String) throws -> (FileHandle, Int) {
        if !FileManager.default.fileExists(atPath: path) {
            _ = FileManager.default.createFile(atPath: path, contents: nil)
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        let size = try handle.seekToEnd()
        return (handle, Int(size))
    }
}
