import Binance
import EventBus

/// A request's parameters read as Binance reads them: a missing mandatory one is -1102, a
/// malformed number -1100, an unknown symbol -1121.
struct RequestParameters: Sendable {
    let values: [String: String]

    func present(_ name: String) -> String? { values[name].flatMap { $0.isEmpty ? nil : $0 } }

    func mandatory(_ name: String) throws(BinanceError) -> String {
        guard let value = present(name) else { throw .mandatory(name) }
        return value
    }

    func symbol(in markets: SimulatedMarkets) throws(BinanceError) -> String {
        let name = try mandatory("symbol")
        guard markets.symbol(name) != nil else { throw .badSymbol }
        return name
    }

    func optionalSymbol(in markets: SimulatedMarkets) throws(BinanceError) -> String? {
        guard present("symbol") != nil else { return nil }
        return try symbol(in: markets)
    }

    func integer(_ name: String) throws(BinanceError) -> Int64? {
        guard let text = present(name) else { return nil }
        guard text.utf8.count <= 20, text.utf8.allSatisfy({ (48...57).contains($0) }), let value = Int64(text) else {
            throw BinanceError(code: -1100, msg: "Illegal characters found in parameter '\(name)'; legal range is '^[0-9]{1,20}$'.")
        }
        return value
    }

    /// `limit`, defaulted and capped as the endpoint caps it.
    func limit(default defaultValue: Int, max maximum: Int) throws(BinanceError) -> Int {
        guard let asked = try integer("limit") else { return defaultValue }
        return Int(min(max(asked, 1), Int64(maximum)))
    }

    func flag(_ name: String) -> Bool { present(name)?.lowercased() == "true" }

    /// The order a query or cancel names: `orderId` or `origClientOrderId`.
    func orderReference() throws(BinanceError) -> (id: Int64?, clientOrderId: String?) {
        let id = try integer("orderId")
        let clientOrderId = present("origClientOrderId")
        guard id != nil || clientOrderId != nil else {
            throw BinanceError(code: -1102, msg: "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!")
        }
        return (id, clientOrderId)
    }
}
