import Binance
import HTTPTypes
import Hummingbird
import Synchronization

/// Binance's limits on the simulator's API: every request is weighed (Binance's weight for its
/// path), answered 429 with `Retry-After` over a limit and 418 when the client kept going, and
/// every answer carries the used-weight and order-count headers. All clients count against one
/// budget: on Binance the limits are per IP, and every client of a paper exchange runs on its
/// host.
struct RateLimitMiddleware<Context: RequestContext>: RouterMiddleware {
    final class Shared: Sendable {
        let gate: Mutex<RateLimitGate>
        init(_ gate: RateLimitGate) { self.gate = Mutex(gate) }
    }

    let shared: Shared
    let clock: @Sendable () -> Int64

    init(limits: [RateLimit], clock: @escaping @Sendable () -> Int64) {
        shared = Shared(RateLimitGate(limits: limits))
        self.clock = clock
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let now = clock()
        let cost = EndpointWeights.cost(
            method: request.method.rawValue, path: request.uri.path, parameters: SignedRequest.decode(request.uri.query ?? ""))
        let (verdict, used) = shared.gate.withLock { gate in
            let verdict = gate.admit(cost, at: now)
            return (verdict, gate.counter.used(at: now))
        }
        var response: Response
        switch verdict {
        case .allowed:
            response = try await next(request, context)
        case .tooManyRequests(let limit, let retryAfter):
            response = ExchangeSimulatorService.binance(.overLimit(limit))
            response.headers[.retryAfter] = String((retryAfter + 999) / 1000)
        case .banned(let until):
            response = ExchangeSimulatorService.binance(.banned(until: until))
            response.headers[.retryAfter] = String((until - now + 999) / 1000)
        }
        for (header, count) in used {
            if let name = HTTPField.Name(header) { response.headers[name] = String(count) }
        }
        return response
    }
}
