import Testing
import TapeGrad

/// `unique` (seed 003's example 3): values, inverse, counts, a recorded output whose backward
/// is not implemented.
@Suite struct UniqueTests {
    @Test func valuesInverseAndCounts() {
        let x = Tensor([[3.0, 1.0, 2.0], [3.0, 1.0, 5.0]], requiresGrad: true)
        let (values, inverse, counts) = x.unique(sorted: true, returnInverse: true, returnCounts: true)
        // PyTorch: tensor([1., 2., 3., 5.]), inverse [[2, 0, 1], [2, 0, 3]], counts [2, 1, 2, 1]
        #expect(values.description == "tensor([1., 2., 3., 5.], grad_fn=<Unique2Backward0>)")
        #expect(inverse?.shape == [2, 3])
        #expect(inverse?.scalars() == [2, 0, 1, 2, 0, 3])
        #expect(counts?.shape == [4])
        #expect(counts?.scalars() == [2, 1, 2, 1])
        #expect(inverse?.requiresGrad == false && counts?.requiresGrad == false)
        // int64, printed as PyTorch prints them.
        #expect(inverse?.description == "tensor([[2, 0, 1],\n        [2, 0, 3]])")
        #expect(counts?.description == "tensor([2, 1, 2, 1])")
    }

    /// Integers are compared exactly, beyond 2^53 too.
    @Test func largeIntegersStayDistinct() {
        let big = Int(1) << 60
        let (values, inverse, counts) = Tensor([big + 1, big, big + 1]).unique(sorted: true, returnInverse: true, returnCounts: true)
        #expect(values.integerScalars() == [Int64(big), Int64(big + 1)])
        #expect(inverse?.integerScalars() == [1, 0, 1])
        #expect(counts?.integerScalars() == [1, 2])
    }

    @Test func withoutInverseOrCounts() {
        let (values, inverse, counts) = Tensor([2.0, 2.0, -1.0]).unique(sorted: true, returnInverse: false, returnCounts: false)
        #expect(values.description == "tensor([-1.,  2.])")
        #expect(inverse == nil && counts == nil)
        #expect(!values.requiresGrad && values.isLeaf)
        #expect(Tensor([4.0, 4.0]).unique().description == "tensor([4.])")
    }

    @Test func seed003ex3OutputRequiresGradButBackwardIsNotImplemented() throws {
        let input = Tensor.rand([1], requiresGrad: true)
        let output = input.unique(sorted: true, returnInverse: false, returnCounts: false).values
        #expect(input.isLeaf && output.requiresGrad && !output.isLeaf)
        #expect(output.gradFn?.name == "Unique2Backward0")
        let error = #expect(throws: TapeGradError.self) { try output.backward() }
        #expect(error?.kind == .notImplementedError)
        // TapeGrad names the op 'unique' where PyTorch says '_unique2'.
        #expect(error?.message == "the derivative for 'unique' is not implemented.")
        #expect(input.grad == nil)
    }

    @Test func backwardThroughLaterOpsReachesUniqueAndFails() {
        let x = Tensor([3.0, 1.0, 3.0], requiresGrad: true)
        let u = x.unique()
        #expect(throws: TapeGradError(.notImplementedError, "the derivative for 'unique' is not implemented.")) {
            try (u * 2).sum().backward()
        }
        #expect(x.grad == nil)
    }
}
