import Testing

@testable import Binance

/// The host's request budget: never more than a limit in any window the server counts, even
/// with the server's clock off by up to the guard, two processes sharing it, and the server's
/// counts correcting it; 429s pause, 418s stop.
@Suite struct RequestBudgetTests {
    static let weight = RateLimit(kind: .requestWeight, interval: .minute, intervalNum: 1, limit: 100)
    static let orders = RateLimit(kind: .orders, interval: .second, intervalNum: 10, limit: 5)

    @Test func aFullWindowWaitsForTheNextPastTheGuard() {
        var budget = RequestBudget(limits: [Self.weight], guardTime: 100)
        let start: Int64 = 1_800_000_000_000  // a minute boundary
        for _ in 0..<5 { #expect(budget.reserve(.init(weight: 20), at: start + 1_000) == .go) }
        #expect(budget.reserve(.init(weight: 1), at: start + 2_000) == .wait(until: start + 60_000 + 100))
        // Within the guard of the edge the server may still be in the old window.
        #expect(budget.reserve(.init(weight: 1), at: start + 60_050) == .wait(until: start + 60_000 + 100))
        #expect(budget.reserve(.init(weight: 1), at: start + 60_100) == .go)
    }

    /// Two processes take turns with random costs at random times while the server's clock is
    /// off by up to the guard either way: in every window the server counts, the weight stays
    /// within the limit, and the budget is used to within the edges' share.
    @Test func theServerNeverCountsMoreThanTheLimitInAnyWindow() {
        var generator = SystemRandomNumberGenerator()
        for trial in 0..<20 {
            var shared = RequestBudget(limits: [Self.weight, Self.orders], guardTime: 100)
            var serverWeight: [Int64: Int] = [:]
            var serverOrders: [Int64: Int] = [:]
            var time: Int64 = 1_800_000_000_000 + Int64.random(in: 0..<60_000, using: &generator)
            let end = time + 600_000
            var sent = 0
            while time < end {
                let cost = RateLimitCounter.Cost(
                    weight: Int.random(in: 1...5, using: &generator), orders: Int.random(in: 0...1, using: &generator))
                switch shared.reserve(cost, at: time) {
                case .go:
                    let serverTime = time + Int64.random(in: -99...99, using: &generator)
                    serverWeight[serverTime / 60_000, default: 0] += cost.weight
                    serverOrders[serverTime / 10_000, default: 0] += cost.orders
                    sent += cost.weight
                    time += Int64.random(in: 0...20, using: &generator)
                case .wait(let until):
                    #expect(until > time)
                    time = until
                case .banned:
                    Issue.record("no ban was reported")
                    return
                }
            }
            #expect(serverWeight.values.max() ?? 0 <= 100, "trial \(trial): \(serverWeight)")
            #expect(serverOrders.values.max() ?? 0 <= 5, "trial \(trial): \(serverOrders)")
            // Ten minutes at 100 a minute: 1,000, less what the edges cost (at most 11 windows'
            // edges, 5 a time) and the last request's size.
            #expect(sent >= 900, "trial \(trial): sent \(sent)")
        }
    }

    /// Two processes whose clocks are off from the server's by up to their measured
    /// uncertainty (each its own, up to 1 s, far beyond the guard), whose requests take up to
    /// their latency to arrive, ask for twice the limit and correct the budget from every
    /// reply: no window the server counts goes over the limit, and none stands nearly empty
    /// (a reply counted by the server in the minute before, taken for the next, would stop the
    /// next for nothing: every other minute would be empty).
    @Test func clocksOffByTheirUncertaintyNeitherOverflowNorStarveAWindow() {
        var generator = SystemRandomNumberGenerator()
        for trial in 0..<20 {
            var shared = RequestBudget(limits: [Self.weight], guardTime: 100)
            let uncertainty = (0..<2).map { _ in Int64.random(in: 100...1_000, using: &generator) }
            let error = uncertainty.map { Int64.random(in: -$0...$0, using: &generator) }
            let latency = (0..<2).map { _ in Int64.random(in: 0...500, using: &generator) }
            let setup = "trial \(trial): uncertainty \(uncertainty), error \(error), latency \(latency)"
            var server: [Int64: Int] = [:]
            let start: Int64 = 1_800_000_000_000
            // Each process asks on its own schedule (together twice the limit: 100 a minute
            // each, at 2 a request) and, held back, asks again when the budget says.
            var due: [Int64] = [start, start + 300]
            while let process = due.indices.min(by: { due[$0] < due[$1] }), due[process] < start + 600_000 {
                let now = due[process]
                switch shared.reserve(.init(weight: 2), at: now, uncertainty: uncertainty[process], latency: latency[process]) {
                case .go:
                    let arrival = now - error[process] + Int64.random(in: 0...latency[process], using: &generator)
                    server[arrival / 60_000, default: 0] += 2
                    let received = now + latency[process]
                    shared.observe(
                        used: ["X-MBX-USED-WEIGHT-1M": server[arrival / 60_000] ?? 0], sent: now, received: received,
                        uncertainty: uncertainty[process])
                    due[process] = max(received, now + 1_200)
                case .wait(let until):
                    #expect(until > now, "\(setup)")
                    due[process] = until
                case .banned:
                    Issue.record("no ban was reported")
                    return
                }
            }
            #expect(server.values.max() ?? 0 <= 100, "\(setup): \(server)")
            // Whole minutes between the first and the last: the edges' spread (at most 2 × 1 s
            // + 0.5 s of 60 s, asked at 200 a minute) costs at most 9 of 100.
            let whole = (start / 60_000 + 1)..<(start / 60_000 + 9)
            #expect(whole.allSatisfy { server[$0, default: 0] >= 90 }, "\(setup): \(server.sorted { $0.key < $1.key }.map(\.value))")
        }
    }

    @Test func theServersCountCorrectsTheBudgetUpwardsOnly() {
        var budget = RequestBudget(limits: [Self.weight], guardTime: 100)
        let start: Int64 = 1_800_000_000_000
        #expect(budget.reserve(.init(weight: 10), at: start + 1_000) == .go)
        budget.observe(used: ["X-MBX-USED-WEIGHT-1M": 95], sent: start + 1_000, received: start + 1_001)
        #expect(budget.reserve(.init(weight: 10), at: start + 1_002) == .wait(until: start + 60_100))
        budget.observe(used: ["x-mbx-used-weight-1m": 3], sent: start + 1_002, received: start + 1_003)
        #expect(budget.used(at: start + 1_004).first?.count == 95)
        // A reply from a request in flight across the minute's edge says nothing of either.
        budget.observe(used: ["X-MBX-USED-WEIGHT-1M": 100], sent: start + 59_990, received: start + 60_300)
        #expect(budget.reserve(.init(weight: 2), at: start + 60_400) == .go)
        // One from well inside the next minute counts there.
        budget.observe(used: ["X-MBX-USED-WEIGHT-1M": 99], sent: start + 61_000, received: start + 61_010)
        #expect(budget.reserve(.init(weight: 2), at: start + 61_020) == .wait(until: start + 120_100))
    }

    @Test func a429PausesForRetryAfterThenBacksOffLongerEachTimeAndA418StopsEverything() {
        var budget = RequestBudget(limits: [Self.weight, Self.orders], guardTime: 100)
        let now: Int64 = 1_800_000_000_000
        budget.refused(retryAfter: 5_000, orders: false, at: now, jitter: 0)
        #expect(budget.reserve(.init(weight: 1), at: now + 5_000) == .wait(until: now + 5_500))
        budget.refused(retryAfter: 5_000, orders: false, at: now, jitter: 0)
        #expect(budget.pausedUntil == now + 6_000)
        budget.refused(retryAfter: 5_000, orders: false, at: now, jitter: 0.99)
        #expect((now + 7_000...now + 8_000).contains(budget.pausedUntil))
        budget.succeeded()
        #expect(budget.consecutiveRefusals == 0)
        // -1015 stops orders only.
        var orders = RequestBudget(limits: [Self.weight, Self.orders], guardTime: 100)
        orders.refused(retryAfter: 1_000, orders: true, at: now, jitter: 0)
        #expect(orders.reserve(.init(weight: 1), at: now + 10) == .go)
        #expect(orders.reserve(.init(weight: 1, orders: 1), at: now + 10) == .wait(until: now + 1_500))
        orders.banned(until: now + 120_000)
        #expect(orders.reserve(.init(weight: 1), at: now + 119_999) == .banned(until: now + 120_000))
        #expect(orders.reserve(.init(weight: 1), at: now + 120_000) == .go)
    }

    @Test func aRepliesStatusAndRetryAfterInSecondsPauseOrBanOrEndTheBackoff() {
        let now: Int64 = 1_800_000_000_000
        var budget = RequestBudget(limits: [Self.weight, Self.orders], guardTime: 100)
        budget.answered(status: 429, retryAfter: RequestBudget.retryAfter(header: "3"), orders: false, at: now, jitter: 0)
        #expect(budget.pausedUntil == now + 3_500)
        budget.answered(status: 200, retryAfter: nil, orders: false, at: now, jitter: 0)
        #expect(budget.consecutiveRefusals == 0)
        budget.answered(status: 429, retryAfter: RequestBudget.retryAfter(header: "soon"), orders: true, at: now, jitter: 0)
        #expect(budget.ordersPausedUntil == now + 1_500)
        budget.answered(status: 418, retryAfter: nil, orders: false, at: now, jitter: 0)
        #expect(budget.bannedUntil == now + 120_000)
        budget.answered(status: 418, retryAfter: 600_000, orders: false, at: now, jitter: 0)
        #expect(budget.bannedUntil == now + 600_000)
        budget.answered(status: 503, retryAfter: 60_000, orders: false, at: now, jitter: 0)
        #expect(budget.pausedUntil == now + 3_500 && budget.bannedUntil == now + 600_000)
    }

    @Test func theSharedFilesContentsReadBackAndNewLimitsKeepPausesAndBans() throws {
        var budget = RequestBudget(limits: [Self.weight, Self.orders], guardTime: 150)
        let now: Int64 = 1_800_000_000_000 + 59_950
        #expect(budget.reserve(.init(weight: 7, orders: 1), at: now) == .go)
        budget.refused(retryAfter: 1_000, orders: true, at: now, jitter: 0)
        budget.banned(until: now + 1)
        let read = try #require(RequestBudget(decoding: budget.encoded))
        #expect(read == budget)
        #expect(RequestBudget(decoding: Array(budget.encoded.dropLast())) == nil)
        #expect(RequestBudget(decoding: [9, 0, 0, 0, 0, 0, 0]) == nil)
        let wider = budget.adopting([RateLimit(kind: .requestWeight, interval: .minute, intervalNum: 1, limit: 6_000), Self.orders])
        #expect(wider.bannedUntil == budget.bannedUntil && wider.ordersPausedUntil == budget.ordersPausedUntil)
        #expect(wider.used(at: now).map(\.count) == [0, 1])
    }

    /// A host cut off from the budget it shares with others keeps to its share of each limit on
    /// its own; joined again, its counts and stops are added to the shared budget's, so the
    /// hosts together still stay within the limit.
    @Test func aHostsOwnShareJoinedToTheSharedBudgetAddsItsCountsAndStops() {
        let start: Int64 = 1_800_000_000_000
        var shared = RequestBudget(limits: [Self.weight, Self.orders], guardTime: 100)
        #expect(shared.reserve(.init(weight: 40), at: start + 1_000) == .go)

        var own = RequestBudget(limits: [Self.weight.sharing(0.5), Self.orders.sharing(0.5)], guardTime: 100)
        #expect(own.limits.map(\.limit) == [50, 2])
        for _ in 0..<5 { #expect(own.reserve(.init(weight: 10), at: start + 2_000) == .go) }
        #expect(own.reserve(.init(weight: 10), at: start + 2_000) == .wait(until: start + 60_100))
        own.banned(until: start + 9_000)

        var joined = shared.merging(own)
        #expect(joined.used(at: start + 3_000).map(\.count) == [90, 0])
        #expect(joined.bannedUntil == start + 9_000)
        #expect(joined.reserve(.init(weight: 10), at: start + 10_000) == .go)
        #expect(joined.reserve(.init(weight: 1), at: start + 10_000) == .wait(until: start + 60_100))

        // A shared budget not used since an earlier minute takes the host's window as it is.
        var stale = RequestBudget(limits: [Self.weight], guardTime: 100)
        #expect(stale.reserve(.init(weight: 99), at: start - 120_000) == .go)
        #expect(stale.merging(own).used(at: start + 3_000).map(\.count) == [50])
        // The host's counts of the shared budget's next window are counted there.
        var next = RequestBudget(limits: [Self.weight.sharing(0.5)], guardTime: 100)
        #expect(next.reserve(.init(weight: 30), at: start + 61_000) == .go)
        var before = RequestBudget(limits: [Self.weight], guardTime: 100)
        #expect(before.reserve(.init(weight: 60), at: start + 30_000) == .go)
        var merged = before.merging(next)
        #expect(merged.reserve(.init(weight: 71), at: start + 61_000) == .wait(until: start + 120_100))
        #expect(merged.reserve(.init(weight: 70), at: start + 61_000) == .go)

        let cleared = own.withoutCounts
        #expect(cleared.used(at: start + 3_000).map(\.count) == [0, 0] && cleared.bannedUntil == start + 9_000)
        #expect(RateLimit(kind: .orders, interval: .second, intervalNum: 10, limit: 61).sharing(0.5).limit == 30)
        #expect(Self.weight.sharing(0.001).limit == 1)
    }
}
