import Foundation
import Testing
import TapeGrad

/// The fast paths of kernels give the bits of their general paths: a large elementwise op on
/// matrices in different memory orders (tiled), and AdamW's sixteen-lane float32 update.
@Suite struct KernelPathTests {
    @Test func tiledTransposedAddEqualsContiguousAdd() throws {
        let a = Tensor.randn([300, 257])
        let b = try Tensor.randn([257, 300]).t()      // [300, 257], column-major
        let tiled = try a.add(b), plain = try a.add(b.contiguous())
        #expect(tiled.scalars() == plain.scalars())
        #expect(try a.mul(b).scalars() == a.mul(b.contiguous()).scalars())
    }

    /// 37 elements: two full groups of sixteen and five more, against the update written out
    /// in float32 arithmetic.
    @Test func adamWLanesEqualTheScalarUpdate() throws {
        let start = (0..<37).map { Float($0) * 0.1 - 1.7 }
        let grads = (0..<37).map { Float(($0 * 7) % 11) * 0.3 - 1.4 }
        let p = try Tensor(start.map(Double.init), requiresGrad: true)
        let g = try Tensor(grads.map(Double.init))
        let (lr, wd, b1, b2, eps) = (1e-2, 0.1, 0.9, 0.999, 1e-8)
        let optimizer = try AdamW([p], lr: lr, weightDecay: wd)
        var expected = start, m = [Float](repeating: 0, count: 37), v = m
        for step in 1...3 {
            try withStep {
                optimizer.zeroGrad()
                try (p * g).sum().backward()
                try optimizer.step()
            }
            let c1 = 1 - Foundation.pow(b1, Double(step)), c2 = Float((1 - Foundation.pow(b2, Double(step))).squareRoot())
            let stepSize = Float(lr / c1), shrink = Float(1 - lr * wd)
            for i in 0..<37 {
                let d = grads[i]
                expected[i] *= shrink
                m[i] += (d - m[i]) * (1 - Float(b1))
                v[i] = Float(b2) * v[i] + (1 - Float(b2)) * d * d
                expected[i] -= stepSize * m[i] / (v[i].squareRoot() / c2 + Float(eps))
            }
        }
        #expect(p.scalars() == expected.map(Double.init))
    }
}
