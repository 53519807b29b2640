import EventBus
import Money
import OKXAdapter
import Testing

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
