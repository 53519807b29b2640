import EventBus
import Foundation
import Hummingbird
import NIOCore

/// JSON answers and request bodies for the services' APIs.
public enum JSONResponse {
    public static func make(_ status: HTTPResponse.Status, _ value: some Encodable, headers: HTTPFields = [:]) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return make(status, data: (try? encoder.encode(value)) ?? Data("{}".utf8), headers: headers)
    }

    public static func make(_ status: HTTPResponse.Status, _ value: JSONValue, headers: HTTPFields = [:]) -> Response {
        make(status, data: value.encoded(), headers: headers)
    }

    /// `{"error": message}`, and `problems` when there is a list of them.
    public static func error(_ status: HTTPResponse.Status, _ message: String, problems: [String] = [], headers: HTTPFields = [:])
        -> Response
    {
        var fields: [String: JSONValue] = ["error": .string(message)]
        if !problems.isEmpty { fields["problems"] = .array(problems.map { .string($0) }) }
        return make(status, .object(fields), headers: headers)
    }

    private static func make(_ status: HTTPResponse.Status, data: Data, headers: HTTPFields) -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(data: data)))
    }

    /// Reads a JSON object body of at most `limit` bytes; the failure is the response to send.
    public static func readObject(_ request: Request, limit: Int) async -> Result<PayloadReader, ResponseError> {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch {
            return .failure(ResponseError(self.error(.contentTooLarge, "request body larger than \(limit) bytes")))
        }
        do {
            return .success(try PayloadReader(json: Data(buffer: buffer), name: "body"))
        } catch {
            return .failure(ResponseError(self.error(.badRequest, "invalid request body", problems: error.problems)))
        }
    }
}

/// A response that ends a request early, carried as an error.
public struct ResponseError: Error, Sendable {
    public let response: Response

    public init(_ response: Response) {
        self.response = response
    }
}
