import Binance
import EmergencyStop
import EventBus
import Execution
import Foundation
import Money
import PolicyStore
import Testing
import VaktConfig

/// The pre-trade checks, one rule at a time, each refusal naming its rule; and the order a
/// signal becomes when every check passes, to the last unit.
@Suite struct EntryPlannerTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let filters = SymbolFilters(
        price: .init(minPrice: Price(1, scale: 2), maxPrice: Price(1_000_000), tickSize: Price(1, scale: 2)),
        lotSize: .init(minQty: Quantity(1, scale: 5), maxQty: Quantity(9_000), stepSize: Quantity(1, scale: 5)),
        notional: .init(minNotional: Money(5), applyMinToMarket: true, maxNotional: .zero, applyMaxToMarket: false))

    static func context(
        _ state: ESSState = .armed, policy: RiskPolicy? = .defaults, btc: String = "0", usdt: String = "10000",
        mark: String? = "40000", recent: Int = 0
    ) -> PlanningContext {
        let balances = ["BTC": try! FixedDecimal(parsing: btc), "USDT": try! FixedDecimal(parsing: usdt)]
        return PlanningContext(
            ess: ESSStatus(
                state: state, since: now, reason: "test", source: "test", trigger: .manual, cooldownEndsAt: nil, confirmedAt: now),
            policy: policy, settings: ExecutionSettings(), filters: filters, assets: SymbolAssets(base: "BTC", quote: "USDT"),
            marks: mark.map { ["BTCUSDT": try! Price(parsing: $0)] } ?? [:], free: balances, held: balances, ordersInLastMinute: recent,
            openOrders: 0)
    }

    static func signal(_ side: OrderSide = .buy, price: String = "40000", size: String? = "0.5", symbol: String = "BTCUSDT")
        -> SignalGenerated
    {
        SignalGenerated(
            symbol: symbol, side: side, confidence: FixedDecimal(7, scale: 1), model: "m", referencePrice: try! Price(parsing: price),
            reason: "test", size: size.map { try! FixedDecimal(parsing: $0) })
    }

    func refusal(_ signal: SignalGenerated, _ context: PlanningContext) -> String? {
        if case .failure(let refusal) = EntryPlanner.plan(signal, context) { return refusal.rule }
        return nil
    }

    @Test func aBuyIsALimitAtTheSlippageBoundSizedFromThePolicy() throws {
        let plan = try EntryPlanner.plan(Self.signal(), Self.context()).get()
        // 0.5 × 1000 USDT at 40000 × 1.002 = 40080: 0.01247 BTC (down to the step).
        #expect(plan.price == Price(40_080) && plan.quantity == Quantity(1_247, scale: 5) && plan.side == .buy)
        #expect(!plan.reducesExposure)
        // A sell sells what is held (at most the largest order), at 40000 × 0.998.
        let sell = try EntryPlanner.plan(Self.signal(.sell), Self.context(btc: "0.0123")).get()
        #expect(sell.price == Price(39_920) && sell.quantity == Quantity(123, scale: 4) && sell.reducesExposure)
    }

    @Test func eachRuleRefusesByName() {
        var unlisted = Self.context()
        unlisted.filters = nil
        #expect(refusal(Self.signal(symbol: "XRPUSDT"), unlisted) == "symbol")
        #expect(refusal(Self.signal(), Self.context(mark: nil)) == "market_price")
        #expect(refusal(Self.signal(price: "43000"), Self.context()) == "price_collar")  // 43086 is 7.7% from 40000
        #expect(refusal(Self.signal(.sell), Self.context()) == "position")
        #expect(refusal(Self.signal(), Self.context(.tripped)) == "ess")
        #expect(refusal(Self.signal(), Self.context(.reducing)) == "ess")
        #expect(refusal(Self.signal(), Self.context(policy: nil)) == "policy")
        #expect(refusal(Self.signal(size: "0.00001"), Self.context()) == "size")
        #expect(refusal(Self.signal(size: "0.001"), Self.context()) == "filter")  // 0.00002 BTC, 0.80 USDT: below NOTIONAL's 5
        #expect(refusal(Self.signal(), Self.context(recent: 60)) == "orders_per_minute")
        #expect(refusal(Self.signal(), Self.context(usdt: "100")) == "balance")
        var tight = RiskPolicy.defaults
        tight.maxSymbolExposure = 600
        #expect(refusal(Self.signal(), Self.context(policy: tight, btc: "0.005")) == "symbol_exposure")  // 200 + 500 > 600
        tight.maxTotalExposure = 100
        tight.maxSymbolExposure = 5_000
        #expect(refusal(Self.signal(), Self.context(policy: tight)) == "total_exposure")
        // Reducing lets a sell of what is held through.
        #expect(refusal(Self.signal(.sell), Self.context(.reducing, btc: "0.01")) == nil)
    }

    @Test func aPausedSymbolRefusesEverySignalOnItAndNoOther() {
        var context = Self.context(btc: "0.01")
        context.paused["BTCUSDT"] = SymbolPause(symbol: "BTCUSDT", reason: "news", requester: "ops", since: Self.now)
        #expect(refusal(Self.signal(), context) == "paused")
        #expect(refusal(Self.signal(.sell), context) == "paused")
        if case .failure(let refusal) = EntryPlanner.plan(Self.signal(), context) {
            #expect(refusal.reason.contains("news") && refusal.reason.contains("ops"), "\(refusal.reason)")
        }
        context.paused = ["ETHUSDT": SymbolPause(symbol: "ETHUSDT", reason: "news", requester: "ops", since: Self.now)]
        #expect(refusal(Self.signal(), context) == nil)
    }

    func closing(_ context: PlanningContext) -> Result<OrderPlan, Refusal> {
        ClosePlanner.plan(symbol: "BTCUSDT", context)
    }

    @Test func aCloseSellsWhatIsFreeAtTheSlippageBoundThroughLimitsAndPausesButNotATrippedESS() throws {
        // 0.012345 BTC free: 0.01234 on the step, at 40000 × 0.998.
        let plan = try closing(Self.context(btc: "0.012345")).get()
        #expect(plan.side == .sell && plan.quantity == Quantity(1_234, scale: 5) && plan.price == Price(39_920) && plan.reducesExposure)
        #expect(plan.referencePrice == Price(40_000))
        // What open sells lock is already leaving: only the free part is sold.
        var locked = Self.context(btc: "0.02")
        locked.free["BTC"] = FixedDecimal(5, scale: 3)
        #expect(try closing(locked).get().quantity == Quantity(5, scale: 3))
        // Limits, the policy's absence and a pause do not hold a close back; reduce-only lets it through.
        var tight = RiskPolicy.defaults
        tight.maxSymbolExposure = 1
        tight.maxOrderNotional = 1
        #expect((try? closing(Self.context(policy: tight, btc: "0.01")).get()) != nil)
        #expect((try? closing(Self.context(policy: nil, btc: "0.01")).get()) != nil)
        var paused = Self.context(btc: "0.01")
        paused.paused["BTCUSDT"] = SymbolPause(symbol: "BTCUSDT", reason: "news", requester: "ops", since: Self.now)
        #expect((try? closing(paused).get()) != nil)
        #expect((try? closing(Self.context(.reducing, btc: "0.01")).get()) != nil)

        func rule(_ context: PlanningContext) -> String? {
            if case .failure(let refusal) = closing(context) { return refusal.rule }
            return nil
        }
        #expect(rule(Self.context(.tripped, btc: "0.01")) == "ess")
        #expect(rule(Self.context(.cooldown, btc: "0.01")) == "ess")
        #expect(rule(Self.context(btc: "0")) == "position")
        #expect(rule(Self.context(btc: "0.000009")) == "position")  // below the lot step
        #expect(rule(Self.context(btc: "0.0001")) == "filter")  // 3.99 USDT: below NOTIONAL's 5
        #expect(rule(Self.context(btc: "0.01", mark: nil)) == "market_price")
        var unlisted = Self.context(btc: "0.01")
        unlisted.filters = nil
        #expect(rule(unlisted) == "symbol")
    }

    @Test func closeIdsAreDerivedFromTheActionAndApartFromEntries() {
        let id = ClientOrderIDs.close(actionId: "test-close-0001")
        #expect(id == ClientOrderIDs.close(actionId: "test-close-0001"))
        #expect(id != ClientOrderIDs.close(actionId: "test-close-0002"))
        #expect(id.hasPrefix("vc") && id.count == 24)
        #expect(ClientOrderIDs.entry(signalId: "test-close-0001") == "vk" + id.dropFirst(2))
        #expect(ClientOrderIDs.reprice(of: id, number: 1) == id + "-r1")
    }
}
