import Testing
import TapeGrad

/// Gradients of matrix products that go straight into an existing leaf gradient (gemm with
/// beta 1, or beta 0 after a lazy `zero_()`) equal the ones computed the ordinary way.
@Suite struct ProductGradientTests {
    static func gradients(accumulateTwice: Bool, zeroBetween: Bool) throws -> (x: [Double], w: [Double]) {
        let x = try Tensor(values: [0.5, -1, 2, 0.25, 1.5, -0.75], shape: [2, 3], dtype: .float64, requiresGrad: true)
        let w = try Tensor(values: [1, 2, -1, 0.5, 0, 3, -2, 1, 0.5, 1.5, -0.5, 2], shape: [4, 3], dtype: .float64, requiresGrad: true)
        let b = try Tensor(values: [0.1, 0.2, 0.3, 0.4], shape: [4], dtype: .float64, requiresGrad: true)
        let runs = accumulateTwice ? 2 : 1
        for run in 0..<runs {
            if run == 1 && zeroBetween {
                try x.grad!.zero_()
                try w.grad!.zero_()
            }
            try withStep {
                try (try linear(x, weight: w, bias: b).tanh() + (try x.mm(w.t())).sin()).sum().backward()
            }
        }
        return (x.grad!.scalars(), w.grad!.scalars())
    }

    @Test func accumulatingTwiceDoubles() throws {
        let once = try Self.gradients(accumulateTwice: false, zeroBetween: false)
        let twice = try Self.gradients(accumulateTwice: true, zeroBetween: false)
        #expect(zip(twice.x, once.x).allSatisfy { Swift.abs($0 - 2 * $1) < 1e-12 })
        #expect(zip(twice.w, once.w).allSatisfy { Swift.abs($0 - 2 * $1) < 1e-12 })
    }

    @Test func zeroingInBetweenGivesOneGradient() throws {
        let once = try Self.gradients(accumulateTwice: false, zeroBetween: false)
        let again = try Self.gradients(accumulateTwice: true, zeroBetween: true)
        #expect(zip(again.x, once.x).allSatisfy { Swift.abs($0 - $1) < 1e-12 })
        #expect(zip(again.w, once.w).allSatisfy { Swift.abs($0 - $1) < 1e-12 })
    }
}
