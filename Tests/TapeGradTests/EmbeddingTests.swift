import Testing
import TapeGrad

/// `F.embedding` and `nn.Embedding` against PyTorch 2.15 (values, node, gradient with a
/// padding row, errors); the differential reference covers random shapes and dtypes.
@Suite struct EmbeddingTests {
    @Test func rowsAndPaddedGradientMatchPyTorch() throws {
        let w = try Tensor([[0.5, -1.0], [2.0, 0.25], [1.5, 3.0], [-0.75, 0.0]], requiresGrad: true)
        let y = try embedding(Tensor([[2, 0], [2, 3]]), weight: w, paddingIdx: 2)
        #expect(y.shape == [2, 2, 2] && y.scalars() == [1.5, 3.0, 0.5, -1.0, 1.5, 3.0, -0.75, 0.0])
        #expect(y.gradFn?.name == "EmbeddingBackward0")
        try (y * Tensor([1.0, 2.0])).sum().backward()
        #expect(try #require(w.grad).scalars() == [1, 2, 0, 0, 0, 0, 1, 2])
    }

    @Test func theModuleStartsNormalWithAZeroPaddingRow() throws {
        let table = try Embedding(5, 3, paddingIdx: -1)
        #expect(table.paddingIdx == 4 && table.weight.shape == [5, 3])
        #expect(try table.weight.select(dim: 0, index: 4).scalars() == [0, 0, 0])
        #expect(table.namedParameters().map(\.name) == ["weight"])
        #expect(try table(Tensor(1)).shape == [3])
    }

    @Test func badInputsThrowPyTorchsErrors() throws {
        let w = Tensor.ones(5, 3)
        #expect(throws: TapeGradError(.assertionError, "Padding_idx must be within num_embeddings")) { try Embedding(5, 3, paddingIdx: 5) }
        #expect(throws: TapeGradError(.indexError, "index out of range in self")) { try embedding(Tensor([7]), weight: w) }
        #expect(throws: TapeGradError(.runtimeError, "'weight' must be 2-D")) { try embedding(Tensor([1]), weight: Tensor.ones(5)) }
        #expect(throws: TapeGradError(.runtimeError, "Expected tensor for argument #1 'indices' to have one of the following scalar types: Long, Int; but got torch.FloatTensor instead (while checking arguments for embedding)")) {
            try embedding(Tensor([1.0]), weight: w)
        }
    }
}
