/// A seedable pseudo-random generator (xoshiro256**, seeded through SplitMix64): the source
/// of `rand`, `randn` and weight initialisations. Each thread's engine has one, reseeded by
/// ``manualSeed(_:)``; pass your own to the factories for an independent stream.
public struct RandomGenerator: RandomNumberGenerator, Sendable {
    private var state: (UInt64, UInt64, UInt64, UInt64)
    /// A second normal deviate left over from the last Box-Muller pair.
    private var spareNormal: Double?

    /// A generator whose sequence is fixed by `seed`.
    public init(seed: UInt64) {
        var s = seed
        func splitMix() -> UInt64 {
            s &+= 0x9E37_79B9_7F4A_7C15
            var z = s
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (splitMix(), splitMix(), splitMix(), splitMix())
        spareNormal = nil
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        let result = ((state.1 &* 5) << 7 | (state.1 &* 5) >> 57) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = state.3 << 45 | state.3 >> 19
        return result
    }

    /// A uniform value in [0, 1) with 53 random bits.
    public mutating func nextUniform() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// A standard normal value (Box-Muller).
    public mutating func nextNormal() -> Double {
        if let spare = spareNormal {
            spareNormal = nil
            return spare
        }
        var u1 = nextUniform()
        while u1 == 0 { u1 = nextUniform() }
        let u2 = nextUniform()
        let radius = (-2 * _log(u1)).squareRoot()
        let angle = 2 * Double.pi * u2
        spareNormal = radius * _sin(angle)
        return radius * _cos(angle)
    }
}

import RealModule
private func _log(_ x: Double) -> Double { Double.log(x) }
private func _sin(_ x: Double) -> Double { Double.sin(x) }
private func _cos(_ x: Double) -> Double { Double.cos(x) }

/// Reseeds the calling thread's generator (`torch.manual_seed`).
public func manualSeed(_ seed: UInt64) {
    engine.pointee.generator = RandomGenerator(seed: seed)
}

/// `draw`'s values, one per element in order, stored into `count` contiguous elements of a
/// floating element type (the random factories and `Init`).
struct RandomDraws: FloatComputation {
    let target: UnsafeMutableRawPointer, count: Int
    let generator: UnsafeMutablePointer<RandomGenerator>
    let draw: (inout RandomGenerator) -> Double

    func run<T: FloatElement>(_: T.Type) {
        let p = target.assumingMemoryBound(to: T.self)
        for i in 0..<count { p[i] = T(draw(&generator.pointee)) }
    }
}
