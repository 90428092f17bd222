import Testing
@testable import TapeGrad

/// Scaled dot-product attention beyond the differential reference (which checks its values and
/// gradients over random shapes, masks and dtypes against PyTorch): the path PyTorch takes,
/// named by its nodes; the documented reference spelling; what a second derivative says; and
/// that a causal call makes no L×S tensor.
@Suite struct AttentionTests {
    static func operands(_ shapes: [[Int]], seed: UInt64 = 7) -> [Tensor] {
        manualSeed(seed)
        return shapes.map { Tensor.randn($0, dtype: .float64, requiresGrad: true) }
    }

    /// The node each spelling ends in, as PyTorch 2.15 prints it (`o.grad_fn`).
    @Test(arguments: [
        ([[2, 3, 5, 4], [2, 3, 6, 4], [2, 3, 6, 4]], 0.0, "ScaledDotProductFlashAttentionForCpuBackward0"),
        ([[3, 5, 4], [3, 6, 4], [3, 6, 4]], 0.0, "SqueezeBackward1"),
        ([[5, 4], [6, 4], [6, 4]], 0.0, "MmBackward0"),
        ([[2, 3, 5, 4], [2, 3, 6, 4], [2, 3, 6, 7]], 0.0, "UnsafeViewBackward0"),
        ([[2, 3, 5, 4], [2, 3, 6, 4], [2, 3, 6, 4]], 0.25, "UnsafeViewBackward0"),
    ])
    func nodeNames(_ shapes: [[Int]], _ dropoutP: Double, _ node: String) throws {
        let x = Self.operands(shapes)
        let out = try scaledDotProductAttention(x[0], x[1], x[2], dropoutP: dropoutP)
        #expect(out.gradFn?.name == node)
    }

    /// The reference implementation in PyTorch's documentation (an additive bias filled with
    /// −∞ above the diagonal, then softmax) and the fused causal op agree, values and gradients.
    @Test func documentedCausalSpellingMatchesFused() throws {
        let x = Self.operands([[2, 2, 5, 3], [2, 2, 5, 3], [2, 2, 5, 3]])
        let (L, S) = (5, 5)
        let bias = Tensor.zeros([L, S], dtype: .float64)
        let keep = try Tensor.ones([L, S], dtype: .bool).tril(0)
        _ = try bias.maskedFill_(keep.logicalNot(), -.infinity)
        let weights = try x[0].matmul(try x[1].transpose(-2, -1)).mul(1 / 3.0.squareRoot()).add(bias).softmax(dim: -1)
        let reference = try weights.matmul(x[2])
        let fused = try scaledDotProductAttention(x[0], x[1], x[2], isCausal: true)
        #expect(try (reference - fused).abs().max().item() < 1e-12)
        let g1 = try grad(of: reference.sum(), withRespectTo: x)
        let g2 = try grad(of: (fused * 1).sum(), withRespectTo: x)
        for i in 0..<3 { #expect(try (g1[i]! - g2[i]!).abs().max().item() < 1e-12) }
    }

    /// PyTorch's fused backward has no derivative: a second one fails with its message, and a
    /// second backward without `retainGraph` with autograd's.
    @Test func secondDerivativeAndSecondBackward() throws {
        let x = Self.operands([[1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4]])
        let out = try scaledDotProductAttention(x[0], x[1], x[2])
        let g = try grad(of: out.sum(), withRespectTo: [x[0]], createGraph: true)[0]!
        #expect(g.gradFn?.name == "NotImplemented")
        #expect(throws: TapeGradError.runtime("derivative for aten::_scaled_dot_product_flash_attention_for_cpu_backward is not implemented")) {
            try g.sum().backward()
        }
        let y = try scaledDotProductAttention(x[0], x[1], x[2])
        try y.sum().backward()
        #expect(throws: TapeGradError.runtime(Autograd.secondBackwardMessage)) { try y.sum().backward() }
    }

    /// A causal call on 256 queries keeps only its output and the rows' statistics: no
    /// 256×256 mask or score tensor is made.
    @Test func causalCallMakesNoSquareTensor() throws {
        let x = Self.operands([[1, 2, 256, 8], [1, 2, 256, 8], [1, 2, 256, 8]])
        try withStep {
            let before = engine.pointee.scopeSlots.count
            _ = try scaledDotProductAttention(x[0], x[1], x[2], isCausal: true)
            // The output's storage and its [B, H, L, E] view, and the statistics.
            #expect(engine.pointee.scopeSlots.count - before == 3)
        }
    }

    /// PyTorch's messages for bad arguments, in its order.
    @Test func errors() throws {
        let q = Tensor.randn([2, 3, 5, 4])
        let cases: [(() throws -> Tensor, String)] = [
            ({ try scaledDotProductAttention(q, q.to(.float64), q) }, "Expected query, key, and value to have the same dtype, but got query.dtype: float key.dtype: double and value.dtype: float instead."),
            ({ try scaledDotProductAttention(q, q, q, attnMask: Tensor.ones([5, 5], dtype: .int64)) }, "Expected attn_mask dtype to be bool or float or to match query dtype, but got attn_mask.dtype: long int and  query.dtype: float instead."),
            ({ try scaledDotProductAttention(q, q, q, attnMask: Tensor.ones([5, 5], dtype: .bool), isCausal: true) }, "_scaled_dot_product_attention: Explicit attn_mask should not be set when is_causal=True"),
            ({ try scaledDotProductAttention(q, q.slice(dim: 1, end: 2), q.slice(dim: 1, end: 2), enableGQA: true) }, "Number of heads in key and value must divide the number of heads in query"),
            ({ try scaledDotProductAttention(q, q, q, dropoutP: 1.5) }, "dropout probability has to be between 0 and 1, but got 1.5"),
            ({ try scaledDotProductAttention(q, q, q, attnMask: Tensor(1.0)) }, "Dimension specified as -2 but tensor has no dimensions"),
        ]
        for (call, message) in cases {
            let error = #expect(throws: TapeGradError.self) { try call() }
            #expect(error?.message == message)
        }
    }
}
