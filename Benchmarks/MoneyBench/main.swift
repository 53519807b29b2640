// The exact money type against Foundation.Decimal, both in this process, on the same inputs
// and the same four operations per pair: a × b at 18 places, a ÷ b at 8 places, a running sum,
// and the quotient rounded to 2 places, all half-even. scripts/bench-money runs it beside
// Python's decimal (bench_decimal.py) doing the same, and prints the ratios.
//   MoneyBench [PAIRS]   (default 200000)

import Foundation
import Money

/// The i-th pair, as text both sides parse before the clock starts (the same in bench_decimal.py).
func pair(_ i: Int) -> (String, String) {
    let a = "\(i * 7919 % 1_000_003).\(String(format: "%08d", i * 104_729 % 100_000_000))"
    let b = "\(i * 31 % 997 + 1).\(String(format: "%08d", i * 7_727 % 100_000_000))"
    return (a, b)
}

let pairs = Int(CommandLine.arguments.dropFirst().first ?? "") ?? 200_000
let texts = (0..<pairs).map(pair)

func measure(_ name: String, _ body: () throws -> String) rethrows {
    let start = ContinuousClock.now
    let check = try body()
    let elapsed = ContinuousClock.now - start
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    print("\(name)_ops_per_second \(Int(Double(4 * pairs) / seconds))")
    print("\(name)_checksum \(check)")
}

let fixed = try texts.map { (try FixedDecimal(parsing: $0.0), try FixedDecimal(parsing: $0.1)) }
try measure("fixed_decimal") {
    var sum = FixedDecimal.zero
    var last = FixedDecimal.zero
    for (a, b) in fixed {
        let product = try a.multiplied(by: b, scale: 18, rounding: .halfEven)
        let quotient = try a.divided(by: b, scale: 8, rounding: .halfEven)
        sum = try sum + product
        last = try quotient.rounded(scale: 2, rounding: .halfEven)
    }
    return "\(sum) \(last)"
}

let foundation = texts.map { (Decimal(string: $0.0)!, Decimal(string: $0.1)!) }
measure("foundation_decimal") {
    var sum = Decimal.zero
    var last = Decimal.zero
    for (a, b) in foundation {
        var product = a * b
        var roundedProduct = Decimal()
        NSDecimalRound(&roundedProduct, &product, 18, .bankers)
        var quotient = a / b
        var roundedQuotient = Decimal()
        NSDecimalRound(&roundedQuotient, &quotient, 8, .bankers)
        sum += roundedProduct
        NSDecimalRound(&last, &roundedQuotient, 2, .bankers)
    }
    return "\(sum) \(last)"
}
