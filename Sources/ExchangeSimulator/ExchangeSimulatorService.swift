// ExchangeSimulator: the paper exchange (9100). It speaks Binance's spot REST API so the same
// adapter trades against it in paper mode and against Binance live or on testnet.

import Foundation
import Hummingbird
import ServiceKit
import VaktConfig

/// Binance-compatible paper exchange. Today it serves Binance's general endpoints; the order
/// book and matching arrive with the execution work.
public struct ExchangeSimulatorService: VaktService {
    public let kind = ServiceKind.exchangeSim

    public init() {}

    public func makeParts(context: ServiceContext) async throws -> ServiceParts {
        ServiceParts(addRoutes: Self.addRoutes)
    }

    static func addRoutes(to router: Router<BasicRequestContext>) {
        // GET /api/v3/ping: Binance's connectivity test answers an empty object.
        router.get("/api/v3/ping") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: "{}")))
        }
        // GET /api/v3/time: the server's clock in milliseconds since the epoch, which signed
        // requests are checked against.
        router.get("/api/v3/time") { _, _ in
            let milliseconds = Int64(Date().timeIntervalSince1970 * 1000)
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: "{\"serverTime\":\(milliseconds)}")))
        }
    }
}
