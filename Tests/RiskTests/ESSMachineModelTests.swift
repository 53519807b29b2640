import EmergencyStop
import Foundation
import PolicyStore
import Testing
import VaktTesting

/// The ESS state machine against a reference model that recomputes every condition from the
/// whole input history at each step, on thousands of random sequences with an exact clock.
@Suite struct ESSMachineModelTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)
    static let symbols = ["BTCUSDT", "ETHUSDT"]
    static let policy = EmergencyStopPolicy(
        maxDrawdown: Decimal(string: "0.10")!, reduceDrawdown: Decimal(string: "0.05")!, maxDailyLoss: 800, maxExecutionErrors: 4,
        errorWindowSeconds: 30, maxFeedAgeSeconds: 20, cooldownSeconds: 60)

    @Test func randomSequencesAgreeWithTheReferenceModelAtEveryStep() async {
        var generator = SplitMix64(seed: 0x5EED_E55)
        var steps = 0
        var edges: [String: Int] = [:]
        var visited: Set<ESSState> = []
        for sequence in 0..<1000 {
            // Seconds of pure computation: give the other tests' tasks their turn on the pool.
            await Task.yield()
            var machine = ESSMachine(policy: Self.policy, symbols: Self.symbols, now: Self.start)
            var model = ReferenceESS(policy: Self.policy, symbols: Self.symbols, start: Self.start)
            var now = Self.start
            var equity = Decimal(10_000)
            for step in 0..<120 {
                // Whole multiples of 5 s, so that inputs land exactly on window, feed-age and
                // cooldown boundaries (every limit is a multiple of 5 s too).
                now += TimeInterval(5 * generator.next(upTo: 3))
                let input = Self.randomInput(&generator, now: now, equity: &equity)
                let before = machine.state
                let outcome = machine.apply(input, at: now)
                let expected = model.step(input, at: now)
                steps += 1
                visited.insert(machine.state)
                let context = "sequence \(sequence) step \(step): \(input) at +\(Int(now.timeIntervalSince(Self.start))) s"
                #expect(machine.state == expected.state, "\(context)")
                switch outcome {
                case .refused:
                    #expect(expected.refused, "\(context): refused, the model accepted")
                    #expect(machine.state == before)
                case .unchanged:
                    #expect(!expected.refused && machine.state == before, "\(context)")
                case .transitioned(let transition):
                    edges["\(transition.from.rawValue)->\(transition.to.rawValue)", default: 0] += 1
                    #expect(!expected.refused, "\(context)")
                    #expect(transition.from == before && transition.to == machine.state && transition.from != transition.to, "\(context)")
                    #expect(transition.at == now && machine.since == now, "\(context)")
                }
                if machine.state != expected.state { return }
            }
        }
        #expect(steps == 120_000)
        #expect(visited == Set(ESSState.allCases), "the sequences must reach every state")
        // Every edge of the machine is exercised, many times over.
        let required = [
            "armed->tripped", "armed->reducing", "reducing->armed", "reducing->tripped", "tripped->cooldown", "tripped->armed",
            "tripped->reducing", "cooldown->tripped", "cooldown->armed", "cooldown->reducing",
        ]
        for edge in required { #expect(edges[edge, default: 0] >= 20, "\(edge): \(edges)") }
    }

    /// The seed's sequence: trip on drawdown, fast recovery into cooldown, a re-trip that
    /// restarts the cooldown, arming only after a whole clear cooldown; then a manual trip and
    /// reset, and a reset refused while the drawdown is still past its limit.
    @Test func seedSequenceTripCooldownRetripResetUnderFastDrawdownRecovery() {
        var machine = ESSMachine(policy: Self.policy, symbols: [], now: Self.start)
        var now = Self.start
        func apply(_ input: ESSInput, after seconds: TimeInterval) -> ESSOutcome {
            now += seconds
            return machine.apply(input, at: now)
        }
        #expect(apply(.portfolio(equity: 10_000, dailyPnl: 0), after: 1) == .unchanged)
        guard case .transitioned(let trip) = apply(.portfolio(equity: 8_950, dailyPnl: -300), after: 1) else {
            Issue.record("no trip at 10.5% drawdown")
            return
        }
        #expect(trip.to == .tripped && trip.trigger == .drawdown)
        #expect(trip.reason == "drawdown 10.5% reached the 10% limit")
        #expect(machine.state == .tripped)
        _ = apply(.portfolio(equity: 10_000, dailyPnl: 0), after: 1)
        #expect(machine.state == .cooldown)
        #expect(machine.cooldownEndsAt == now + 60)
        _ = apply(.evaluate, after: 30)
        #expect(machine.state == .cooldown)
        _ = apply(.portfolio(equity: 8_900, dailyPnl: -400), after: 1)
        #expect(machine.state == .tripped, "a new breach during cooldown trips again")
        _ = apply(.portfolio(equity: 10_100, dailyPnl: 100), after: 1)
        #expect(machine.state == .cooldown)
        let cooldownStarted = now
        _ = apply(.evaluate, after: 59)
        #expect(machine.state == .cooldown, "the cooldown restarted at the second recovery")
        #expect(
            machine.apply(.evaluate, at: cooldownStarted + 60)
                == .transitioned(
                    ESSTransition(
                        from: .cooldown, to: .armed, trigger: .cooldownElapsed, reason: "conditions stayed clear for the 60 s cooldown",
                        source: "risk", at: cooldownStarted + 60)))
        now = cooldownStarted + 60
        _ = apply(.trip(.manual, reason: "exchange maintenance", source: "cli:ops"), after: 1)
        #expect(machine.state == .tripped && machine.reason == "exchange maintenance" && machine.source == "cli:ops")
        _ = apply(.evaluate, after: 600)
        #expect(machine.state == .tripped, "a manual trip stays until reset")
        _ = apply(.reset(reason: "maintenance over", source: "cli:ops"), after: 1)
        #expect(machine.state == .armed && machine.trigger == .reset)
        _ = apply(.portfolio(equity: 9_000, dailyPnl: -100), after: 1)
        #expect(machine.state == .tripped)
        guard case .refused(let why) = apply(.reset(reason: "try", source: "cli:ops"), after: 1) else {
            Issue.record("reset accepted during a drawdown breach")
            return
        }
        #expect(why.contains("drawdown 10.89% reached the 10% limit"))
        #expect(machine.state == .tripped)
    }

    @Test func manualResetPolicyHoldsCooldownUntilAnOperatorResets() {
        var policy = Self.policy
        policy.manualResetRequired = true
        var machine = ESSMachine(policy: policy, symbols: [], now: Self.start)
        _ = machine.apply(.portfolio(equity: 10_000, dailyPnl: 0), at: Self.start)
        _ = machine.apply(.portfolio(equity: 8_000, dailyPnl: 0), at: Self.start + 1)
        _ = machine.apply(.portfolio(equity: 10_000, dailyPnl: 0), at: Self.start + 2)
        #expect(machine.state == .cooldown && machine.cooldownEndsAt == nil)
        _ = machine.apply(.evaluate, at: Self.start + 3600)
        #expect(machine.state == .cooldown)
        _ = machine.apply(.reset(reason: "checked", source: "ops"), at: Self.start + 3601)
        #expect(machine.state == .armed)
    }

    @Test func staleFeedTripsAndAFreshTickStartsTheCooldown() {
        var machine = ESSMachine(policy: Self.policy, symbols: ["BTCUSDT"], now: Self.start)
        _ = machine.apply(.marketTick(symbol: "BTCUSDT", occurredAt: Self.start + 5), at: Self.start + 5)
        #expect(machine.apply(.evaluate, at: Self.start + 25) == .unchanged)
        guard case .transitioned(let trip) = machine.apply(.evaluate, at: Self.start + 26) else {
            Issue.record("no trip on a 21 s old feed")
            return
        }
        #expect(trip.trigger == .feedStale && trip.reason == "market data for BTCUSDT is 21 s old (limit 20 s)")
        // A tick stamped in the future counts as seen now.
        _ = machine.apply(.marketTick(symbol: "BTCUSDT", occurredAt: Self.start + 500), at: Self.start + 27)
        #expect(machine.state == .cooldown)
        _ = machine.apply(.evaluate, at: Self.start + 48)
        #expect(machine.state == .tripped)
    }

    static func randomInput(_ generator: inout SplitMix64, now: Date, equity: inout Decimal) -> ESSInput {
        switch generator.next(upTo: 100) {
        case 0..<30:
            // A random walk with sharp drops and fast recoveries, in whole cents.
            let move = Decimal(Int(generator.next(upTo: 240_001)) - 120_000) / 100
            equity = max(1000, equity + move)
            return .portfolio(equity: equity, dailyPnl: Decimal(Int(generator.next(upTo: 200_001)) - 120_000) / 100)
        case 30..<40:
            return .executionError("order rejected")
        case 40..<70:
            let symbol = symbols[Int(generator.next(upTo: 2))]
            let skew = TimeInterval(5 * Int(generator.next(upTo: 3))) - 5
            return .marketTick(symbol: symbol, occurredAt: now + skew)
        case 70..<73:
            return .trip(generator.next(upTo: 2) == 0 ? .manual : .supervisor, reason: "requested", source: "test")
        case 73..<76:
            return .reduce(reason: "de-risk", source: "test")
        case 76..<88:
            return .reset(reason: "operator", source: "test")
        case 88..<90:
            var policy = Self.policy
            policy.manualResetRequired = generator.next(upTo: 2) == 0
            policy.cooldownSeconds = 15 * (2 + Int(generator.next(upTo: 5)))
            policy.maxDrawdown = Decimal(8 + Int(generator.next(upTo: 8))) / 100
            return .policy(policy, symbols: symbols)
        default:
            return .evaluate
        }
    }
}

/// The ESS rules restated plainly: every condition is recomputed from the full history.
struct ReferenceESS {
    var policy: EmergencyStopPolicy
    var symbols: [String]
    let start: Date
    var history: [(at: Date, input: ESSInput)] = []
    var state = ESSState.armed
    var cooldownStart: Date?
    var latchedTrip = false
    var latchedReduce = false

    init(policy: EmergencyStopPolicy, symbols: [String], start: Date) {
        self.policy = policy
        self.symbols = symbols
        self.start = start
    }

    mutating func step(_ input: ESSInput, at now: Date) -> (state: ESSState, refused: Bool) {
        history.append((now, input))
        var resetNow = false
        switch input {
        case .trip: latchedTrip = true
        case .reduce: latchedReduce = true
        case .policy(let policy, let symbols):
            self.policy = policy
            self.symbols = symbols
        default: break
        }
        let snapshots = history.compactMap { entry -> (equity: Decimal, daily: Decimal)? in
            if case .portfolio(let equity, let daily) = entry.input { (equity, daily) } else { nil }
        }
        var drawdown: Decimal?
        if let last = snapshots.last, let peak = snapshots.map(\.equity).max(), peak > 0 { drawdown = (peak - last.equity) / peak }
        let dailyLoss = snapshots.last.map { -$0.daily } ?? 0
        let errors = history.filter { entry in
            if case .executionError = entry.input { entry.at > now - TimeInterval(policy.errorWindowSeconds) } else { false }
        }.count
        let stale = symbols.contains { symbol in
            let seen =
                history.compactMap { entry -> Date? in
                    if case .marketTick(symbol, let occurred) = entry.input { min(occurred, entry.at) } else { nil }
                }.max() ?? start
            return now.timeIntervalSince(seen) > TimeInterval(policy.maxFeedAgeSeconds)
        }
        let measured =
            (drawdown.map { $0 >= policy.maxDrawdown } ?? false) || dailyLoss >= policy.maxDailyLoss
            || errors >= policy.maxExecutionErrors || stale
        if case .reset = input {
            guard !measured, latchedTrip || latchedReduce || state == .tripped || state == .cooldown else {
                history.removeLast()
                history.append((now, .evaluate))
                return (state, true)
            }
            latchedTrip = false
            latchedReduce = false
            resetNow = true
        }
        let reduce = latchedReduce || (policy.reduceDrawdown.map { limit in drawdown.map { $0 >= limit } ?? false } ?? false)
        let calm: ESSState = reduce ? .reducing : .armed
        if latchedTrip || measured {
            state = .tripped
            cooldownStart = nil
        } else if state == .tripped || state == .cooldown {
            if resetNow {
                state = calm
                cooldownStart = nil
            } else if state == .tripped {
                state = .cooldown
                cooldownStart = now
            } else if !policy.manualResetRequired, let began = cooldownStart,
                now.timeIntervalSince(began) >= TimeInterval(policy.cooldownSeconds)
            {
                state = calm
                cooldownStart = nil
            }
        } else {
            state = calm
        }
        return (state, false)
    }
}
