import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// One probe target's kept-alive HTTP/1.1 connection on the probes' event loop, used by one
/// probe at a time: the request is built once, the body is read only up to its cap, the timeout
/// is one timer, and a connection that was closed before any byte of the answer (the server's
/// idle close racing the request) is replaced once. Its state is touched only on its event loop.
final class ProbeConnection: @unchecked Sendable {
    struct Response {
        var status: HTTPResponseStatus
        /// The body, or for a redirect the `Location` it names (the body is not read).
        var body: ByteBuffer
    }

    /// The answer did not complete within the probe's timeout.
    struct Timeout: Error {}

    /// The target closed the connection before it answered.
    struct ClosedBeforeAnswer: Error, CustomStringConvertible {
        var description: String { "the target closed the connection without answering" }
    }

    struct BodyTooLarge: Error, CustomStringConvertible {
        var limit: Int
        var announced: Int?
        var description: String {
            "body " + (announced.map { "of \($0) bytes " } ?? "") + "exceeds the \(limit)-byte limit"
        }
    }

    /// `host:port`, as errors name it.
    let address: String
    private let eventLoop: any EventLoop
    private let host: String
    private let port: Int
    private let head: HTTPRequestHead
    private var channel: (any Channel)?
    private var handler: ResponseHandler?

    /// Nil unless `url` is a plain `http://` URL with a host.
    init?(url: String, accept: String, eventLoop: any EventLoop) {
        guard let components = URLComponents(string: url), components.scheme?.lowercased() == "http",
            let host = components.host, !host.isEmpty
        else { return nil }
        let port = components.port ?? 80
        var target = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        if let query = components.percentEncodedQuery { target += "?" + query }
        // An IPv6 literal stays bracketed in the Host header and is connected to without them.
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        let hostHeader = (bare.contains(":") ? "[\(bare)]" : bare) + (port == 80 ? "" : ":\(port)")
        self.host = bare
        self.port = port
        self.eventLoop = eventLoop
        address = hostHeader
        head = HTTPRequestHead(
            version: .http1_1, method: .GET, uri: target,
            headers: ["Host": hostHeader, "Accept": accept, "User-Agent": "vakt-supervisor"])
    }

    /// One `GET`; throws ``Timeout``, ``ClosedBeforeAnswer``, ``BodyTooLarge``, the HTTP
    /// parser's error for an answer that is not HTTP, or the connection's error.
    func get(timeout: Duration, maxBodyBytes: Int) async throws -> Response {
        let exchange = Exchange(promise: eventLoop.makePromise(), timeout: timeout, maxBodyBytes: maxBodyBytes)
        if eventLoop.inEventLoop {
            start(exchange)
        } else {
            eventLoop.execute { self.start(exchange) }
        }
        return try await exchange.promise.futureResult.get()
    }

    /// Closes the connection; a later probe would open a new one.
    func close() {
        eventLoop.execute { self.dropConnection() }
    }

    private func start(_ exchange: Exchange) {
        let deadline = eventLoop.scheduleTask(in: TimeAmount(exchange.timeout)) {
            // The answer may still come; the connection cannot carry another request before it.
            if exchange.fail(Timeout()) { self.dropConnection() }
        }
        exchange.promise.futureResult.whenComplete { _ in deadline.cancel() }
        if let channel, let handler, channel.isActive, handler.isIdle {
            exchange.reusedConnection = true
            handler.send(exchange, head: head, on: channel)
        } else {
            channel?.close(promise: nil)
            connect(exchange)
        }
    }

    private func connect(_ exchange: Exchange) {
        let handler = ResponseHandler(connection: self)
        self.handler = handler
        channel = nil
        ClientBootstrap(group: eventLoop)
            .connectTimeout(TimeAmount(exchange.timeout))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
            .connect(host: host, port: port)
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    guard self.handler === handler, !exchange.isDone else {
                        channel.close(promise: nil)
                        return
                    }
                    self.channel = channel
                    handler.send(exchange, head: self.head, on: channel)
                case .failure(let error):
                    exchange.fail(error)
                }
            }
    }

    /// Called by the handler when a kept-alive connection closed before any byte of the answer.
    fileprivate func retry(_ exchange: Exchange) {
        exchange.reusedConnection = false
        connect(exchange)
    }

    /// Closes and forgets the connection, whose answer will no longer be waited for.
    private func dropConnection() {
        channel?.close(promise: nil)
        channel = nil
        handler = nil
    }

    /// One request and its answer; completed once, by the answer, an error or the timeout.
    /// Touched only on the event loop, like the connection.
    fileprivate final class Exchange: @unchecked Sendable {
        let promise: EventLoopPromise<Response>
        /// Bounds the whole exchange, a retry included.
        let timeout: Duration
        let maxBodyBytes: Int
        var reusedConnection = false
        var receivedAnything = false
        private(set) var isDone = false

        init(promise: EventLoopPromise<Response>, timeout: Duration, maxBodyBytes: Int) {
            self.promise = promise
            self.timeout = timeout
            self.maxBodyBytes = maxBodyBytes
        }

        func succeed(_ response: Response) {
            guard !isDone else { return }
            isDone = true
            promise.succeed(response)
        }

        /// Whether this call completed the exchange.
        @discardableResult
        func fail(_ error: any Error) -> Bool {
            guard !isDone else { return false }
            isDone = true
            promise.fail(error)
            return true
        }
    }

    private final class ResponseHandler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPClientResponsePart
        typealias OutboundOut = HTTPClientRequestPart

        private weak var connection: ProbeConnection?
        fileprivate private(set) var current: Exchange?
        private var status: HTTPResponseStatus?
        private var keepAlive = true
        private var body = ByteBuffer()
        /// Reading the rest of an answer whose exchange already ended (a redirect).
        private var discarding = false

        init(connection: ProbeConnection) {
            self.connection = connection
        }

        var isIdle: Bool { current == nil && !discarding }

        func send(_ exchange: Exchange, head: HTTPRequestHead, on channel: any Channel) {
            current = exchange
            status = nil
            body.clear()
            channel.write(HTTPClientRequestPart.head(head), promise: nil)
            channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard let exchange = current else {
                if !discarding { context.close(promise: nil) }  // an answer nobody asked for
                if case .end = unwrapInboundIn(data) { discarding = false }
                return
            }
            exchange.receivedAnything = true
            switch unwrapInboundIn(data) {
            case .head(let head):
                keepAlive = head.isKeepAlive
                if (300..<400).contains(head.status.code) {
                    finish(Response(status: head.status, body: ByteBuffer(string: head.headers.first(name: "location") ?? "")))
                    discarding = true
                } else if let length = head.headers.first(name: "content-length").flatMap(Int.init), length > exchange.maxBodyBytes {
                    fail(BodyTooLarge(limit: exchange.maxBodyBytes, announced: length), context: context)
                } else {
                    status = head.status
                }
            case .body(var chunk):
                guard body.readableBytes + chunk.readableBytes <= exchange.maxBodyBytes else {
                    fail(BodyTooLarge(limit: exchange.maxBodyBytes, announced: nil), context: context)
                    return
                }
                body.writeBuffer(&chunk)
            case .end:
                if let status { finish(Response(status: status, body: body)) }
                if !keepAlive { context.close(promise: nil) }
            }
        }

        private func finish(_ response: Response) {
            let exchange = current
            current = nil
            exchange?.succeed(response)
        }

        private func fail(_ error: any Error, context: ChannelHandlerContext) {
            current?.fail(error)
            current = nil
            context.close(promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            if let exchange = current {
                current = nil
                if exchange.reusedConnection, !exchange.receivedAnything, !exchange.isDone {
                    connection?.retry(exchange)
                } else {
                    exchange.fail(ClosedBeforeAnswer())
                }
            }
            discarding = false
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            // A kept-alive connection the target closed meanwhile: the request may meet a reset
            // (ECONNRESET) rather than a clean close, depending on timing. Either way nothing
            // was answered, so the request goes again on a new connection.
            if let exchange = current, exchange.reusedConnection, !exchange.receivedAnything, !exchange.isDone {
                current = nil
                context.close(promise: nil)
                connection?.retry(exchange)
                return
            }
            fail(error, context: context)
        }
    }
}
