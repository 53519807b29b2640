import EventBus
import Money
import Testing

@testable import OKXAdapter

@Suite struct OKXRepliesTests {
    func parse(_ text: String) throws -> JSONValue { try JSONValue(parsing: Array(text.utf8)) }

    @Test func tradesAreReadExactlyNewestFirstAsOKXSendsThem() throws {
        let reply = try parse(
            #"""
            {"code":"0","msg":"","data":[
              {"instId":"BTC-USDT","side":"sell","sz":"0.00001","px":"29963.2","tradeId":"242720720","ts":"1654161646974","count":"1"},
              {"instId":"BTC-USDT","side":"buy","sz":"0.5","px":"29963.1","tradeId":"242720719","ts":"1654161646970"}]}
            """#)
        let trades = try OKXReplies.trades(reply)
        #expect(
            trades == [
                OKXTrade(
                    instId: "BTC-USDT", tradeId: 242_720_720, price: try Price(parsing: "29963.2"),
                    quantity: try Quantity(parsing: "0.00001"),
                    side: "sell", time: 1_654_161_646_974),
                OKXTrade(
                    instId: "BTC-USDT", tradeId: 242_720_719, price: try Price(parsing: "29963.1"), quantity: try Quantity(parsing: "0.5"),
                    side: "buy", time: 1_654_161_646_970),
            ])
    }

    @Test func anErrorCodeIsOKXsAnswerWithItsMessage() throws {
        let reply = try parse(#"{"code":"51001","msg":"Instrument ID does not exist.","data":[]}"#)
        #expect(throws: OKXError.rejected(code: "51001", message: "Instrument ID does not exist.")) { try OKXReplies.trades(reply) }
    }

    @Test(arguments: [
        (#"[1,2]"#, "expected a JSON object"),
        (#"{"code":0,"msg":"","data":[]}"#, "code: expected a string"),
        (#"{"code":"0","msg":""}"#, "data: expected a list"),
        (#"{"code":"0","msg":"","data":[{"instId":"BTC-USDT","side":"sell","sz":"1","px":29963.2,"tradeId":"1","ts":"1"}]}"#, "px"),
        (#"{"code":"0","msg":"","data":[{"instId":"BTC-USDT","side":"sell","sz":"1","px":"1","tradeId":"-4","ts":"1"}]}"#, "tradeId"),
        (#"{"code":"0","msg":"","data":[{"instId":"BTC-USDT","side":"hold","sz":"1","px":"1","tradeId":"4","ts":"1"}]}"#, "side"),
        (#"{"code":"0","msg":"","data":[{"instId":"BTC-USDT","side":"buy","px":"1","tradeId":"4","ts":"1"}]}"#, "sz: missing"),
    ])
    func aMalformedReplyNamesWhatIsWrong(text: String, named: String) throws {
        do {
            _ = try OKXReplies.trades(try parse(text))
            Issue.record("accepted \(text)")
        } catch let error as OKXError {
            guard case .malformedReply(let endpoint, let problem) = error else {
                Issue.record("\(error)")
                return
            }
            #expect(endpoint == "market/trades")
            #expect(problem.contains(named), "\(problem)")
        }
    }

    @Test func instrumentsMapBinanceSymbolsToLiveInstrumentIds() throws {
        let reply = try parse(
            #"""
            {"code":"0","msg":"","data":[
              {"instType":"SPOT","instId":"BTC-USDT","baseCcy":"BTC","quoteCcy":"USDT","state":"live","tickSz":"0.1"},
              {"instType":"SPOT","instId":"ETH-USDT","baseCcy":"ETH","quoteCcy":"USDT","state":"suspend"},
              {"instType":"SPOT","instId":"ETH-BTC","baseCcy":"ETH","quoteCcy":"BTC","state":"live"}]}
            """#)
        let ids = OKXInstrument.ids(for: ["BTCUSDT", "ETHUSDT", "ETHBTC", "SOLUSDT"], in: try OKXReplies.instruments(reply))
        #expect(ids == ["BTCUSDT": "BTC-USDT", "ETHBTC": "ETH-BTC"])
    }
}

/// The account's replies: an order, its fills, the balances, a refused placement.
@Suite struct OKXAccountRepliesTests {
    func parse(_ text: String) throws -> JSONValue { try JSONValue(parsing: Array(text.utf8)) }

    @Test func anOrderItsFillsAndTheBalancesAreReadExactly() throws {
        let order = try OKXReplies.order(
            try parse(
                #"""
                {"code":"0","msg":"","data":[{"instType":"SPOT","instId":"BTC-USDT","ordId":"680800019749904384","clOrdId":"vakt1",
                 "px":"29000.5","sz":"0.002","ordType":"limit","side":"buy","state":"partially_filled","accFillSz":"0.001",
                 "avgPx":"29000.5","fee":"-0.000001","feeCcy":"BTC","uTime":"1708587373362","cTime":"1708587373361"}]}
                """#))
        #expect(
            order
                == OKXOrder(
                    instId: "BTC-USDT", ordId: 680_800_019_749_904_384, clOrdId: "vakt1", side: .buy, state: .partiallyFilled,
                    price: try Price(parsing: "29000.5"), size: try FixedDecimal(parsing: "0.002"), filled: try Quantity(parsing: "0.001"),
                    averagePrice: try Price(parsing: "29000.5"), fee: try FixedDecimal(parsing: "-0.000001"), feeCcy: "BTC",
                    updated: 1_708_587_373_362))
        let unfilled = try OKXReplies.order(
            try parse(
                #"""
                {"code":"0","msg":"","data":[{"instId":"BTC-USDT","ordId":"1","clOrdId":"","px":"","sz":"100","side":"buy",
                 "state":"live","accFillSz":"0","avgPx":"","fee":"","feeCcy":"BTC","uTime":"1"}]}
                """#))
        #expect(unfilled.price == nil && unfilled.averagePrice == nil && unfilled.fee == .zero && unfilled.clOrdId == "")
        let fills = try OKXReplies.fills(
            try parse(
                #"""
                {"code":"0","msg":"","data":[{"instType":"SPOT","instId":"BTC-USDT","tradeId":"123","ordId":"1","clOrdId":"vakt1",
                 "billId":"9","fillPx":"29000.5","fillSz":"0.001","side":"buy","execType":"M","fee":"-0.000001","feeCcy":"BTC",
                 "ts":"1708587373362"}]}
                """#))
        #expect(
            fills == [
                OKXFill(
                    instId: "BTC-USDT", tradeId: 123, ordId: 1, clOrdId: "vakt1", price: try Price(parsing: "29000.5"),
                    quantity: try Quantity(parsing: "0.001"), side: .buy, fee: try FixedDecimal(parsing: "-0.000001"), feeCcy: "BTC",
                    isMaker: true, time: 1_708_587_373_362)
            ])
        let balances = try OKXReplies.balances(
            try parse(
                #"""
                {"code":"0","msg":"","data":[{"totalEq":"1","uTime":"1","details":[
                 {"ccy":"USDT","availBal":"990.5","frozenBal":"9.5","eq":"1000"},{"ccy":"BTC","availBal":"0","frozenBal":"0"}]}]}
                """#))
        #expect(
            balances == [
                OKXBalance(ccy: "USDT", available: try FixedDecimal(parsing: "990.5"), frozen: try FixedDecimal(parsing: "9.5")),
                OKXBalance(ccy: "BTC", available: .zero, frozen: .zero),
            ])
    }

    @Test func aRefusedPlacementIsTheOperationsOwnCode() throws {
        let reply = try parse(
            #"""
            {"code":"1","msg":"All operations failed","data":[{"clOrdId":"vakt1","ordId":"","sCode":"51008",
             "sMsg":"Order failed. Insufficient USDT balance in account.","tag":"","ts":"1"}]}
            """#)
        #expect(throws: OKXError.rejected(code: "51008", message: "Order failed. Insufficient USDT balance in account.")) {
            try OKXReplies.placement(reply)
        }
        let placed = try OKXReplies.placement(
            try parse(#"{"code":"0","msg":"","data":[{"clOrdId":"vakt1","ordId":"42","sCode":"0","sMsg":"Order placed"}]}"#))
        #expect(placed == OKXPlacement(ordId: 42, clOrdId: "vakt1"))
    }

    @Test(arguments: [
        (#"{"code":"0","msg":"","data":[]}"#, "expected one order, got 0"),
        (
            #"{"code":"0","msg":"","data":[{"instId":"BTC-USDT","ordId":"1","clOrdId":"","px":"","sz":"1","side":"buy","state":"open","accFillSz":"0","avgPx":"","fee":"","feeCcy":"BTC","uTime":"1"}]}"#,
            "state"
        ),
        (
            #"{"code":"0","msg":"","data":[{"instId":"BTC-USDT","ordId":"x","clOrdId":"","px":"","sz":"1","side":"buy","state":"live","accFillSz":"0","avgPx":"","fee":"","feeCcy":"BTC","uTime":"1"}]}"#,
            "ordId"
        ),
        (
            #"{"code":"0","msg":"","data":[{"instId":"BTC-USDT","ordId":"1","clOrdId":"","px":"1e3","sz":"1","side":"buy","state":"live","accFillSz":"0","avgPx":"","fee":"","feeCcy":"BTC","uTime":"1"}]}"#,
            "px"
        ),
    ])
    func aMalformedOrderNamesWhatIsWrong(text: String, named: String) throws {
        do {
            _ = try OKXReplies.order(try parse(text))
            Issue.record("accepted \(text)")
        } catch let error as OKXError {
            guard case .malformedReply(let endpoint, let problem) = error else {
                Issue.record("\(error)")
                return
            }
            #expect(endpoint == "trade/order")
            #expect(problem.contains(named), "\(problem)")
        }
    }

    @Test func aMalformedFillOrBalanceNamesTheField() throws {
        let fill =
            #"{"code":"0","msg":"","data":[{"instId":"BTC-USDT","tradeId":"1","ordId":"1","clOrdId":"","fillPx":"1","fillSz":"1","side":"buy","execType":"X","fee":"0","feeCcy":"BTC","ts":"1"}]}"#
        #expect(throws: OKXError.malformedReply(endpoint: "trade/fills", problem: "data[0]: execType: expected T or M, got \"X\"")) {
            try OKXReplies.fills(try parse(fill))
        }
        let balance = #"{"code":"0","msg":"","data":[{"details":[{"ccy":"USDT","availBal":1,"frozenBal":"0"}]}]}"#
        do {
            _ = try OKXReplies.balances(try parse(balance))
            Issue.record("accepted \(balance)")
        } catch let error as OKXError {
            #expect("\(error)".contains("details[0].availBal"), "\(error)")
        }
    }
}

@Suite struct OKXRequestWindowsTests {
    @Test func eachEndpointGetsItsLimitPerTwoSecondWindow() {
        var windows = OKXRequestWindows()
        for _ in 0..<10 { #expect(windows.reserve(.time, at: 4_100) == nil) }
        #expect(windows.reserve(.time, at: 5_999) == 6_000, "the 11th waits for the next window")
        #expect(windows.reserve(.trades, at: 5_999) == nil, "another endpoint counts on its own")
        #expect(windows.reserve(.time, at: 6_000) == nil)
    }

    @Test func aRefusalKeepsOffTheEndpointUntilTheWindowAfterNext() {
        var windows = OKXRequestWindows()
        windows.refused(.trades, at: 4_500)
        #expect(windows.reserve(.trades, at: 5_000) == 8_000)
        #expect(windows.reserve(.trades, at: 7_999) == 8_000)
        #expect(windows.reserve(.trades, at: 8_000) == nil)
        #expect(windows.reserve(.instruments, at: 5_000) == nil)
    }
}
