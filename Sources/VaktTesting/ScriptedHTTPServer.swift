import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A real HTTP server on a free loopback port whose answers a test scripts: a webhook receiver
/// that records what it is sent, or health targets that misbehave (HTML, invalid JSON, huge
/// bodies, silence, a closed connection, a redirect loop).
public final class ScriptedHTTPServer: Sendable {
    /// What the server does with one request.
    public enum Answer: Sendable {
        case respond(status: Int, contentType: String = "application/json", body: [UInt8])
        /// Says nothing for this long, then answers.
        case delay(Duration, then: [UInt8])
        /// Closes the connection without a word.
        case close
        /// Answers 200 with a body sent in chunks, with no `Content-Length`.
        case chunked([[UInt8]])
        /// Answers, then closes the connection without having said so in a header (as a server
        /// closing an idle kept-alive connection does).
        case respondThenClose(status: Int, body: [UInt8])

        public static func json(_ status: Int, _ text: String) -> Answer {
            .respond(status: status, body: Array(text.utf8))
        }
    }

    public struct Request: Sendable {
        public var method: String
        public var path: String
        public var headers: [(String, String)]
        public var body: [UInt8]
        public var receivedAt: Date

        public var text: String { String(decoding: body, as: UTF8.self) }
        public func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }
    }

    final class Log: Sendable {
        let requests = Mutex<[Request]>([])
        let connections = Mutex(0)
    }

    public let port: Int
    private let channel: any Channel
    private let state: Log

    /// - Parameter answer: picks the answer for each request, given the requests so far
    ///   (this one included); runs on the server's event loop, so it must be quick.
    public init(answer: @escaping @Sendable (Request, _ count: Int) -> Answer) async throws {
        let state = Log()
        self.state = state
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                state.connections.withLock { $0 += 1 }
                return channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(Handler(state: state, answer: answer))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        port = channel.localAddress?.port ?? 0
    }

    public var url: String { "http://127.0.0.1:\(port)" }

    /// Every request received so far, in order.
    public var requests: [Request] { state.requests.withLock { $0 } }

    /// How many connections clients have opened so far.
    public var connections: Int { state.connections.withLock { $0 } }

    public func stop() async {
        try? await channel.close()
    }

    private final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        let state: Log
        let answer: @Sendable (Request, Int) -> Answer
        var head: HTTPRequestHead?
        var body: [UInt8] = []

        init(state: Log, answer: @escaping @Sendable (Request, Int) -> Answer) {
            self.state = state
            self.answer = answer
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                self.head = head
                body = []
            case .body(var buffer):
                body += buffer.readBytes(length: buffer.readableBytes) ?? []
            case .end:
                guard let head else { return }
                let request = Request(
                    method: head.method.rawValue, path: head.uri, headers: head.headers.map { ($0.name, $0.value) }, body: body,
                    receivedAt: Date())
                let count = state.requests.withLock {
                    $0.append(request)
                    return $0.count
                }
                respond(context: context, answer(request, count), keepAlive: head.isKeepAlive)
            }
        }

        private func respond(context: ChannelHandlerContext, _ answer: Answer, keepAlive: Bool) {
            switch answer {
            case .close:
                context.close(promise: nil)
            case .delay(let duration, let bytes):
                let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                context.eventLoop.scheduleTask(
                    in: .nanoseconds(Int64(duration.components.seconds) * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
                ) {
                    let (handler, context) = loopBound.value
                    handler.write(context: context, status: 200, contentType: "application/json", body: bytes, keepAlive: keepAlive)
                }
            case .respond(let status, let contentType, let bytes):
                write(context: context, status: status, contentType: contentType, body: bytes, keepAlive: keepAlive)
            case .respondThenClose(let status, let bytes):
                write(context: context, status: status, contentType: "application/json", body: bytes, keepAlive: true)
                context.close(promise: nil)
            case .chunked(let chunks):
                let head = HTTPResponseHead(version: .http1_1, status: .ok, headers: ["Content-Type": "application/json"])
                context.write(wrapOutboundOut(.head(head)), promise: nil)
                for chunk in chunks {
                    context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: chunk)))), promise: nil)
                }
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }

        private func write(context: ChannelHandlerContext, status: Int, contentType: String, body: [UInt8], keepAlive: Bool) {
            guard context.channel.isActive else { return }
            var headers = HTTPHeaders([("Content-Type", contentType), ("Content-Length", String(body.count))])
            if (300..<400).contains(status) { headers.add(name: "Location", value: "/loop") }
            if !keepAlive { headers.add(name: "Connection", value: "close") }
            let head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: status), headers: headers)
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
                if !keepAlive { channel.close(promise: nil) }
            }
        }
    }
}
