import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// One HTTP exchange as a test sees it.
public struct HTTPResult: Sendable {
    public var status: Int
    public var contentType: String?
    public var body: [UInt8]
    /// Every header, in order (names as sent).
    public var headers: [(name: String, value: String)] = []

    public var text: String { String(decoding: body, as: UTF8.self) }

    /// The first header of this name, compared case-insensitively.
    public func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }
}

public enum HTTPProbe {
    public static func request(
        _ method: HTTPMethod = .GET, _ url: String, headers: [(String, String)] = [], body: String? = nil, timeout: Duration = .seconds(10)
    ) async throws -> HTTPResult {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .milliseconds(timeout.components.seconds * 1000))
        let bytes = try await response.body.collect(upTo: 64 << 20)
        return HTTPResult(
            status: Int(response.status.code), contentType: response.headers.first(name: "content-type"), body: Array(buffer: bytes),
            headers: response.headers.map { ($0.name, $0.value) })
    }

    public static func get(_ url: String) async throws -> HTTPResult {
        try await request(.GET, url)
    }
}

/// `promtool check metrics`, from Debian's prometheus package.
public enum Promtool {
    /// `promtool check <what> <files...>` run in `directory`.
    public static func check(_ what: String, _ files: [String], in directory: URL) async throws -> (status: Int32, output: String) {
        guard let promtool = TestEnvironment.which("promtool") else {
            throw MissingFixture("promtool is not installed; run scripts/install-deps")
        }
        return try await TestEnvironment.run(
            "/bin/sh", ["-c", "cd '\(directory.path)' && '\(promtool)' check \(what) " + files.joined(separator: " ")])
    }

    public static func checkMetrics(_ exposition: String) async throws -> (status: Int32, output: String) {
        guard let promtool = TestEnvironment.which("promtool") else {
            throw MissingFixture("promtool is not installed; run scripts/install-deps")
        }
        return try await TestEnvironment.run(promtool, ["check", "metrics"], input: exposition)
    }
}
