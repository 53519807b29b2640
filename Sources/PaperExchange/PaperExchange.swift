// PaperExchange: the paper exchange's market, pure. Order books with price-time priority, the
// simulator's own liquidity around a seeded price process (or a replayed kline file), fills,
// maker and taker fees, balances that lock and unlock, and Binance's execution reports. Every
// operation takes the time as an argument; `ExchangeSimulator` is the HTTP shell around it.

import Binance
import EventBus
import Money

/// The paper exchange's whole state: markets, the account, its orders and trades.
///
/// One account trades here (the API key's). Its orders take the simulator's liquidity and rest
/// on the book until the price moves through them; it never trades with itself.
public struct PaperExchange: Sendable {
    public struct Settings: Sendable, Equatable {
        public var markets: [SimulatedMarket]
        public var balances: [String: FixedDecimal]
        /// Commission rates, as fractions of the amount received (0.001 is 0.1%).
        public var makerCommission: FixedDecimal
        public var takerCommission: FixedDecimal
        public var seed: UInt64
        /// How long one step of the price process lasts, in milliseconds of the exchange's clock.
        public var stepMilliseconds: Int64

        public init(
            markets: [SimulatedMarket], balances: [String: FixedDecimal], makerCommission: FixedDecimal, takerCommission: FixedDecimal,
            seed: UInt64, stepMilliseconds: Int64 = 1_000
        ) {
            self.markets = markets
            self.balances = balances
            self.makerCommission = makerCommission
            self.takerCommission = takerCommission
            self.seed = seed
            self.stepMilliseconds = stepMilliseconds
        }
    }

    /// A new order as the engine takes it: terms already read and checked as Binance reads them.
    public struct NewOrder: Sendable, Equatable {
        public var terms: OrderTerms
        public var timeInForce: TimeInForce?
        public var clientOrderId: String?

        public init(terms: OrderTerms, timeInForce: TimeInForce? = nil, clientOrderId: String? = nil) {
            self.terms = terms
            self.timeInForce = timeInForce
            self.clientOrderId = clientOrderId
        }
    }

    /// What a new order did: the order as it stands and its fills (a FULL reply).
    public struct Placed: Sendable, Equatable {
        public var order: PaperOrder
        public var fills: [PaperTrade]
    }

    public let settings: Settings
    var generator: SeededGenerator
    var markets: [String: MarketState]
    public private(set) var balances: Balances
    var orders: [Int64: PaperOrder] = [:]
    /// Closed orders, oldest first, forgotten past ``closedOrderCapacity``.
    var closedOrders: [Int64] = []
    /// The latest order placed under each client order id.
    var byClientId: [String: Int64] = [:]
    var trades: [PaperTrade] = []
    /// Execution reports, oldest first; ``reportsDropped`` were trimmed before them.
    public private(set) var reports: [ExecutionReport] = []
    public private(set) var reportsDropped = 0
    var nextOrderId: Int64 = 1
    var nextTradeId: Int64 = 1
    public private(set) var updateTime: Int64 = 0

    static let closedOrderCapacity = 100_000
    static let tradeCapacity = 100_000
    static let reportCapacity = 10_000

    public init(settings: Settings, now: Int64) throws(FixedDecimalError) {
        self.settings = settings
        generator = SeededGenerator(seed: settings.seed)
        balances = Balances(settings.balances)
        markets = [:]
        for market in settings.markets {
            let ticks = try Tick.count(of: market.startPrice, tickSize: market.symbol.tickSize, rounding: .halfEven)
            markets[market.symbol.name] = MarketState(
                market: market, path: PricePath(source: market.path, ticks: ticks), step: now / settings.stepMilliseconds)
        }
        updateTime = now
    }

    // MARK: - Time

    /// Longest stretch the market replays at once: after a long pause it jumps ahead instead.
    static let longestCatchUp: Int64 = 100_000

    /// Moves every market to `now`: one step of its price process per step length elapsed,
    /// filling the resting orders the price moves through.
    public mutating func advance(to now: Int64) throws(BinanceError) {
        for name in markets.keys.sorted() {
            guard var market = markets[name] else { continue }
            let target = now / settings.stepMilliseconds
            if target - market.step > Self.longestCatchUp { market.step = target - Self.longestCatchUp }
            while market.step < target {
                market.step += 1
                try step(&market, at: market.step * settings.stepMilliseconds)
            }
            markets[name] = market
        }
    }

    private mutating func step(_ market: inout MarketState, at time: Int64) throws(BinanceError) {
        _ = market.path.step(using: &generator)
        market.consumedAsks = [:]
        market.consumedBids = [:]
        market.updateId += 1
        let symbol = market.symbol
        let stepUnits = try exact { try market.liquidity.flowPerStep.value.divided(by: symbol.stepSize.value, scale: 0, rounding: .down) }
        let units = max(1, Int(truncatingIfNeeded: stepUnits.units / FixedDecimal(1).units))
        var flow = Quantity(FixedDecimal(units: symbol.stepSize.value.units * Int128(Int.random(in: 1...units, using: &generator))))
        // The market's own trade this step, at the mid.
        try exact {
            try market.addToTape(
                MarketTrade(
                    id: nextTradeId, price: market.price(market.mid), qty: flow, time: time,
                    buyerIsMaker: Bool.random(using: &generator)))
        }
        nextTradeId += 1
        // Resting orders the price moved through trade against the flow, best price first,
        // then oldest first.
        for side in [OrderSide.buy, .sell] {
            let crossed = (side == .buy ? market.bids : market.asks).filter { resting in
                side == .buy
                    ? resting.ticks >= market.levelTicks(0, takerSide: .buy) : resting.ticks <= market.levelTicks(0, takerSide: .sell)
            }
            for resting in crossed where flow > .zero {
                guard var order = orders[resting.id] else { continue }
                let remaining = try exact { try order.origQty - order.executedQty }
                let qty = min(remaining, flow)
                flow = try exact { try flow - qty }
                let trade = try fill(&order, qty: qty, ticks: resting.ticks, in: &market, isMaker: true, at: time)
                if order.status == .filled { market.remove(order.id) }
                try settle(&order, at: time)
                record(ExecutionReport(kind: .trade, order: order, trade: trade, cancelClientOrderId: nil, eventTime: time))
            }
        }
    }

    // MARK: - Orders

    /// Places `request` at `now`, as Binance's matching engine would: checked against the
    /// filters and the balances (nothing changes when it is refused), then filled from the
    /// simulator's liquidity, the rest resting (GTC, LIMIT_MAKER) or expiring (IOC, FOK, MARKET).
    public mutating func place(_ request: NewOrder, now: Int64) throws(BinanceError) -> Placed {
        try advance(to: now)
        let terms = request.terms
        guard var market = markets[terms.symbol] else { throw .badSymbol }
        let symbol = market.symbol
        let openOrders = market.bids.count + market.asks.count
        if let failure = symbol.filters.failure(of: terms, referencePrice: market.price(market.mid), openOrders: openOrders) {
            throw .filter(failure)
        }
        if let id = request.clientOrderId, let previous = byClientId[id], orders[previous]?.status.isOpen == true {
            throw .engine(-2010, "Duplicate order sent.")
        }
        let side = terms.side
        let limitTicks = try terms.price.map { price throws(BinanceError) in
            try exact { try Tick.count(of: price, tickSize: symbol.tickSize, rounding: .halfEven) }
        }
        if terms.type == .limitMaker, let limitTicks, crosses(limitTicks, side: side, market) {
            throw .engine(-2010, "Order would immediately match and take.")
        }
        // The fills it would take, before anything changes.
        let takes = try takes(for: terms, limitTicks: limitTicks, in: market)
        var takenQty = Quantity.zero
        var takenCost = Money.zero
        for take in takes {
            takenQty = try exact { try takenQty + take.qty }
            takenCost = try exact { try takenCost + Money.notional(of: take.qty, at: market.price(take.ticks)) }
        }
        let timeInForce = request.timeInForce ?? .gtc
        let fillOrKillMisses = timeInForce == .fok && terms.quantity.map { takenQty < $0 } == true
        // What it locks: a buy its whole cost at its limit (or what its fills cost), a sell its quantity.
        let lockAsset = side == .buy ? symbol.quoteAsset : symbol.baseAsset
        let lockAmount: FixedDecimal = try exact { () throws(FixedDecimalError) in
            if fillOrKillMisses { return .zero }
            switch (side, terms.type) {
            case (.buy, .market):
                return takenCost.value
            case (.buy, _):
                return try Money.notional(of: terms.quantity ?? .zero, at: terms.price ?? .zero).value
            case (.sell, _):
                return (terms.quantity ?? takenQty).value
            }
        }
        guard balances.canLock(lockAmount, of: lockAsset) else {
            throw .engine(-2010, "Account has insufficient balance for requested action.")
        }

        let id = nextOrderId
        nextOrderId += 1
        var order = PaperOrder(
            id: id, clientOrderId: request.clientOrderId ?? "paper\(id)", symbol: symbol.name, side: side, type: terms.type,
            timeInForce: terms.type == .market ? .gtc : timeInForce, price: terms.price ?? .zero,
            origQty: terms.quantity ?? .zero, origQuoteOrderQty: terms.quoteQuantity ?? .zero, executedQty: .zero,
            cumulativeQuoteQty: .zero, status: .new, time: now, updateTime: now, locked: lockAmount)
        try exact { try balances.lock(lockAmount, of: lockAsset) }
        orders[id] = order
        byClientId[order.clientOrderId] = id
        record(ExecutionReport(kind: .new, order: order, trade: nil, cancelClientOrderId: nil, eventTime: now))

        var fills: [PaperTrade] = []
        if !fillOrKillMisses {
            for take in takes {
                try exact { try market.consume(take.qty, at: take.level, takerSide: side) }
                let trade = try fill(&order, qty: take.qty, ticks: take.ticks, in: &market, isMaker: false, at: now)
                fills.append(trade)
                record(ExecutionReport(kind: .trade, order: order, trade: trade, cancelClientOrderId: nil, eventTime: now))
            }
        }
        if let quote = terms.quoteQuantity, let last = fills.last {
            // By quote amount: done when what is left would not buy one more step.
            order.origQty = order.executedQty
            let left = try exact { try quote - order.cumulativeQuoteQty }
            if try exact({ try Money.notional(of: symbol.stepSize, at: last.price) }) > left { order.status = .filled }
        }
        let rests = terms.type == .limitMaker || (terms.type == .limit && timeInForce == .gtc)
        if order.status != .filled {
            if rests, let limitTicks {
                market.rest(.init(id: id, ticks: limitTicks), side: side)
            } else {
                order.status = .expired
                order.updateTime = now
                record(ExecutionReport(kind: .expired, order: order, trade: nil, cancelClientOrderId: nil, eventTime: now))
            }
        }
        try settle(&order, at: now)
        markets[symbol.name] = market
        return Placed(order: order, fills: fills)
    }

    /// Cancels an open order, found by id or client order id; its locked funds are freed.
    public mutating func cancel(
        symbol: String, orderId: Int64?, clientOrderId: String?, newClientOrderId: String?, now: Int64
    ) throws(BinanceError) -> PaperOrder {
        try advance(to: now)
        guard markets[symbol] != nil else { throw .badSymbol }
        guard let id = try find(symbol: symbol, orderId: orderId, clientOrderId: clientOrderId, missing: .unknownOrder),
            var order = orders[id], order.status.isOpen
        else { throw .unknownOrder }
        markets[symbol]?.remove(id)
        order.status = .canceled
        order.updateTime = now
        let cancelId = newClientOrderId ?? "cancel\(id)"
        try settle(&order, at: now)
        record(ExecutionReport(kind: .canceled, order: order, trade: nil, cancelClientOrderId: cancelId, eventTime: now))
        return order
    }

    /// Cancels every open order on `symbol` (Binance's `DELETE /api/v3/openOrders`).
    public mutating func cancelAll(symbol: String, now: Int64) throws(BinanceError) -> [PaperOrder] {
        try advance(to: now)
        guard let market = markets[symbol] else { throw .badSymbol }
        let ids = (market.bids + market.asks).map(\.id).sorted()
        guard !ids.isEmpty else { throw .unknownOrder }
        var canceled: [PaperOrder] = []
        for id in ids {
            canceled.append(try cancel(symbol: symbol, orderId: id, clientOrderId: nil, newClientOrderId: nil, now: now))
        }
        return canceled
    }

    // MARK: - Inside

    struct Take: Sendable {
        let level: Int
        let ticks: Int
        let qty: Quantity
    }

    private func crosses(_ ticks: Int, side: OrderSide, _ market: MarketState) -> Bool {
        side == .buy ? ticks >= market.levelTicks(0, takerSide: .buy) : ticks <= market.levelTicks(0, takerSide: .sell)
    }

    /// The simulator's levels an order takes, best first, each on the quantity step.
    private func takes(for terms: OrderTerms, limitTicks: Int?, in market: MarketState) throws(BinanceError) -> [Take] {
        guard terms.type != .limitMaker else { return [] }
        let step = market.symbol.stepSize
        var wanted = terms.quantity
        var budget = terms.quoteQuantity
        var takes: [Take] = []
        for level in 0..<market.liquidity.levels {
            let ticks = market.levelTicks(level, takerSide: terms.side)
            guard ticks >= 1 else { break }
            if let limitTicks, terms.side == .buy ? ticks > limitTicks : ticks < limitTicks { break }
            let available = try exact { try market.available(level, takerSide: terms.side) }
            guard available > .zero else { continue }
            let price = market.price(ticks)
            var qty: Quantity
            if let remaining = wanted {
                qty = min(remaining, available)
            } else if let quote = budget {
                let affordable = try exact { try quote.value.divided(by: price.value, scale: FixedDecimal.maxScale, rounding: .down) }
                qty = min(try exact { try Quantity(affordable).rounded(downToStep: step) }, available)
            } else {
                break
            }
            guard qty > .zero else { break }
            takes.append(Take(level: level, ticks: ticks, qty: qty))
            if let remaining = wanted {
                wanted = try exact { try remaining - qty }
                if wanted == .zero { break }
            } else if let quote = budget {
                budget = try exact { try quote - Money.notional(of: qty, at: price) }
            }
        }
        return takes
    }

    /// One fill of `order`: the trade, its commission, the balances moved.
    private mutating func fill(
        _ order: inout PaperOrder, qty: Quantity, ticks: Int, in market: inout MarketState, isMaker: Bool, at time: Int64
    ) throws(BinanceError) -> PaperTrade {
        let symbol = market.symbol
        let price = market.price(ticks)
        let rate = isMaker ? settings.makerCommission : settings.takerCommission
        let trade: PaperTrade = try exact { () throws(FixedDecimalError) in
            let quote = try Money.notional(of: qty, at: price)
            let isBuyer = order.side == .buy
            let received = isBuyer ? qty.value : quote.value
            let places = isBuyer ? symbol.basePrecision : symbol.quotePrecision
            let commission = try received.multiplied(by: rate, scale: places, rounding: .halfEven)
            if isBuyer {
                // A buy locked its cost at its own limit (a market buy: at each fill's price).
                let lockedPrice = order.type == .market ? price : order.price
                let lockedCost = try Money.notional(of: qty, at: lockedPrice).value
                try balances.spendLocked(lockedCost, of: symbol.quoteAsset)
                try balances.credit(try lockedCost - quote.value, to: symbol.quoteAsset)
                try balances.credit(try qty.value - commission, to: symbol.baseAsset)
                order.locked = try order.locked - lockedCost
            } else {
                try balances.spendLocked(qty.value, of: symbol.baseAsset)
                try balances.credit(try quote.value - commission, to: symbol.quoteAsset)
                order.locked = try order.locked - qty.value
            }
            order.executedQty = try order.executedQty + qty
            order.cumulativeQuoteQty = try order.cumulativeQuoteQty + quote
            return PaperTrade(
                id: nextTradeId, orderId: order.id, symbol: symbol.name, price: price, qty: qty, quoteQty: quote,
                commission: commission, commissionAsset: isBuyer ? symbol.baseAsset : symbol.quoteAsset, time: time,
                isBuyer: isBuyer, isMaker: isMaker)
        }
        nextTradeId += 1
        let filled = order.origQuoteOrderQty == .zero && order.executedQty >= order.origQty
        order.status = filled ? .filled : .partiallyFilled
        order.updateTime = time
        trades.append(trade)
        if trades.count > Self.tradeCapacity + Self.tradeCapacity / 4 { trades.removeFirst(trades.count - Self.tradeCapacity) }
        try exact {
            try market.addToTape(MarketTrade(id: trade.id, price: price, qty: qty, time: time, buyerIsMaker: isMaker == trade.isBuyer))
        }
        return trade
    }

    /// Stores `order` as it now stands; a closed one frees what it still locked and joins the
    /// closed orders, the oldest of which are forgotten.
    private mutating func settle(_ order: inout PaperOrder, at time: Int64) throws(BinanceError) {
        if !order.status.isOpen, order.locked > .zero {
            let symbol = try listed(order.symbol)
            try exact { try balances.unlock(order.locked, of: order.side == .buy ? symbol.quoteAsset : symbol.baseAsset) }
            order.locked = .zero
        }
        orders[order.id] = order
        updateTime = time
        guard !order.status.isOpen else { return }
        closedOrders.append(order.id)
        if closedOrders.count > Self.closedOrderCapacity + Self.closedOrderCapacity / 4 {
            let forgotten = closedOrders.prefix(closedOrders.count - Self.closedOrderCapacity)
            for id in forgotten {
                if let old = orders.removeValue(forKey: id), byClientId[old.clientOrderId] == id {
                    byClientId[old.clientOrderId] = nil
                }
            }
            closedOrders.removeFirst(forgotten.count)
        }
    }

    private mutating func record(_ report: ExecutionReport) {
        reports.append(report)
        if reports.count > Self.reportCapacity + Self.reportCapacity / 4 {
            let dropped = reports.count - Self.reportCapacity
            reports.removeFirst(dropped)
            reportsDropped += dropped
        }
    }

    func listed(_ name: String) throws(BinanceError) -> ListedSymbol {
        guard let market = markets[name] else { throw .badSymbol }
        return market.symbol
    }

    /// An order's id from its id or client order id; with both, the id decides and the client
    /// order id must match (Binance's rule).
    func find(symbol: String, orderId: Int64?, clientOrderId: String?, missing: BinanceError) throws(BinanceError) -> Int64? {
        let id: Int64?
        if let orderId {
            id = orders[orderId].map { $0.id }
            if let id, let clientOrderId, orders[id]?.clientOrderId != clientOrderId { throw missing }
        } else if let clientOrderId {
            id = byClientId[clientOrderId]
        } else {
            throw .mandatory("orderId")
        }
        guard let id, orders[id]?.symbol == symbol else { throw missing }
        return id
    }
}

extension BinanceError {
    /// A matching engine refusal (-2010 for new orders).
    static func engine(_ code: Int, _ message: String) -> BinanceError { BinanceError(code: code, msg: message) }
    public static let unknownOrder = BinanceError(code: -2011, msg: "Unknown order sent.")
    public static let noSuchOrder = BinanceError(code: -2013, msg: "Order does not exist.")
}
