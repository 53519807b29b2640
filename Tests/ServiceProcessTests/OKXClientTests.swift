import AsyncHTTPClient
import EventBus
import Foundation
import Logging
import Money
import OKXAdapter
import Testing
import VaktTesting

/// Vakt's own OKX client on the paper exchange's OKX account: an order placed under a client
/// order id, read back by it, refused a second time while open, canceled; an order that crosses
/// the book filled, its fills and fee read, the balances moved by exactly that; OKX's codes for
/// an unknown order, a closed one canceled, and a wrong passphrase.
@Suite struct OKXClientTests {
    static func client(_ simulator: ServiceInstance, passphrase: String = ExchangeSimulatorTests.okx.passphrase) -> OKXClient {
        OKXClient(
            settings: .init(baseURL: simulator.url("")),
            credentials: .init(
                apiKey: ExchangeSimulatorTests.okx.key, secretKey: ExchangeSimulatorTests.okx.secret, passphrase: passphrase),
            http: HTTPClient.shared, logger: Logger(label: "test.okx"))
    }

    @Test func placesReadsCancelsAndReadsFillsAndBalancesByClientOrderId() async throws {
        let (_, simulator) = try await ExchangeSimulatorTests.start()
        defer { Task { await simulator.stop() } }
        await ExchangeSimulatorTests.waitForOKXTrades(simulator)
        let okx = Self.client(simulator)
        let last = try #require(try await okx.trades(instId: "BTC-USDT", limit: 1).first).price
        let low = try Price(last.value.multiplied(by: FixedDecimal(5, scale: 1), scale: 2, rounding: .down))
        let size = try Quantity(parsing: "0.001")
        let placed = try await okx.placeLimitOrder(instId: "BTC-USDT", side: .buy, price: low, size: size, clOrdId: "vaktE1")
        #expect(placed.clOrdId == "vaktE1")
        let resting = try await okx.order(instId: "BTC-USDT", clOrdId: "vaktE1")
        #expect(resting.ordId == placed.ordId && resting.state == .live && resting.price == low && resting.filled == .zero)
        await #expect(throws: OKXError.rejected(code: "51016", message: "Duplicated clOrdId")) {
            try await okx.placeLimitOrder(instId: "BTC-USDT", side: .buy, price: low, size: size, clOrdId: "vaktE1")
        }
        let frozen = try #require(try await okx.balances().first { $0.ccy == "USDT" }).frozen
        #expect(frozen == (try Money.notional(of: size, at: low).value))
        try await okx.cancel(instId: "BTC-USDT", clOrdId: "vaktE1")
        #expect(try await okx.order(instId: "BTC-USDT", clOrdId: "vaktE1").state == .canceled)
        do {
            try await okx.cancel(instId: "BTC-USDT", clOrdId: "vaktE1")
            Issue.record("a canceled order canceled again")
        } catch {
            guard case .rejected(let code, _) = error else { throw error }
            #expect(code == "51400")
        }

        // A buy above the market takes the book at once.
        let before = try await okx.balances()
        let high = try Price(last.value.multiplied(by: FixedDecimal(11, scale: 1), scale: 2, rounding: .down))
        let taken = try await okx.placeLimitOrder(instId: "BTC-USDT", side: .buy, price: high, size: size, clOrdId: "vaktE2")
        let filled = try await okx.order(instId: "BTC-USDT", clOrdId: "vaktE2")
        #expect(filled.state == .filled && filled.filled == size && filled.feeCcy == "BTC" && filled.fee < .zero, "\(filled)")
        let fills = try await okx.fills(instId: "BTC-USDT", ordId: taken.ordId)
        #expect(!fills.isEmpty && fills.allSatisfy { $0.ordId == taken.ordId && $0.clOrdId == "vaktE2" && !$0.isMaker })
        var bought = FixedDecimal.zero
        var fee = FixedDecimal.zero
        var spent = FixedDecimal.zero
        for fill in fills {
            bought = try bought + fill.quantity.value
            fee = try fee + fill.fee
            spent = try spent + Money.notional(of: fill.quantity, at: fill.price).value
        }
        #expect(bought == size.value && fee == filled.fee)
        let after = try await okx.balances()
        func total(_ balances: [OKXBalance], _ ccy: String) throws -> FixedDecimal {
            let balance = balances.first { $0.ccy == ccy }
            return try (balance?.available ?? .zero) + (balance?.frozen ?? .zero)
        }
        #expect(try total(after, "BTC") == (try total(before, "BTC") + bought + fee))
        #expect(try total(after, "USDT") == (try total(before, "USDT") - spent))

        // OKX's codes for what it refuses.
        await #expect(throws: OKXError.rejected(code: "51603", message: "Order does not exist")) {
            try await okx.order(instId: "BTC-USDT", clOrdId: "neverPlaced")
        }
        await #expect(throws: OKXError.rejected(code: "50105", message: "OK-ACCESS-PASSPHRASE incorrect.")) {
            try await Self.client(simulator, passphrase: "wrong").balances()
        }
        let unsigned = OKXClient(settings: .init(baseURL: simulator.url("")), http: HTTPClient.shared, logger: Logger(label: "test"))
        await #expect(throws: OKXError.self) { try await unsigned.balances() }
    }
}
