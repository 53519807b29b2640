import EventBus
import Money
import Testing

@testable import Binance

@Suite struct SymbolFiltersTests {
    /// BTCUSDT's filters as Binance lists them (numbers as strings, zero disables a rule).
    static let listed = #"""
        [{"filterType":"PRICE_FILTER","minPrice":"0.01000000","maxPrice":"1000000.00000000","tickSize":"0.01000000"},
         {"filterType":"LOT_SIZE","minQty":"0.00001000","maxQty":"9000.00000000","stepSize":"0.00001000"},
         {"filterType":"ICEBERG_PARTS","limit":10},
         {"filterType":"MARKET_LOT_SIZE","minQty":"0.00000000","maxQty":"83.27642258","stepSize":"0.00000000"},
         {"filterType":"NOTIONAL","minNotional":"5.00000000","applyMinToMarket":true,"maxNotional":"9000000.00000000",
          "applyMaxToMarket":false,"avgPriceMins":5},
         {"filterType":"MAX_NUM_ORDERS","maxNumOrders":200}]
        """#

    static func filters() throws -> SymbolFilters { try SymbolFilters(json: JSONValue(parsing: Array(listed.utf8))) }

    static func limit(_ side: OrderSide, _ quantity: String, at price: String) throws -> OrderTerms {
        OrderTerms(symbol: "BTCUSDT", side: side, type: .limit, quantity: try Quantity(parsing: quantity), price: try Price(parsing: price))
    }

    @Test func readsBinancesListSkippingUnknownFiltersAndWritesItBack() throws {
        let filters = try Self.filters()
        #expect(filters.price?.tickSize == Price(1, scale: 2))
        #expect(filters.lotSize?.stepSize == Quantity(1, scale: 5))
        #expect(filters.marketLotSize?.maxQty == Quantity(8_327_642_258, scale: 8))
        #expect(filters.notional?.minNotional == Money(5))
        #expect(filters.maxNumOrders == 200)
        #expect(try SymbolFilters(json: filters.json) == filters)
    }

    @Test func aMalformedFilterIsNamedWithItsField() {
        let bad = JSONValue.array([
            .object(["filterType": .string("PRICE_FILTER"), "minPrice": .number(0.01), "maxPrice": .string("1"), "tickSize": .string("x")])
        ])
        #expect(
            throws: PayloadError(problems: [
                "filters[0].minPrice: expected a decimal string such as \"1234.50\", got a number",
                "filters[0].tickSize: \"x\" is not a decimal number: unexpected character \"x\"",
            ])
        ) { try SymbolFilters(json: bad) }
    }

    @Test(arguments: [
        ("0.001", "64000.005", "PRICE_FILTER", "price 64000.005 is not a multiple of tickSize 0.01"),
        ("0.001", "0.001", "PRICE_FILTER", "price 0.001 is below minPrice 0.01"),
        ("0.000015", "64000", "LOT_SIZE", "quantity 0.000015 is not a multiple of stepSize 0.00001"),
        ("9000.1", "64000", "LOT_SIZE", "quantity 9000.1 is above maxQty 9000"),
        ("0.00007", "64000", "NOTIONAL", "notional 4.48 is below minNotional 5"),
    ])
    func binanceRefusesWithTheFiltersName(quantity: String, price: String, filter: String, detail: String) throws {
        let failure = try Self.filters().failure(of: Self.limit(.buy, quantity, at: price), referencePrice: nil, openOrders: 0)
        #expect(failure == FilterFailure(filter: filter, detail: detail))
        #expect(failure?.message == "Filter failure: \(filter)")
    }

    @Test func openOrdersAndMarketRulesAreChecked() throws {
        let filters = try Self.filters()
        #expect(filters.failure(of: try Self.limit(.buy, "0.001", at: "64000"), referencePrice: nil, openOrders: 199) == nil)
        #expect(
            filters.failure(of: try Self.limit(.buy, "0.001", at: "64000"), referencePrice: nil, openOrders: 200)?.filter
                == "MAX_NUM_ORDERS")
        // MARKET: MARKET_LOT_SIZE's maximum; the notional at the reference price, since applyMinToMarket.
        let market = OrderTerms(symbol: "BTCUSDT", side: .sell, type: .market, quantity: try Quantity(parsing: "90"))
        #expect(filters.failure(of: market, referencePrice: Price(64_000), openOrders: 0)?.filter == "MARKET_LOT_SIZE")
        let small = OrderTerms(symbol: "BTCUSDT", side: .sell, type: .market, quantity: try Quantity(parsing: "0.00001"))
        #expect(filters.failure(of: small, referencePrice: Price(64_000), openOrders: 0)?.filter == "NOTIONAL")
        #expect(filters.failure(of: small, referencePrice: nil, openOrders: 0) == nil, "no reference price: not judged")
    }

    @Test func anAdapterRoundsOntoTheGridNeverToAWorsePriceAndRefusesWhatStillFails() throws {
        let filters = try Self.filters()
        let buy = try filters.conform(Self.limit(.buy, "0.0012345", at: "64000.019"), referencePrice: nil, openOrders: 0).get()
        #expect(buy.price == Price(6_400_001, scale: 2))
        #expect(buy.quantity == Quantity(123, scale: 5))
        let sell = try filters.conform(Self.limit(.sell, "0.0012345", at: "64000.011"), referencePrice: nil, openOrders: 0).get()
        #expect(sell.price == Price(6_400_002, scale: 2))
        let tooSmall = filters.conform(try Self.limit(.buy, "0.000019", at: "64000"), referencePrice: nil, openOrders: 0)
        #expect(tooSmall == .failure(FilterFailure(filter: "NOTIONAL", detail: "notional 0.64 is below minNotional 5")))
    }

    @Test func signaturesAreBinancesHMACSHA256Hex() {
        // The example of Binance's REST API documentation.
        let secret = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
        let payload = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
        let signature = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
        #expect(RequestSignature.sign(payload, secret: secret) == signature)
        #expect(RequestSignature.isValid(signature.uppercased(), for: payload, secret: secret))
        #expect(!RequestSignature.isValid(signature, for: payload + "0", secret: secret))
        #expect(!RequestSignature.isValid(String(signature.dropLast()), for: payload, secret: secret))
    }
}
