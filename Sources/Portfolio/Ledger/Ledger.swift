import Binance
import Foundation
import Money

/// Why a fill or a price cannot be booked; the ledger is left as it was.
public enum LedgerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The fill's symbol is priced in another asset than the account's.
    case otherQuote(symbol: String, quote: String, account: String)
    case badQuantity(symbol: String, tradeId: Int64, quantity: Quantity)
    case arithmetic(String)

    public var description: String {
        switch self {
        case .otherQuote(let symbol, let quote, let account):
            "\(symbol) is priced in \(quote); this portfolio books only symbols priced in \(account)"
        case .badQuantity(let symbol, let tradeId, let quantity):
            "fill \(tradeId) on \(symbol): quantity \(quantity) must be positive, and more than a commission taken from it"
        case .arithmetic(let problem): "amount out of range: \(problem)"
        }
    }
}

/// The account in one quote asset (USDT): cash, a netted ``Position`` per symbol, the latest
/// price per symbol, and the fees. Pure: fills and prices in, amounts out, every one exact.
///
/// A fill moves the quote asset by `∓ quantity × price` (and its fee when paid in the quote
/// asset) and the position by `± quantity` (less its fee when paid in the base asset, which is
/// then valued at the fill's price). So at every moment
/// `equity − opening equity = realized + unrealized − fees`, exactly.
public struct Ledger: Sendable, Equatable, Codable {
    public let account: String
    public private(set) var cash: FixedDecimal
    public private(set) var positions: [String: Position] = [:]
    /// The latest price of each symbol: a market price or a fill's, whichever came last.
    public private(set) var marks: [String: Price] = [:]
    /// Fees paid in assets that are neither a symbol's base nor the account's (BNB), by asset.
    public private(set) var otherFees: [String: FixedDecimal] = [:]
    /// What the account held when the ledger opened, at the prices then.
    public private(set) var openingEquity: FixedDecimal
    public private(set) var fills = 0

    public init(account: String, cash: FixedDecimal) {
        self.account = account
        self.cash = cash
        openingEquity = cash
    }

    /// Books a holding the account had before the ledger opened, at `price`.
    public mutating func open(symbol: String, quantity: FixedDecimal, at price: Price) throws(LedgerError) {
        var position = positions[symbol] ?? Position(symbol: symbol)
        try exact { () throws(FixedDecimalError) in
            let value = try quantity.multiplied(by: price.value)
            try position.apply(delta: quantity, price: price)
            openingEquity = try openingEquity + value
        }
        positions[symbol] = position
        marks[symbol] = price
    }

    /// Books one fill. Either all of it is booked, or (with an error naming why) none.
    public mutating func apply(_ fill: LedgerFill, assets: SymbolAssets) throws(LedgerError) {
        guard assets.quote == account else { throw .otherQuote(symbol: fill.symbol, quote: assets.quote, account: account) }
        let baseFee = fill.commissionAsset == assets.base ? fill.commission : .zero
        let quoteFee = fill.commissionAsset == account ? fill.commission : .zero
        guard fill.quantity > .zero, fill.commission >= .zero, baseFee < fill.quantity.value else {
            throw .badQuantity(symbol: fill.symbol, tradeId: fill.tradeId, quantity: fill.quantity)
        }
        var next = self
        var position = positions[fill.symbol] ?? Position(symbol: fill.symbol)
        try exact { () throws(FixedDecimalError) in
            let notional = try fill.quantity.value.multiplied(by: fill.price.value)
            let signed = fill.side == .buy ? fill.quantity.value : -fill.quantity.value
            try position.apply(delta: signed - baseFee, price: fill.price)
            position.fees = try position.fees + baseFee.multiplied(by: fill.price.value) + quoteFee
            next.cash = try cash + (fill.side == .buy ? -notional : notional) - quoteFee
            if fill.commissionAsset != assets.base && fill.commissionAsset != account && !fill.commission.isZero {
                next.otherFees[fill.commissionAsset] = try (otherFees[fill.commissionAsset] ?? .zero) + fill.commission
            }
        }
        next.positions[fill.symbol] = position
        next.marks[fill.symbol] = fill.price
        next.fills += 1
        self = next
    }

    /// The latest market price of `symbol`.
    public mutating func mark(_ symbol: String, at price: Price) {
        marks[symbol] = price
    }

    public var realized: FixedDecimal {
        get throws(LedgerError) { try sum { $0.realized } }
    }

    public var fees: FixedDecimal {
        get throws(LedgerError) { try sum { $0.fees } }
    }

    /// Open positions at their marks.
    public var unrealized: FixedDecimal {
        get throws(LedgerError) { try sum { position throws(FixedDecimalError) in try position.unrealized(at: mark(of: position)) } }
    }

    /// Cash plus every position at its mark.
    public var equity: FixedDecimal {
        get throws(LedgerError) {
            let held = try sum { position throws(FixedDecimalError) in try position.quantity.multiplied(by: mark(of: position).value) }
            return try exact { () throws(FixedDecimalError) in try cash + held }
        }
    }

    /// Every open position's value at its mark, long or short alike.
    public var exposure: FixedDecimal {
        get throws(LedgerError) {
            try sum { position throws(FixedDecimalError) in try position.quantity.magnitude.multiplied(by: mark(of: position).value) }
        }
    }

    private func mark(of position: Position) -> Price {
        // A position exists only after a fill or an opening, each of which set the mark.
        marks[position.symbol] ?? .zero
    }

    private func sum(_ amount: (Position) throws(FixedDecimalError) -> FixedDecimal) throws(LedgerError) -> FixedDecimal {
        try exact { () throws(FixedDecimalError) in
            var total = FixedDecimal.zero
            for key in positions.keys.sorted() { total = try total + amount(positions[key]!) }
            return total
        }
    }

    private func exact<T>(_ body: () throws(FixedDecimalError) -> T) throws(LedgerError) -> T {
        do {
            return try body()
        } catch {
            throw .arithmetic("\(error)")
        }
    }
}
