import Binance
import EmergencyStop
import EventBus
import Foundation
import Money

/// A trade as each venue numbers its own: Binance's trade 7 and OKX's trade 7 are two trades.
public struct TradeKey: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var venue: TradingVenue
    public var tradeId: Int64

    public init(_ venue: TradingVenue, _ tradeId: Int64) {
        self.venue = venue
        self.tradeId = tradeId
    }

    public static func < (lhs: TradeKey, rhs: TradeKey) -> Bool { (lhs.venue.rawValue, lhs.tradeId) < (rhs.venue.rawValue, rhs.tradeId) }

    /// Binance's id alone (as before there was a second venue); `okx:<id>` for OKX's.
    public var description: String { venue == .binance ? String(tradeId) : "\(venue.rawValue):\(tradeId)" }
}

/// What the audit compares: the exchange's account history and balances on one side, the
/// system's own records (execution's orders, the portfolio's journal and figures, the event
/// streams) on the other. Gathered by ``AuditCollector``; built by hand in tests.
public struct AuditRecords: Sendable, Equatable {
    public var exchange: ExchangeSide
    public var ours: OurSide
    /// Each audited symbol's base and quote asset.
    public var assets: [String: SymbolAssets]
    /// The ESS's transitions the risk service shows (its newest `ess.recent_transitions`), and
    /// when the records were read: a halt still going on lasts until then.
    public var essTransitions: [ESSTransition]
    public var readAt: Date

    public init(
        exchange: ExchangeSide, ours: OurSide, assets: [String: SymbolAssets], essTransitions: [ESSTransition] = [],
        readAt: Date = Date()
    ) {
        self.exchange = exchange
        self.ours = ours
        self.assets = assets
        self.essTransitions = essTransitions
        self.readAt = readAt
    }

    /// The exchange's word: every order and trade of the account on the audited symbols, and
    /// what it holds of each asset (free and locked); with a second venue, both accounts'
    /// orders and trades, and their balances added together.
    public struct ExchangeSide: Sendable, Equatable {
        public var orders: [ExchangeOrder]
        public var trades: [ExchangeTrade]
        public var balances: [String: FixedDecimal]

        public init(orders: [ExchangeOrder], trades: [ExchangeTrade], balances: [String: FixedDecimal]) {
            self.orders = orders
            self.trades = trades
            self.balances = balances
        }
    }

    /// The system's word.
    public struct OurSide: Sendable, Equatable {
        /// Execution's orders, each once.
        public var orders: [RecordedOrder]
        /// The exchange trades the portfolio booked, as its journal lists them.
        public var journal: [TradeKey]
        public var portfolio: PortfolioFigures
        /// Consumer groups that have not handled every entry of their stream, and dead letters.
        public var events: EventBacklog

        public init(orders: [RecordedOrder], journal: [TradeKey], portfolio: PortfolioFigures, events: EventBacklog) {
            self.orders = orders
            self.journal = journal
            self.portfolio = portfolio
            self.events = events
        }
    }
}

public struct ExchangeOrder: Sendable, Equatable {
    public var clientOrderId: String
    public var status: OrderStatus
    public var executed: Quantity

    public init(clientOrderId: String, status: OrderStatus, executed: Quantity) {
        self.clientOrderId = clientOrderId
        self.status = status
        self.executed = executed
    }
}

public struct ExchangeTrade: Sendable, Equatable {
    public var venue: TradingVenue
    public var symbol: String
    public var tradeId: Int64
    public var isBuyer: Bool
    public var price: Price
    public var quantity: Quantity
    public var commission: FixedDecimal
    public var commissionAsset: String

    public var key: TradeKey { TradeKey(venue, tradeId) }

    public init(
        symbol: String, tradeId: Int64, isBuyer: Bool, price: Price, quantity: Quantity, commission: FixedDecimal, commissionAsset: String,
        venue: TradingVenue = .binance
    ) {
        self.venue = venue
        self.symbol = symbol
        self.tradeId = tradeId
        self.isBuyer = isBuyer
        self.price = price
        self.quantity = quantity
        self.commission = commission
        self.commissionAsset = commissionAsset
    }
}

/// One of execution's orders as its `/api/orders` lists it (`state` in execution's words).
public struct RecordedOrder: Sendable, Equatable {
    public var clientOrderId: String
    public var state: String
    public var executed: Quantity
    public var venue: TradingVenue
    public var symbol: String

    public init(clientOrderId: String, state: String, executed: Quantity, venue: TradingVenue = .binance, symbol: String = "") {
        self.clientOrderId = clientOrderId
        self.state = state
        self.executed = executed
        self.venue = venue
        self.symbol = symbol
    }
}

/// The portfolio's figures: cash in the account asset, each position's quantity and mark, and
/// its PnL parts.
public struct PortfolioFigures: Sendable, Equatable {
    public var account: String
    public var cash: FixedDecimal
    public var positions: [String: Holding]
    public var realized: FixedDecimal
    public var unrealized: FixedDecimal
    public var fees: FixedDecimal

    public init(
        account: String, cash: FixedDecimal, positions: [String: Holding], realized: FixedDecimal,
        unrealized: FixedDecimal, fees: FixedDecimal
    ) {
        self.account = account
        self.cash = cash
        self.positions = positions
        self.realized = realized
        self.unrealized = unrealized
        self.fees = fees
    }

    /// A position's quantity of its base asset and the price it is valued at.
    public struct Holding: Sendable, Equatable {
        public var quantity: FixedDecimal
        public var mark: Price?

        public init(quantity: FixedDecimal, mark: Price?) {
            self.quantity = quantity
            self.mark = mark
        }
    }
}

/// The event bus once the system settled: every entry of every stream handled by each of its
/// consumer groups, else the groups that are behind.
public struct EventBacklog: Sendable, Equatable {
    /// `stream/group: N pending, M not read`, one per group behind.
    public var behind: [String]
    public var deadLetters: Int

    public init(behind: [String], deadLetters: Int) {
        self.behind = behind
        self.deadLetters = deadLetters
    }
}
