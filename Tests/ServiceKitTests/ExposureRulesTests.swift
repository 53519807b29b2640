import EmergencyStop
import Foundation
import Money
import PolicyStore
import ServiceKit
import Testing

/// The trading guards' one question, decided from the ESS as its fail-safe reader reports it
/// and the policy's limits (RiskPolicy.defaults: BTCUSDT and ETHUSDT, order 1000, symbol 5000,
/// total 10000).
@Suite struct ExposureRulesTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    let policy = RiskPolicy.defaults

    func status(_ state: ESSState, trigger: ESSTrigger = .manual, reason: String = "drill") -> ESSStatus {
        ESSStatus(state: state, since: now, reason: reason, source: "test", trigger: trigger, cooldownEndsAt: nil, confirmedAt: now)
    }

    func money(_ text: String) -> Money { try! Money(parsing: text) }

    func question(
        _ notional: String, symbol: String = "BTCUSDT", reduces: Bool = false, symbolAfter: String? = nil, totalAfter: String? = nil
    ) -> ExposureQuestion {
        ExposureQuestion(
            symbol: symbol, notional: money(notional), reducesExposure: reduces, symbolExposureAfter: symbolAfter.map(money),
            totalExposureAfter: totalAfter.map(money))
    }

    @Test func anArmedESSAndOrdersWithinEveryLimitAreAllowed() {
        #expect(
            ExposureRules.decide(question("1000", symbolAfter: "5000", totalAfter: "10000"), ess: status(.armed), policy: policy)
                == .allowed)
        #expect(ExposureRules.decide(question("999.99999999"), ess: status(.armed), policy: policy) == .allowed)
    }

    @Test func theESSDecidesFirstAndAnUnknownStateReadsAsTripped() {
        #expect(
            ExposureRules.decide(question("10"), ess: status(.tripped, reason: "drawdown 10%"), policy: policy)
                == .refused(rule: "ess", reason: "the ESS is tripped: drawdown 10%"))
        #expect(
            ExposureRules.decide(question("10"), ess: status(.cooldown), policy: policy)
                == .refused(rule: "ess", reason: "the ESS is cooldown: drill"))
        let unknown = status(.tripped, trigger: .stateUnknown, reason: "ESS state unknown: no status from the risk service yet")
        #expect(ExposureRules.decide(question("10", reduces: true), ess: unknown, policy: policy) != .allowed, "not even reducing")
        #expect(
            ExposureRules.decide(question("10"), ess: status(.reducing), policy: policy)
                == .refused(rule: "ess", reason: "the ESS allows only orders that reduce exposure: drill"))
        #expect(ExposureRules.decide(question("10", reduces: true), ess: status(.reducing), policy: policy) == .allowed)
        #expect(
            ExposureRules.decide(question("1000000", reduces: true), ess: status(.armed), policy: nil) == .allowed,
            "reducing needs no limit")
    }

    @Test func eachPolicyLimitRefusesWithItsRuleAndAmounts() {
        let armed = status(.armed)
        #expect(
            ExposureRules.decide(question("10"), ess: armed, policy: nil) == .refused(rule: "policy", reason: "no risk policy loaded yet"))
        #expect(
            ExposureRules.decide(question("10", symbol: "DOGEUSDT"), ess: armed, policy: policy)
                == .refused(rule: "symbol", reason: "DOGEUSDT is not among the policy's allowed symbols"))
        #expect(
            ExposureRules.decide(question("1000.00000001"), ess: armed, policy: policy)
                == .refused(rule: "order_notional", reason: "order notional 1000.00000001 would exceed the policy's limit of 1000"))
        #expect(
            ExposureRules.decide(question("10", symbolAfter: "5000.01"), ess: armed, policy: policy)
                == .refused(rule: "symbol_exposure", reason: "BTCUSDT exposure 5000.01 would exceed the policy's limit of 5000"))
        var perSymbol = policy
        perSymbol.symbolExposure["ETHUSDT"] = 50
        #expect(
            ExposureRules.decide(question("10", symbol: "ETHUSDT", symbolAfter: "60"), ess: armed, policy: perSymbol)
                == .refused(rule: "symbol_exposure", reason: "ETHUSDT exposure 60 would exceed the policy's limit of 50"))
        #expect(
            ExposureRules.decide(question("10", totalAfter: "10000.5"), ess: armed, policy: policy)
                == .refused(rule: "total_exposure", reason: "total exposure 10000.5 would exceed the policy's limit of 10000"))
    }
}
