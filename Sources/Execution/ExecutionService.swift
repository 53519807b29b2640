// Execution: the execution service (8002): a bounded signal queue, pre-trade checks, an outbox
// of orders in PostgreSQL, the order state machine, reconciliation with the exchange, partial
// fills, slippage-bounded re-pricing, take-profit and stop-loss exits, `order.*` events.

import BinanceAdapter
import EventBus
import HealthFormat
import Hummingbird
import ServiceKit
import ServiceLifecycle
import VaktConfig

/// The execution service: `signal.generated` in (through ``SignalQueue`` and
/// ``EntryPlanner``), orders to the exchange through the outbox (``OrderStore``), their life
/// tracked by ``OrderMachine`` from the replies and the user data stream, `order.*` out.
/// `GET /api/orders?open=true&limit=100`, `GET /api/execution`; an operator's pauses and
/// closes through ``ExecutionControlAPI``.
public struct ExecutionService: VaktService {
    public let kind = ServiceKind.execution

    /// It adds exposure: it carries the trading guards.
    public var usesTradingGuards: Bool { true }

    /// One numbering for both stores' tables, applied in order.
    public var migrations: [Migration] { (OrderStore.migrations + PauseStore.migrations).sorted { $0.version < $1.version } }

    public init() {}

    public func makeParts(context: ServiceContext) async throws -> ServiceParts {
        guard let events = context.events, let postgres = context.postgres, let guards = context.guards else {
            throw MissingInfrastructure(what: "Redis, PostgreSQL and the trading guards")
        }
        let configuration = context.configuration
        let exchange = try ExchangeAccess(context: context)
        let store = OrderStore(client: postgres, logger: context.logger)
        let pauses = SymbolPauses(store: PauseStore(client: postgres, logger: context.logger), logger: context.logger)
        let executor = OrderExecutor(
            settings: configuration.execution, exchange: exchange, store: store, events: events, guards: guards, pauses: pauses,
            logger: context.logger, source: "\(configuration.system.instance)/execution", okx: SecondVenueAccess.client(context))
        let tokenSecret = configuration.ess.controlTokenSecret
        let token = context.secrets.secret(named: tokenSecret)
        if token == nil {
            context.logger.warning(
                "no control token configured; pausing symbols and closing positions are refused",
                metadata: ["secret": "\(SecretStore.variable(for: tokenSecret))"])
        }
        let control = ExecutionControlAPI(
            executor: executor, pauses: pauses, exchange: exchange,
            authenticator: ControlAuthenticator(
                token: token, failuresPerMinute: configuration.http.authFailuresPerMinute, logger: context.logger),
            maxBodyBytes: configuration.http.maxBodyBytes)
        var background: [any ServiceLifecycle.Service] = [
            exchange,
            UntilShutdown { await pauses.run() },
            UntilShutdown { await executor.run() },
            context.subscribe(to: [.signalGenerated]) { try executor.receive($0) },
            context.subscribe(to: [.marketTick], role: "marks") { try executor.mark($0) },
            PeriodicService(every: .milliseconds(500)) { executor.wake(.maintain) },
        ]
        if let credentials = exchange.credentials {
            let stream = UserDataStream(
                settings: .init(url: configuration.exchange.webSocketAPIURL, symbols: configuration.marketData.symbols),
                client: exchange.client, credentials: credentials, logger: context.logger)
            background.append(
                UntilShutdown {
                    await exchange.waitUntilConnected()
                    await stream.run { executor.wake(.update($0)) }
                })
        }
        return ServiceParts(
            addRoutes: { router in
                router.get("/api/orders") { request, _ -> Response in
                    let parameters = request.uri.queryParameters
                    let limitText = parameters.get("limit") ?? "100"
                    guard let limit = Int(limitText), (1...1_000).contains(limit) else {
                        return JSONResponse.error(.badRequest, "limit: expected a whole number from 1 to 1000, got \"\(limitText)\"")
                    }
                    let openText = parameters.get("open") ?? "false"
                    guard let open = Bool(openText) else {
                        return JSONResponse.error(.badRequest, "open: expected true or false, got \"\(openText)\"")
                    }
                    let before = parameters.get("before")
                    do {
                        let orders = try await store.recent(limit: limit, openOnly: open, before: before)
                        // Only an empty page can come from an unknown `before`; asked then, not per page.
                        if orders.isEmpty, let before, try await store.order(before) == nil {
                            return JSONResponse.error(
                                .badRequest, "before: expected a client order id from the last page's next, got \"\(before.prefix(64))\"")
                        }
                        return JSONResponse.make(
                            .ok,
                            JSONValue.fields([
                                "orders": .array(orders.map(\.json)),
                                "next": orders.count == limit ? orders.last.map { .string($0.clientOrderId) } : nil,
                            ]))
                    } catch {
                        return JSONResponse.error(.serviceUnavailable, "orders: \(PostgresErrorText.describe(error))")
                    }
                }
                router.get("/api/execution") { _, _ -> Response in
                    JSONResponse.make(.ok, Self.json(executor.view.withLock { $0 }, paused: pauses.current))
                }
                control.addRoutes(to: router)
            },
            healthChecks: [exchange.healthCheck, QueueCheck(executor: executor), ReconciliationCheck(executor: executor)],
            backgroundServices: background,
            statusUpdates: executor.statusUpdates)
    }

    static func json(_ view: ExecutionView, paused: [String: SymbolPause]) -> JSONValue {
        let counts = view.counts
        return .object([
            "signals": .object([
                "received": .number(Double(counts.received)), "executed": .number(Double(counts.executed)),
                "rejected": .number(Double(counts.rejected)), "queued": .number(Double(counts.queued)),
                "dropped": .object(
                    Dictionary(
                        uniqueKeysWithValues: SignalQueue.DropReason.allCases.map {
                            ($0.rawValue, .number(Double(counts.dropped[$0, default: 0])))
                        })),
                "balanced": .bool(counts.balances),
            ]),
            "queueCapacity": .number(Double(view.capacity)), "openOrders": .number(Double(view.open)),
            "awaitingReconciliation": .number(Double(view.awaitingReconciliation)),
            "unwrittenChanges": .number(Double(view.unwritten)),
            "trading": .bool(!view.reconciling && view.unwritten == 0 && view.holding == nil),
            "armedExits": .number(Double(view.armedExits)), "paused": ExecutionControlAPI.json(paused),
            // Where new orders go (`execution.on_binance_down`), and why they wait while they do.
            "venue": .string(view.serving.rawValue), "waiting": view.holding.map(JSONValue.string) ?? .null,
        ])
    }
}

/// `execution:queue`: the signal queue's depth and accounting; warns while it is full.
struct QueueCheck: HealthCheck {
    let executor: OrderExecutor
    let key = "execution:queue"
    let componentType = "component"

    func measure() async throws -> HealthMeasurement {
        let view = executor.view.withLock { $0 }
        let counts = view.counts
        let text =
            "\(counts.queued)/\(view.capacity) queued; received \(counts.received) = \(counts.executed) executed + "
            + "\(counts.rejected) rejected + \(counts.droppedTotal) dropped + \(counts.queued) queued"
        return HealthMeasurement(status: counts.queued >= view.capacity ? .warn : .pass, value: Double(counts.queued), output: text)
    }
}

/// `execution:reconciliation`: warns while orders left by an earlier run are being resolved,
/// or order changes wait for PostgreSQL (no signal is traded then either), or an order's
/// outcome is unknown.
struct ReconciliationCheck: HealthCheck {
    let executor: OrderExecutor
    let key = "execution:reconciliation"
    let componentType = "component"

    func measure() async throws -> HealthMeasurement {
        let view = executor.view.withLock { $0 }
        if view.reconciling {
            return HealthMeasurement(
                status: .warn, value: Double(view.awaitingReconciliation),
                output: "reconciling orders with the exchange before trading: \(view.awaitingReconciliation) unresolved")
        }
        if view.unwritten > 0 {
            return HealthMeasurement(
                status: .warn, value: Double(view.unwritten),
                output: "\(view.unwritten) order changes wait for PostgreSQL; no new orders until they are written")
        }
        if let holding = view.holding {
            return HealthMeasurement(status: .warn, value: Double(view.open), output: "new orders wait: \(holding)")
        }
        let text =
            "\(view.open) open orders, \(view.awaitingReconciliation) awaiting reconciliation, \(view.armedExits) exits armed; "
            + "new orders go to \(view.serving.rawValue)"
        let onSecondVenue = view.serving != .binance
        return HealthMeasurement(
            status: view.awaitingReconciliation > 0 || onSecondVenue ? .warn : .pass, value: Double(view.open), output: text)
    }
}

struct MissingInfrastructure: Error, CustomStringConvertible {
    var what: String
    var description: String { "the execution service needs \(what)" }
}
