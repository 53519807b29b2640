import Binance
import BinanceAdapter
import EmergencyStop
import EventBus
import Foundation
import Money
import OKXAdapter
import ServiceKit

/// Gathers ``AuditRecords``: the exchange's orders, trades and balances through the adapter
/// (paged by id, gently: `allOrders` weighs 20 of the budget), execution's orders, the
/// portfolio's journal, PnL and positions over their read APIs, the event streams' groups, and
/// the ESS's recent transitions from the risk service.
/// A reply that cannot be read is an error naming the document and the field.
public struct AuditCollector: Sendable {
    public let exchange: BinanceClient
    /// The second venue's account, when execution may fail over to it: each of our orders
    /// there is read back by its client order id, with its fills, and its balances are added to
    /// Binance's.
    public let secondVenue: OKXClient?
    public let execution: ControlClient
    public let portfolio: ControlClient
    public let risk: ControlClient
    public let streams: EventStreamInspector?
    public let symbols: [String]

    public init(
        exchange: BinanceClient, execution: ControlClient, portfolio: ControlClient, risk: ControlClient,
        streams: EventStreamInspector?, symbols: [String], secondVenue: OKXClient? = nil
    ) {
        self.exchange = exchange
        self.secondVenue = secondVenue
        self.execution = execution
        self.portfolio = portfolio
        self.risk = risk
        self.streams = streams
        self.symbols = symbols
    }

    public struct Incomplete: Error, CustomStringConvertible {
        public var description: String
    }

    public func collect() async throws -> AuditRecords {
        var assets: [String: SymbolAssets] = [:]
        var exchangeOrders: [ExchangeOrder] = []
        var trades: [ExchangeTrade] = []
        for symbol in symbols {
            guard let pair = exchange.assets(of: symbol) else {
                throw Incomplete(description: "\(symbol): the exchange does not list it (or the adapter is not connected)")
            }
            assets[symbol] = pair
            exchangeOrders += try await allOrders(symbol)
            trades += try await allTrades(symbol)
        }
        var balances: [String: FixedDecimal] = [:]
        for balance in try await exchange.balances() {
            balances[balance.asset] = try balance.free + balance.locked
        }
        let orders = try await recordedOrders()
        if let secondVenue {
            for balance in try await secondVenue.balances() {
                balances[balance.ccy] = try (balances[balance.ccy] ?? .zero) + balance.available + balance.frozen
            }
            let (okxOrders, okxTrades) = try await secondVenueHistory(orders, secondVenue)
            exchangeOrders += okxOrders
            trades += okxTrades
        }
        return AuditRecords(
            exchange: .init(orders: exchangeOrders, trades: trades, balances: balances),
            ours: .init(orders: orders, journal: try await journal(), portfolio: try await figures(), events: try await backlog()),
            assets: assets, essTransitions: try await essTransitions(), readAt: Date())
    }

    func allOrders(_ symbol: String) async throws -> [ExchangeOrder] {
        try await Self.everyPage(id: \.orderId) { try await exchange.allOrders(symbol: symbol, fromId: $0, limit: 1_000) }.map {
            ExchangeOrder(clientOrderId: $0.clientOrderId, status: $0.status, executed: $0.executedQty)
        }
    }

    func allTrades(_ symbol: String) async throws -> [ExchangeTrade] {
        try await Self.everyPage(id: \.fill.tradeId) { try await exchange.trades(symbol: symbol, fromId: $0, limit: 1_000) }.map {
            ExchangeTrade(
                symbol: $0.symbol, tradeId: $0.fill.tradeId, isBuyer: $0.isBuyer, price: $0.fill.price, quantity: $0.fill.qty,
                commission: $0.fill.commission, commissionAsset: $0.fill.commissionAsset)
        }
    }

    /// Every item of an exchange list read by id (`fromId`), 1,000 at a time: a full page is
    /// followed by the one from its highest id on.
    static func everyPage<Item>(id: KeyPath<Item, Int64>, _ page: (Int64) async throws -> [Item]) async throws -> [Item] {
        var items: [Item] = []
        var from: Int64? = 0
        while let start = from {
            let next = try await page(start)
            items += next
            from = next.count == 1_000 ? next.map { $0[keyPath: id] }.max().map { $0 + 1 } : nil
        }
        return items
    }

    /// Every order execution holds, newest first.
    func recordedOrders() async throws -> [RecordedOrder] {
        try await Self.everyPage(execution, "/api/orders", "orders") { reader in
            RecordedOrder(
                clientOrderId: reader.string("clientOrderId", maxLength: 64) ?? "", state: reader.string("state", maxLength: 32) ?? "",
                executed: reader.amount("executed") ?? .zero, venue: Self.venue(reader),
                symbol: reader.string("symbol", maxLength: 32) ?? "")
        }
    }

    /// The trades of every fill the portfolio booked.
    func journal() async throws -> [TradeKey] {
        try await Self.everyPage(portfolio, "/api/portfolio/trades", "trades") { reader in
            TradeKey(Self.venue(reader), Int64(reader.int("tradeId") ?? 0))
        }
    }

    /// Our order at OKX by its client order id (sent without dashes); nil when OKX has none.
    static func order(_ okx: OKXClient, instId: String, clientOrderId: String) async throws -> OKXOrder? {
        do {
            return try await okx.order(instId: instId, clOrdId: SecondVenueAccess.clOrdId(clientOrderId))
        } catch {
            if case .rejected(let code, _) = error, code == OKXCode.orderUnknown { return nil }
            throw error
        }
    }

    /// A record's `venue`: Binance when absent (records from before there was a second venue).
    static func venue(_ reader: PayloadReader) -> TradingVenue {
        reader.contains("venue") ? reader.choice("venue") ?? .binance : .binance
    }

    /// Our orders on the second venue as it reports them, read back one by one by client order
    /// id (`clOrdId`) under the instrument id the venue lists for the symbol (as execution
    /// placed them), and their fills. An order placed there outside Vakt is not seen; one whose
    /// symbol the venue no longer lists is reported as unknown there.
    func secondVenueHistory(_ orders: [RecordedOrder], _ okx: OKXClient) async throws -> ([ExchangeOrder], [ExchangeTrade]) {
        var found: [ExchangeOrder] = []
        var trades: [ExchangeTrade] = []
        let ours = orders.filter { $0.venue == .okx }
        guard !ours.isEmpty else { return ([], []) }
        let instIds = OKXInstrument.ids(for: Array(Set(ours.map(\.symbol))), in: try await okx.spotInstruments())
        for order in ours {
            let symbol = order.symbol
            guard let instId = instIds[symbol] else { continue }
            guard let there = try await Self.order(okx, instId: instId, clientOrderId: order.clientOrderId) else { continue }
            found.append(ExchangeOrder(clientOrderId: order.clientOrderId, status: there.state.binanceStatus, executed: there.filled))
            // An order that filled nothing has no fills to read (one request fewer per such order).
            guard there.filled > .zero else { continue }
            for fill in try await okx.fills(instId: instId, ordId: there.ordId) {
                trades.append(
                    ExchangeTrade(
                        symbol: symbol, tradeId: fill.tradeId, isBuyer: fill.side == .buy, price: fill.price, quantity: fill.quantity,
                        commission: try .zero - fill.fee, commissionAsset: fill.feeCcy, venue: .okx))
            }
        }
        return (found, trades)
    }

    /// Each item under `key` of a paged list, read by `read`: 1,000 at a time, each page after
    /// the first from the last one's `next`, until a page leaves `next` out.
    static func everyPage<Item>(
        _ client: ControlClient, _ list: String, _ key: String, _ read: (PayloadReader) -> Item
    ) async throws -> [Item] {
        var items: [Item] = []
        var before = ""
        while true {
            let path = "\(list)?limit=1000" + before
            let data = try await client.get(path)
            for (index, item) in try Self.items(data, key, document: path).enumerated() {
                let reader = try PayloadReader(item, name: "\(key)[\(index)]")
                items.append(read(reader))
                try Self.finish(reader, document: path)
            }
            guard let next = try Self.next(data, document: path) else { return items }
            before = "&before=" + (next.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? next)
        }
    }

    /// The portfolio's PnL and its positions with their marks, from two reads: taken again
    /// (up to 20 times) while the PnL changed between them, since a tick in between would value
    /// the positions at another mark than the PnL's unrealized part.
    func figures() async throws -> PortfolioFigures {
        var attempt = 0
        while true {
            attempt += 1
            let pnl = try await pnlFigures()
            let positions = try await positionFigures()
            if try await pnlFigures() == pnl || attempt == 20 {
                return PortfolioFigures(
                    account: pnl.account, cash: pnl.cash, positions: positions, realized: pnl.realized, unrealized: pnl.unrealized,
                    fees: pnl.fees)
            }
        }
    }

    private struct PnLFigures: Equatable {
        var account: String
        var cash, realized, unrealized, fees: FixedDecimal
    }

    private func pnlFigures() async throws -> PnLFigures {
        let pnlPath = "/api/portfolio/pnl"
        let pnl = try PayloadReader(json: try await portfolio.get(pnlPath), name: pnlPath)
        let account = pnl.string("account", maxLength: 16) ?? ""
        let cash: Money? = pnl.amount("cash")
        let realized: Money? = pnl.amount("realizedPnl")
        let unrealized: Money? = pnl.amount("unrealizedPnl")
        let fees: Money? = pnl.amount("fees")
        try Self.finish(pnl, document: pnlPath)
        return PnLFigures(
            account: account, cash: cash?.value ?? .zero, realized: realized?.value ?? .zero, unrealized: unrealized?.value ?? .zero,
            fees: fees?.value ?? .zero)
    }

    private func positionFigures() async throws -> [String: PortfolioFigures.Holding] {
        let positionsPath = "/api/portfolio/positions"
        var positions: [String: PortfolioFigures.Holding] = [:]
        for (index, item) in try Self.items(try await portfolio.get(positionsPath), "positions", document: positionsPath).enumerated() {
            let reader = try PayloadReader(item, name: "positions[\(index)]")
            let symbol = reader.symbol("symbol") ?? ""
            let quantity: Money? = reader.amount("quantity")
            let mark: Price? = reader.optionalAmount("mark")
            try Self.finish(reader, document: positionsPath)
            positions[symbol] = .init(quantity: quantity?.value ?? .zero, mark: mark)
        }
        return positions
    }

    func essTransitions() async throws -> [ESSTransition] {
        let path = "/api/ess"
        return try Self.items(try await risk.get(path), "recent", document: path).enumerated().map { index, item in
            do {
                return try ESSTransition(json: item)
            } catch {
                throw Incomplete(description: "\(path): recent[\(index)]: \(error)")
            }
        }
    }

    func backlog() async throws -> EventBacklog {
        guard let streams else { return EventBacklog(behind: [], deadLetters: 0) }
        var behind: [String] = []
        var dead = 0
        for stream in try await streams.stats(Self.auditedEvents) {
            dead += stream.deadLetters
            // Redis cannot tell a group's lag once entries it had not read were trimmed; then
            // only its pending entries tell.
            for group in stream.groups where group.pending > 0 || (group.lag ?? 0) > 0 {
                behind.append(
                    "\(stream.stream)/\(group.name): \(group.pending) pending, \(group.lag.map(String.init) ?? "unknown") not read")
            }
        }
        return EventBacklog(behind: behind, deadLetters: dead)
    }

    /// The streams whose every entry must be handled once trading settled: orders, fills, the
    /// ESS and operators' actions. Market data, signals, snapshots and health flow on while
    /// the system runs, so a backlog there is the present, not a loss.
    static let auditedEvents: [EventType] = [
        .orderSubmitted, .orderFilled, .orderPartiallyFilled, .orderCanceled, .orderRejected, .essStateChanged, .essTripRequested,
        .controlAction,
    ]

    /// A page's `next` (the `before` of the page after it), as text; nil on the last page.
    static func next(_ data: Data, document: String) throws -> String? {
        let page = try PayloadReader(json: data, name: document)
        // The last page leaves `next` out.
        guard page.contains("next") else { return nil }
        let next = page.reading("next") { value throws(PayloadError) -> String? in
            switch value {
            case .null: return nil
            case .string(let text): return text
            case .number(let number) where number == number.rounded() && number > 0: return String(Int64(number))
            default: throw PayloadError(problems: ["expected a client order id or a trade id"])
            }
        }
        try finish(page, document: document)
        return next ?? nil
    }

    /// The array under `key` of the JSON object `data`.
    static func items(_ data: Data, _ key: String, document: String) throws -> [JSONValue] {
        let reader = try PayloadReader(json: data, name: document)
        let items = reader.reading(key) { value throws(PayloadError) -> [JSONValue] in
            guard case .array(let items) = value else { throw PayloadError(problems: ["expected an array"]) }
            return items
        }
        try finish(reader, document: document)
        return items ?? []
    }

    /// Ends reading one of the services' documents: its problems, named by document and
    /// field, are the error. Fields the audit does not need are allowed.
    static func finish(_ reader: PayloadReader, document: String) throws {
        do {
            try reader.finish(allowing: true)
        } catch {
            throw Incomplete(description: "\(document): \(error.problems.joined(separator: "; "))")
        }
    }
}
