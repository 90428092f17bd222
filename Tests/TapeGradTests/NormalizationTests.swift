import Testing
import TapeGrad

/// Layer norm and RMS norm modules against PyTorch 2.15: parameters, node names, defaults.
/// (Their values and gradients over random shapes and dtypes are in the differential reference.)
@Suite struct NormalizationTests {
    @Test func modulesHavePyTorchsParametersAndNodes() throws {
        let ln = LayerNorm(4), noBias = LayerNorm([3, 4], bias: false), plain = LayerNorm(4, elementwiseAffine: false)
        #expect(ln.namedParameters().map(\.name) == ["weight", "bias"])
        #expect(noBias.namedParameters().map(\.name) == ["weight"] && plain.namedParameters().isEmpty)
        #expect(ln.weight!.scalars() == [1, 1, 1, 1] && ln.bias!.scalars() == [0, 0, 0, 0])
        let x = Tensor.randn([2, 4], requiresGrad: true)
        #expect(try ln(x).gradFn?.name == "NativeLayerNormBackward0")
        let rms = RMSNorm(4)
        #expect(rms.namedParameters().map(\.name) == ["weight"] && rms.eps == nil)
        #expect(try rms(x).gradFn?.name == "MulBackward0")
    }

    /// `F.rms_norm(x, [3])` with its default eps (float32's machine epsilon).
    @Test func rmsNormMatchesPyTorch() throws {
        let x = try Tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
        let y = try rmsNorm(x, normalizedShape: [3])
        // torch.nn.functional.rms_norm(torch.tensor([[1., 2., 3.], [0., 0., 0.]]), [3])
        let expected = [0.4629100561141968, 0.9258201122283936, 1.3887301683425903, 0, 0, 0]
        #expect(zip(y.scalars(), expected).allSatisfy { abs($0 - $1) < 1e-6 })
    }
}

/// `nn.ModuleList`: children by position, no forward, PyTorch's IndexError.
@Suite struct ModuleListTests {
    @Test func childrenParametersAndErrors() throws {
        let blocks = ModuleList([Linear(2, 2), ReLU()])
        blocks.append(LayerNorm(2))
        #expect(blocks.count == 3)
        #expect(blocks.namedParameters().map(\.name) == ["0.weight", "0.bias", "2.weight", "2.bias"])
        #expect(throws: TapeGradError(.notImplementedError, "Module [ModuleList] is missing the required \"forward\" function")) {
            try blocks(Tensor.ones(2))
        }
        #expect(throws: TapeGradError(.indexError, "index 5 is out of range")) { try blocks.module(at: 5) }
        #expect(try blocks.module(at: -1) is LayerNorm)
    }
}
