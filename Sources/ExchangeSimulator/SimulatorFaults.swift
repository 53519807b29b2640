import Binance
import EventBus
import HTTPTypes
import Hummingbird

/// Faults the paper exchange injects on purpose, so the adapter's handling of a slow or
/// failing exchange is exercised against the real thing: added latency on every API reply; new
/// orders answered 503 before they execute; new orders executed and their reply replaced by
/// Binance's "execution status unknown" (-1007), optionally after a hold, as when a reply is
/// lost; every WebSocket closed; streams that stall; every request answered 429 or 418 for a
/// while, as Binance answers a host whose IP another client of its spent the weight of, or got
/// banned. Set from configuration (`paper_exchange.faults`) and changed at run time through
/// the control-token-guarded `/admin/faults`.
struct SimulatorFaults: Sendable, Equatable {
    var latencyMilliseconds = 0
    /// Every nth new order fails / is dropped (0: never).
    var failEveryNthOrder = 0
    var dropEveryNthOrder = 0
    /// The next n new orders fail / are dropped.
    var failNextOrders = 0
    var dropNextOrders = 0
    /// How long a dropped order's reply is held before the -1007 goes out.
    var dropHoldMilliseconds = 0
    var ordersSeen = 0
    /// One-shot stream faults, done when set: close every WebSocket; send nothing for a while.
    var disconnectStreams = false
    var stallStreamsMilliseconds = 0
    /// Until when (the exchange's clock, ms) every request is answered 429 with `Retry-After`,
    /// or 418 with the ban's end.
    var throttledUntil: Int64 = 0
    var bannedUntil: Int64 = 0

    enum OrderFault: Equatable {
        case fail
        case drop
    }

    /// What happens to the next new order.
    mutating func nextOrder() -> OrderFault? {
        ordersSeen += 1
        if failNextOrders > 0 {
            failNextOrders -= 1
            return .fail
        }
        if dropNextOrders > 0 {
            dropNextOrders -= 1
            return .drop
        }
        if failEveryNthOrder > 0, ordersSeen % failEveryNthOrder == 0 { return .fail }
        if dropEveryNthOrder > 0, ordersSeen % dropEveryNthOrder == 0 { return .drop }
        return nil
    }

    var json: JSONValue {
        .object([
            "latency_ms": .number(Double(latencyMilliseconds)), "fail_every_nth_order": .number(Double(failEveryNthOrder)),
            "drop_every_nth_order": .number(Double(dropEveryNthOrder)), "fail_next_orders": .number(Double(failNextOrders)),
            "drop_next_orders": .number(Double(dropNextOrders)), "drop_hold_ms": .number(Double(dropHoldMilliseconds)),
            "throttled_until": .number(Double(throttledUntil)), "banned_until": .number(Double(bannedUntil)),
        ])
    }

    /// The faults a `POST /admin/faults` body sets; fields left out keep their value, and a
    /// bad field is named and changes nothing. `throttle_ms` and `ban_ms` start a window at
    /// `now` (0 ends one).
    func updated(by body: JSONValue, now: Int64) throws(PayloadError) -> SimulatorFaults {
        let reader = try PayloadReader(body, name: "faults")
        var next = self
        func read(_ key: String, _ range: ClosedRange<Int>, into field: inout Int) {
            guard reader.contains(key), let value = reader.int(key) else { return }
            guard range.contains(value) else {
                reader.report(key, "\(value) is outside \(range.lowerBound)...\(range.upperBound)")
                return
            }
            field = value
        }
        read("latency_ms", 0...60_000, into: &next.latencyMilliseconds)
        read("fail_every_nth_order", 0...1_000_000, into: &next.failEveryNthOrder)
        read("drop_every_nth_order", 0...1_000_000, into: &next.dropEveryNthOrder)
        read("fail_next_orders", 0...1_000_000, into: &next.failNextOrders)
        read("drop_next_orders", 0...1_000_000, into: &next.dropNextOrders)
        read("drop_hold_ms", 0...600_000, into: &next.dropHoldMilliseconds)
        read("stall_streams_ms", 0...600_000, into: &next.stallStreamsMilliseconds)
        var throttle = -1
        var ban = -1
        read("throttle_ms", 0...600_000, into: &throttle)
        read("ban_ms", 0...600_000, into: &ban)
        if throttle >= 0 { next.throttledUntil = throttle == 0 ? 0 : now + Int64(throttle) }
        if ban >= 0 { next.bannedUntil = ban == 0 ? 0 : now + Int64(ban) }
        if reader.contains("disconnect_streams"), let disconnect = reader.bool("disconnect_streams") { next.disconnectStreams = disconnect }
        try reader.finish()
        return next
    }
}

/// Applies the faults to `/api/v3`.
struct FaultMiddleware<Context: RequestContext>: RouterMiddleware {
    let desk: ExchangeDesk
    /// Named in a throttled request's 429, as Binance names the limit that was hit.
    let weightLimit: RateLimit

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let now = desk.clock.now()
        let (throttledUntil, bannedUntil) = desk.faults.withLock { ($0.throttledUntil, $0.bannedUntil) }
        if bannedUntil > now || throttledUntil > now {
            let banned = bannedUntil > now
            var response = ExchangeSimulatorService.binance(banned ? .banned(until: bannedUntil) : .overLimit(weightLimit))
            response.headers[.retryAfter] = String(((banned ? bannedUntil : throttledUntil) - now + 999) / 1000)
            return response
        }
        let isNewOrder = request.method == .post && request.uri.path == "/api/v3/order"
        let (latency, fault, hold) = desk.faults.withLock { faults in
            (faults.latencyMilliseconds, isNewOrder ? faults.nextOrder() : nil, faults.dropHoldMilliseconds)
        }
        if latency > 0 { try await Task.sleep(for: .milliseconds(latency)) }
        switch fault {
        case nil:
            return try await next(request, context)
        case .fail:
            return ExchangeSimulatorService.binance(.internalError)
        case .drop:
            _ = try await next(request, context)
            if hold > 0 { try await Task.sleep(for: .milliseconds(hold)) }
            return ExchangeSimulatorService.binance(.statusUnknown)
        }
    }
}
