import Foundation
import Testing

@testable import TapeGrad

/// float16 and bfloat16: stored in 2 bytes, computed in float32, rounded to nearest-even when
/// stored. The values below are PyTorch 2.15's; its rounding happens after each of its ops and
/// TapeGrad's after each of its own, so they compare within about four units in the last place
/// (the differential reference runs every op in both types the same way).
@Suite struct ReducedPrecisionTests {
    /// |actual − expected| within four units in the last place of `dtype` (and a small floor).
    static func close(_ actual: [Double], _ expected: [Double], _ dtype: DType) -> Bool {
        let (absolute, relative) = dtype == .float16 ? (1e-3, 4e-3) : (8e-3, 3.2e-2)
        return actual.count == expected.count
            && zip(actual, expected).allSatisfy { a, e in abs(a - e) <= absolute + relative * abs(e) }
    }

    @Test func bfloat16RoundsToNearestEven() {
        // 1 + 2⁻⁸ is halfway between 1 and 1 + 2⁻⁷: even is 1. A bit more rounds up.
        #expect(BFloat16(rounding: 1 + 0x1p-8).floatValue == 1)
        #expect(BFloat16(rounding: 1 + 3 * 0x1p-8).floatValue == 1 + 2 * 0x1p-7)
        #expect(BFloat16(rounding: 1 + 0x1p-8 + 0x1p-20).floatValue == 1 + 0x1p-7)
        #expect(BFloat16(rounding: .infinity).floatValue == .infinity)
        #expect(BFloat16(rounding: -.infinity).floatValue == -.infinity)
        #expect(BFloat16(rounding: .nan).floatValue.isNaN)
        #expect(BFloat16(rounding: Float.greatestFiniteMagnitude).floatValue == .infinity)
        // Every bfloat16 survives a trip through float32.
        for bits in stride(from: 0, through: 0xFFFF, by: 7) where !BFloat16(bits: UInt16(bits)).floatValue.isNaN {
            #expect(BFloat16(rounding: BFloat16(bits: UInt16(bits)).floatValue).bits == UInt16(bits))
        }
    }

    @Test(arguments: [DType.float16, .bfloat16])
    func theyTakeTwoBytesAndRequireGrad(_ dtype: DType) throws {
        let x = try Tensor([0.1, 0.5], dtype: dtype, requiresGrad: true)
        #expect(dtype.itemSize == 2 && dtype.isFloatingPoint && x.requiresGrad)
        #expect(x.to(.float32).dtype == .float32)
        #expect(x.float().half().dtype == .float16 && x.float().bfloat16().dtype == .bfloat16)
        // float64 values are rounded through float32, as PyTorch's casts do.
        #expect(try Tensor([0.1], dtype: .float64).half().item() == Double(Float16(Float(0.1))))
    }

    /// Adam, three steps on `(p³).sum()`: PyTorch's parameters and last gradient.
    @Test(arguments: [
        (DType.float16, [0.2135009765625, -1.2998046875, 1.7021484375, -0.1414794921875], [0.276611328125, 4.31640625, 9.7265625, 0.013641357421875]),
        (DType.bfloat16, [0.212890625, -1.3046875, 1.6953125, -0.140625], [0.275390625, 4.34375, 9.6875, 0.013427734375]),
    ])
    func adamStepsMatchPyTorch(_ dtype: DType, parameters: [Double], grad: [Double]) throws {
        let p = try Tensor([0.5, -1.0, 2.0, 0.1], dtype: dtype, requiresGrad: true)
        let optimizer = try Adam([p], lr: 0.1)
        for _ in 0..<3 {
            try optimizer.zeroGrad()
            try withStep { try p.mul(p).mul(p).sum().backward() }
            try optimizer.step()
        }
        #expect(p.dtype == dtype && p.grad?.dtype == dtype)
        #expect(Self.close(p.scalars(), parameters, dtype), "\(p.scalars())")
        #expect(Self.close(try #require(p.grad).scalars(), grad, dtype))
    }

    /// A linear layer and cross entropy in each type: PyTorch's loss and gradients.
    @Test(arguments: [
        (DType.float16, 0.9658203125, [0.5927734375, 0.625, 1.0498046875, -0.59326171875, -0.625, -1.0498046875], [0.144287109375, -0.1441650390625]),
        (DType.bfloat16, 0.96484375, [0.59375, 0.62890625, 1.0546875, -0.59375, -0.625, -1.0546875], [0.1474609375, -0.1435546875]),
    ])
    func linearCrossEntropyMatchesPyTorch(_ dtype: DType, loss: Double, weightGrad: [Double], biasGrad: [Double]) throws {
        let layer = Linear(3, 2, dtype: dtype)
        try layer.loadStateDict(StateDict([
            StateDictEntry(name: "weight", tensor: Tensor([[0.1, -0.2, 0.3], [0.4, 0.5, -0.6]])),
            StateDictEntry(name: "bias", tensor: Tensor([0.01, -0.02])),
        ]))
        let x = try Tensor([[1.0, 2.0, 3.0], [-1.0, 0.5, 0.25]], dtype: dtype)
        let y = try crossEntropy(try layer(x), [1, 0])
        #expect(y.dtype == dtype)
        #expect(Self.close([try y.item()], [loss], dtype))
        try y.backward()
        #expect(Self.close(try #require(layer.weight.grad).scalars(), weightGrad, dtype))
        #expect(Self.close(try #require(layer.bias?.grad).scalars(), biasGrad, dtype))
    }

    /// Layer norm's backward in a 2-byte type is float64's, rounded (within two units in the
    /// last place of the gradient's largest element): each row is computed in float32 and
    /// rounded once. (PyTorch's own 2-byte kernel is less accurate here; see the differential
    /// reference's known differences.)
    @Test(arguments: [DType.float16, .bfloat16])
    func layerNormGradientIsFloat64sRounded(_ dtype: DType) throws {
        let values = (0..<12).map { Double($0 * 7 % 12) / 5 - 1 }, up = (0..<12).map { Double($0 * 5 % 12) / 6 - 1 }
        let x = try Tensor(values: values, shape: [4, 3], dtype: dtype, requiresGrad: true)
        let exact = try Tensor(values: x.scalars(), shape: [4, 3], dtype: .float64, requiresGrad: true)
        let w = try Tensor(values: [0.5, -1.25, 2], shape: [3], dtype: dtype)
        for (input, weight) in [(x, w), (exact, w.double())] {
            let y = try layerNorm(input, normalizedShape: [3], weight: weight)
            try y.backward(gradient: try Tensor(values: up, shape: [4, 3], dtype: input.dtype))
        }
        let got = try #require(x.grad).scalars(), want = try #require(exact.grad).scalars()
        let ulp = (dtype == .float16 ? 0x1p-10 : 0x1p-7) * (want.map(abs).max() ?? 0)
        #expect(zip(got, want).allSatisfy { abs($0 - $1) <= 2 * ulp }, "\(got) vs \(want)")
    }

    /// Sums accumulate in float32 (4096 ones in float16 are 4096, where float16 steps would
    /// stop at 2048) and round once.
    @Test func reductionsAccumulateInFloat32() throws {
        #expect(try Tensor.ones(4096, dtype: .float16).sum().item() == 4096)
        #expect(try Tensor.ones(4096, dtype: .bfloat16).sum().item() == 4096)
    }

    /// Every dtype goes through a safetensors file and back with its bytes.
    @Test func safeTensorsKeepEveryDType() throws {
        var entries: [StateDictEntry] = []
        for dtype in DType.allCases {
            let values = dtype == .bool ? [1.0, 0.0, 1.0] : [1.5, -2.0, 0.1].map { dtype.isFloatingPoint ? $0 : abs($0.rounded()) }
            entries.append(StateDictEntry(name: "\(dtype)", tensor: try Tensor(values: values, shape: [3], dtype: dtype)))
        }
        let loaded = try SafeTensors.load(data: try SafeTensors.encode(StateDict(entries)))
        for (a, b) in zip(entries, loaded.entries) {
            #expect(a.name == b.name && a.tensor.dtype == b.tensor.dtype && a.tensor.scalars() == b.tensor.scalars(), "\(a.name)")
        }
    }

    /// `safetensors.torch.save({"h": torch.tensor([1.0, -2.0], dtype=torch.float16),
    /// "b": torch.tensor([0.5], dtype=torch.bfloat16)})`, byte for byte.
    @Test func safeTensorsReadsWhatPythonWritesInTwoByteTypes() throws {
        let header = #"{"b":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]},"h":{"dtype":"F16","shape":[2],"data_offsets":[2,6]}}"#
        var bytes = Array(header.utf8)
        while bytes.count % 8 != 0 { bytes.append(0x20) }
        let file = withUnsafeBytes(of: UInt64(bytes.count).littleEndian) { Array($0) } + bytes + [0x00, 0x3F, 0x00, 0x3C, 0x00, 0xC0]
        let state = try SafeTensors.load(data: Data(file))
        #expect(state["b"]?.dtype == .bfloat16 && state["b"]?.scalars() == [0.5])
        #expect(state["h"]?.dtype == .float16 && state["h"]?.scalars() == [1, -2])
        #expect(try SafeTensors.encode(state) == Data(file))
    }
}
