import Testing
import TapeGrad

/// `clip_grad_norm_` and `clip_grad_value_` against PyTorch 2.15.
@Suite struct ClippingTests {
    static func parameters(_ ga: [Double], _ gb: [Double]) throws -> [Tensor] {
        let a = try Tensor([3.0, 4.0], requiresGrad: true), b = try Tensor([[1.0, -2.0]], requiresGrad: true)
        try (a * Tensor(ga)).sum().backward()
        try (b * Tensor([gb])).sum().backward()
        return [a, b]
    }

    static func close(_ a: [Double], _ b: [Double]) -> Bool { zip(a, b).allSatisfy { abs($0 - $1) <= 1e-6 } }

    @Test func normsOfOrder2InfinityAnd1MatchPyTorch() throws {
        var p = try Self.parameters([1, 2], [3, 3])
        #expect(abs(try clipGradNorm_(p, maxNorm: 1).item() - 4.795831523312719) < 1e-6)
        #expect(Self.close(p[0].grad!.scalars(), [0.20851439237594604, 0.4170287847518921]))
        #expect(Self.close(p[1].grad!.scalars(), [0.6255431771278381, 0.6255431771278381]))
        p = try Self.parameters([1, -5], [2, 0.5])
        #expect(try clipGradNorm_(p, maxNorm: 2, normType: .infinity).item() == 5)
        #expect(Self.close(p[0].grad!.scalars(), [0.3999999165534973, -1.9999995231628418]))
        p = try Self.parameters([1, -5], [2, 0.5])
        #expect(try clipGradNorm_(p, maxNorm: 100, normType: 1).item() == 8.5)
        #expect(p[0].grad!.scalars() == [1, -5] && p[1].grad!.scalars() == [2, 0.5])
        try clipGradValue_(p, clipValue: 1.5)
        #expect(p[0].grad!.scalars() == [1, -1.5] && p[1].grad!.scalars() == [1.5, 0.5])
    }

    @Test func noGradientsAndNonFiniteNorms() throws {
        #expect(try clipGradNorm_([Tensor.ones([2], requiresGrad: true)], maxNorm: 1).item() == 0)
        let p = try Self.parameters([.nan, 1], [1, 1])
        #expect(throws: TapeGradError(.runtimeError, "The total norm of order 2.0 for gradients from `parameters` is non-finite, so it cannot be clipped. To disable this error and scale the gradients by the non-finite norm anyway, set `error_if_nonfinite=False`")) {
            try clipGradNorm_(p, maxNorm: 1, errorIfNonfinite: true)
        }
        #expect(p[1].grad!.scalars() == [1, 1])
    }
}
