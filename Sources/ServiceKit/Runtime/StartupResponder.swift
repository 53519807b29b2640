import Hummingbird
import NIOCore

/// What a service is once its start-up phase has finished: its parts, the health checker that
/// includes its own checks, and the responder for its own routes.
struct StartedService: Sendable {
    let parts: ServiceParts
    let health: HealthChecker
    let routes: RouterResponder<BasicRequestContext>
}

/// The process's HTTP responder from the moment the server listens: `/health` and `/metrics`
/// answer throughout; every other path answers 503 with a JSON body saying the service is
/// starting, until its start-up phase has finished, and then goes to the service's own routes.
struct StartupResponder: HTTPResponder {
    static let standardPaths: Set<String> = ["/health", "/metrics"]

    let service: String
    let standard: RouterResponder<BasicRequestContext>
    let started: StartupGate<StartedService>

    func respond(to request: Request, context: BasicRequestContext) async throws -> Response {
        if Self.standardPaths.contains(request.uri.path) {
            return try await standard.respond(to: request, context: context)
        }
        guard let service = started.value else {
            return JSONResponse.make(
                .serviceUnavailable,
                .object(["status": .string("starting"), "error": .string("\(self.service) is starting; try again shortly")]),
                headers: [.retryAfter: "1"])
        }
        return try await service.routes.respond(to: request, context: context)
    }
}
