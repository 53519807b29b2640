import Binance
import EventBus
import Money
import Testing

@testable import BinanceAdapter

/// Binance's stream and reply payloads read into exact types, a malformed one refused naming
/// the field, and each order update admitted once.
@Suite struct StreamEventTests {
    /// The executionReport example of Binance's user-data-stream.md (a NEW limit order), as
    /// the paper exchange also writes it.
    static let report = #"""
        {"e":"executionReport","E":1499405658658,"s":"ETHBTC","c":"mUvoqJxFIILMdfAW5iGSOW","S":"BUY","o":"LIMIT","f":"GTC",
         "q":"1.00000000","p":"0.10264410","P":"0.00000000","F":"0.00000000","g":-1,"C":"","x":"NEW","X":"NEW","r":"NONE",
         "i":4293153,"l":"0.00000000","z":"0.00000000","L":"0.00000000","n":"0","N":null,"T":1499405658657,"t":-1,"v":3,
         "I":8641984,"w":true,"m":false,"M":false,"O":1499405658657,"Z":"0.00000000","Y":"0.00000000","Q":"0.00000000",
         "W":1499405658657,"V":"NONE"}
        """#

    static func json(_ text: String) throws -> JSONValue { try JSONValue(parsing: Array(text.utf8)) }

    @Test func binancesExecutionReportIsReadExactly() throws {
        let update = try OrderUpdate(executionReport: Self.json(Self.report))
        #expect(update.symbol == "ETHBTC" && update.orderId == 4_293_153 && update.clientOrderId == "mUvoqJxFIILMdfAW5iGSOW")
        #expect(update.executionType == "NEW" && update.status == .new && update.side == .buy && update.tradeId == -1)
        #expect(update.commission == .zero && update.commissionAsset == nil)
        // A cancel names the order in C and its own request in c.
        let cancel = Self.report.replacingOccurrences(of: #""C":"""#, with: #""C":"vakt-1""#)
        #expect(try OrderUpdate(executionReport: Self.json(cancel)).clientOrderId == "vakt-1")
    }

    @Test func aMalformedReportOrReplyIsRefusedNamingTheField() throws {
        let badPrice = Self.report.replacingOccurrences(of: #""L":"0.00000000""#, with: #""L":0.5"#)
        let value = try Self.json(badPrice)
        do throws(PayloadError) {
            _ = try OrderUpdate(executionReport: value)
            Issue.record("accepted")
        } catch {
            #expect(error.problems.contains { $0.hasPrefix("L:") }, "\(error.problems)")
        }
        let order =
            #"{"symbol":"BTCUSDT","orderId":1,"clientOrderId":"a","status":"SOMETIMES","side":"BUY","type":"LIMIT","#
            + #""price":"1.0","origQty":"x","executedQty":"0","cummulativeQuoteQty":"0"}"#
        let reply = try Self.json(order)
        do throws(PayloadError) {
            _ = try OrderReport(reply)
            Issue.record("accepted")
        } catch {
            #expect(error.problems.contains { $0.hasPrefix("status:") } && error.problems.contains { $0.hasPrefix("origQty:") }, "\(error)")
        }
    }

    @Test func eachUpdateIsAdmittedOnceAndPollingStartsAfterTheLastTradeSeen() throws {
        var ledger = UpdateLedger()
        let new = try OrderUpdate(executionReport: Self.json(Self.report))
        var trade = new
        trade.executionType = "TRADE"
        trade.tradeId = 77
        var polled = trade
        polled.source = .polling
        #expect(ledger.admit(new) && ledger.admit(trade))
        #expect(!ledger.admit(polled) && !ledger.admit(new))
        #expect(ledger.pollFrom("ETHBTC") == 78 && ledger.pollFrom("BTCUSDT") == nil)
        ledger.startPolling("BTCUSDT", after: 5)
        #expect(ledger.pollFrom("BTCUSDT") == 6)
    }

    @Test func recentKeysForgetTheOldestBeyondCapacity() {
        var keys = RecentKeys(capacity: 3)
        var fresh = ["a", "b", "c", "d"].map { keys.insert($0) }
        #expect(fresh == [true, true, true, true])
        fresh = ["d", "b", "a"].map { keys.insert($0) }
        // "a" was the oldest of four with room for three.
        #expect(fresh == [false, false, true])
        for index in 0..<10_000 { _ = keys.insert("k\(index)") }
        fresh = ["k9999", "k0"].map { keys.insert($0) }
        #expect(fresh == [false, true])
    }
}
