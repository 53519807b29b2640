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

    /// Binance's weights (rest-api.md) for the paths the simulator serves, some by their
    /// parameters; new orders also count against the ORDERS limits.
    static func cost(method: HTTPRequest.Method, path: String, query: [String: String]) -> RateLimitCounter.Cost {
        let oneSymbol = query["symbol"] != nil
        switch (method, path.dropFirst("/api/v3/".count)) {
        case (_, "exchangeInfo"): return RateLimitCounter.Cost(weight: 20)
        case (.post, "order"): return RateLimitCounter.Cost(weight: 1, orders: 1)
        case (.get, "order"): return RateLimitCounter.Cost(weight: 4)
        case (.get, "openOrders"): return RateLimitCounter.Cost(weight: oneSymbol ? 6 : 80)
        case (.get, "account"): return RateLimitCounter.Cost(weight: 20)
        case (.get, "myTrades"): return RateLimitCounter.Cost(weight: query["orderId"] != nil ? 5 : 20)
        case (_, "klines"), (_, "avgPrice"): return RateLimitCounter.Cost(weight: 2)
        case (_, "ticker/price"), (_, "ticker/bookTicker"): return RateLimitCounter.Cost(weight: oneSymbol ? 2 : 4)
        case (_, "ticker/24hr"): return RateLimitCounter.Cost(weight: oneSymbol ? 2 : 80)
        case (_, "depth"):
            let limit = query["limit"].flatMap(Int.init) ?? 100
            return RateLimitCounter.Cost(weight: limit <= 100 ? 5 : limit <= 500 ? 25 : limit <= 1_000 ? 50 : 250)
        default: return RateLimitCounter.Cost(weight: 1)
        }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let now = clock()
        let cost = Self.cost(method: request.method, path: request.uri.path, query: SignedRequest.decode(request.uri.query ?? ""))
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
