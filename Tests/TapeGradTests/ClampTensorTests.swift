import Testing
import TapeGrad

/// `clamp` between tensor bounds (`ClampBackward0`) where its rule decides: every combination
/// of x, min and max from {0, 1, 2, NaN}, with PyTorch 2.15's value and gradients.
@Suite struct ClampTensorTests {
    /// x, min, max, clamp(x, min, max), then the gradients of x, min and max.
    static let table: [[Double]] = [
            [0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0],
            [0.0, 0.0, 1.0, 0.0, 0.5, 0.5, 0.0],
            [0.0, 0.0, 2.0, 0.0, 0.5, 0.5, 0.0],
            [0.0, 0.0, .nan, .nan, 1.0, 0.0, 0.0],
            [0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0],
            [0.0, 1.0, 1.0, 1.0, 0.0, 1.0, 0.0],
            [0.0, 1.0, 2.0, 1.0, 0.0, 1.0, 0.0],
            [0.0, 1.0, .nan, .nan, 0.0, 0.0, 0.0],
            [0.0, 2.0, 0.0, 0.0, 0.0, 0.0, 1.0],
            [0.0, 2.0, 1.0, 1.0, 0.0, 0.0, 1.0],
            [0.0, 2.0, 2.0, 2.0, 0.0, 1.0, 0.0],
            [0.0, 2.0, .nan, .nan, 0.0, 0.0, 0.0],
            [0.0, .nan, 0.0, .nan, 1.0, 0.0, 0.0],
            [0.0, .nan, 1.0, .nan, 1.0, 0.0, 0.0],
            [0.0, .nan, 2.0, .nan, 1.0, 0.0, 0.0],
            [0.0, .nan, .nan, .nan, 1.0, 0.0, 0.0],
            [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0],
            [1.0, 0.0, 1.0, 1.0, 0.5, 0.0, 0.5],
            [1.0, 0.0, 2.0, 1.0, 1.0, 0.0, 0.0],
            [1.0, 0.0, .nan, .nan, 1.0, 0.0, 0.0],
            [1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0],
            [1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0],
            [1.0, 1.0, 2.0, 1.0, 0.5, 0.5, 0.0],
            [1.0, 1.0, .nan, .nan, 1.0, 0.0, 0.0],
            [1.0, 2.0, 0.0, 0.0, 0.0, 0.0, 1.0],
            [1.0, 2.0, 1.0, 1.0, 0.0, 0.0, 1.0],
            [1.0, 2.0, 2.0, 2.0, 0.0, 1.0, 0.0],
            [1.0, 2.0, .nan, .nan, 0.0, 0.0, 0.0],
            [1.0, .nan, 0.0, .nan, 0.0, 0.0, 0.0],
            [1.0, .nan, 1.0, .nan, 1.0, 0.0, 0.0],
            [1.0, .nan, 2.0, .nan, 1.0, 0.0, 0.0],
            [1.0, .nan, .nan, .nan, 1.0, 0.0, 0.0],
            [2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0],
            [2.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0],
            [2.0, 0.0, 2.0, 2.0, 0.5, 0.0, 0.5],
            [2.0, 0.0, .nan, .nan, 1.0, 0.0, 0.0],
            [2.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0],
            [2.0, 1.0, 1.0, 1.0, 0.0, 0.0, 1.0],
            [2.0, 1.0, 2.0, 2.0, 0.5, 0.0, 0.5],
            [2.0, 1.0, .nan, .nan, 1.0, 0.0, 0.0],
            [2.0, 2.0, 0.0, 0.0, 0.0, 0.0, 1.0],
            [2.0, 2.0, 1.0, 1.0, 0.0, 0.0, 1.0],
            [2.0, 2.0, 2.0, 2.0, 1.0, 0.0, 0.0],
            [2.0, 2.0, .nan, .nan, 1.0, 0.0, 0.0],
            [2.0, .nan, 0.0, .nan, 0.0, 0.0, 0.0],
            [2.0, .nan, 1.0, .nan, 0.0, 0.0, 0.0],
            [2.0, .nan, 2.0, .nan, 1.0, 0.0, 0.0],
            [2.0, .nan, .nan, .nan, 1.0, 0.0, 0.0],
            [.nan, 0.0, 0.0, .nan, 1.0, 0.0, 0.0],
            [.nan, 0.0, 1.0, .nan, 1.0, 0.0, 0.0],
            [.nan, 0.0, 2.0, .nan, 1.0, 0.0, 0.0],
            [.nan, 0.0, .nan, .nan, 1.0, 0.0, 0.0],
            [.nan, 1.0, 0.0, .nan, 1.0, 0.0, 1.0],
            [.nan, 1.0, 1.0, .nan, 1.0, 0.0, 0.0],
            [.nan, 1.0, 2.0, .nan, 1.0, 0.0, 0.0],
            [.nan, 1.0, .nan, .nan, 1.0, 0.0, 0.0],
            [.nan, 2.0, 0.0, .nan, 1.0, 0.0, 1.0],
            [.nan, 2.0, 1.0, .nan, 1.0, 0.0, 1.0],
            [.nan, 2.0, 2.0, .nan, 1.0, 0.0, 0.0],
            [.nan, 2.0, .nan, .nan, 1.0, 0.0, 0.0],
            [.nan, .nan, 0.0, .nan, 1.0, 0.0, 0.0],
            [.nan, .nan, 1.0, .nan, 1.0, 0.0, 0.0],
            [.nan, .nan, 2.0, .nan, 1.0, 0.0, 0.0],
            [.nan, .nan, .nan, .nan, 1.0, 0.0, 0.0]

    ]

    @Test func tiesNaNsAndCrossedBoundsMatchPyTorch() throws {
        func same(_ a: Double, _ b: Double) -> Bool { a == b || (a.isNaN && b.isNaN) }
        for row in Self.table {
            let x = try Tensor([row[0]], dtype: .float64, requiresGrad: true)
            let lo = try Tensor([row[1]], dtype: .float64, requiresGrad: true)
            let hi = try Tensor([row[2]], dtype: .float64, requiresGrad: true)
            let y = try x.clamp(min: lo, max: hi)
            #expect(y.gradFn?.name == "ClampBackward0")
            let grads = try grad(of: y.sum(), withRespectTo: [x, lo, hi])
            let got = [try y.item()] + grads.map { $0.map { $0.scalars()[0] } ?? 0 }
            #expect(zip(got, row.dropFirst(3)).allSatisfy(same), "clamp(\(row[0]), \(row[1]), \(row[2])): \(got)")
        }
    }

    /// The result type is PyTorch's of all three operands, and shapes broadcast together.
    @Test func resultTypeAndShapeAreOfAllThree() throws {
        let y = try Tensor([1, 5, 9]).clamp(min: Tensor([2, 2, 2]), max: Tensor(6.5))
        #expect(y.dtype == .float32 && y.scalars() == [2, 5, 6.5])
        #expect(try Tensor([1, 5]).clamp(min: Tensor(2)).dtype == .int64)
        #expect(try Tensor.ones(3).clamp(min: Tensor.zeros(2, 1)).shape == [2, 3])
        #expect(throws: TapeGradError(.runtimeError, "The size of tensor a (3) must match the size of tensor b (2) at non-singleton dimension 0")) {
            try Tensor.ones(3).clamp(min: Tensor.ones(2))
        }
        #expect(throws: TapeGradError(.runtimeError, "torch.clamp: At least one of 'min' or 'max' must not be None")) {
            try Tensor.ones(3).clamp(min: nil as Tensor?, max: nil)
        }
    }
}
