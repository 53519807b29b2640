/// SplitMix64: a small, fast generator whose whole state is one integer, so a simulated market
/// seeded with the same number replays the same prices, volumes and fills on every machine.
struct SeededGenerator: RandomNumberGenerator, Sendable, Equatable {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Whether an event of `chance` in 10,000 happens.
    mutating func happens(_ chance: Int) -> Bool { Int.random(in: 0..<10_000, using: &self) < chance }

    /// A sum of four uniform draws in `-spread...spread`: bell-shaped around zero (Irwin–Hall),
    /// in integers, so prices stay exact.
    mutating func bell(_ spread: Int) -> Int {
        guard spread > 0 else { return 0 }
        return (0..<4).reduce(0) { sum, _ in sum + Int.random(in: -spread...spread, using: &self) } / 2
    }
}
