import Testing
import TapeGrad

/// `max(dim:keepDim:)` against PyTorch 2.15: values, first index of ties, gradient to that index.
@Suite struct MaxDimTests {
    static let data = [[[1.0, 5, 3], [4, 5, 0]], [[7, 2, 2], [1, 9, 9]]]

    @Test func valuesIndicesAndGradient() throws {
        let x = Tensor(Self.data, requiresGrad: true)
        let (values, indices) = try x.max(dim: 1)
        #expect(values.scalars() == [4, 5, 3, 7, 9, 9])
        #expect(indices.scalars() == [1, 0, 0, 0, 1, 1])
        #expect(values.gradFn?.name == "MaxBackward0")
        try (values * Tensor([[1.0, 2, 3], [4, 5, 6]])).sum().backward()
        #expect(x.grad?.scalars() == [0, 2, 3, 1, 0, 0, 4, 0, 0, 0, 5, 6])
    }

    @Test func lastDimensionKeepDim() throws {
        let x = Tensor(Self.data)
        let (values, indices) = try x.max(dim: -1, keepDim: true)
        #expect(values.shape == [2, 2, 1])
        #expect(values.scalars() == [5, 5, 7, 9])
        #expect(indices.scalars() == [1, 1, 0, 1])
    }

    @Test func finiteDifferences() throws {
        let x = try Tensor(values: [0.3, -1.2, 2.5, 0.7, 1.9, -0.4], shape: [2, 3], dtype: .float64, requiresGrad: true)
        #expect(try gradcheck({ try $0[0].max(dim: 0).values.exp() }, inputs: [x]))
    }

    @Test func comparisonsWithTheScalarOnEitherSide() {
        let x = Tensor([-1.0, 0, 2])
        #expect((0 < x).boolScalars() == [false, false, true])
        #expect((x > 0).boolScalars() == [false, false, true])
        #expect((0 >= x).description == "tensor([ True,  True, False])")
        #expect((2 == x).boolScalars() == [false, false, true])
    }
}

@Suite struct DataAndRetainsGradTests {
    @Test func dataIsADetachedAliasAsInSeed000() throws {
        let x = Tensor.ones(2, 2, requiresGrad: true)
        try (x * 3).sum().backward()
        try x.grad!.data.zero_()
        #expect(x.grad?.description == "tensor([[0., 0.],\n        [0., 0.]])")
        #expect(!x.data.requiresGrad && x.data.isLeaf)
    }

    @Test func retainsGradReflectsRetainGrad() throws {
        let x = Tensor.ones(2, requiresGrad: true)
        let y = x * 2
        #expect(!y.retainsGrad)
        try y.retainGrad()
        #expect(y.retainsGrad)
    }
}
