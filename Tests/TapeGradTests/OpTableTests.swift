import Testing
@testable import TapeGrad

/// Every op of the op table, differentiated once and twice. `samples(for:)` switches over
/// `OpCode` with no `default:`, so an op added to the table does not compile here until it has
/// samples; each sample must put its op on the tape, and then passes `gradcheck` and
/// `gradgradcheck` in float64 (or, for an op PyTorch differentiates no further, throws
/// PyTorch's error).
@Suite struct OpTableTests {
    /// One way to reach an op: the shapes and value range of its float64 inputs and the
    /// computation, which must record the op.
    struct Sample: Sendable {
        var shapes: [[Int]]
        var low = -1.0, high = 1.0
        /// Finite-difference step and tolerance (a float32 round trip needs a coarser step).
        var eps = 1e-6, atol = 1e-5
        /// `nil`: differentiable twice. Else the error a backward throws.
        var error: String? = nil
        /// For an op PyTorch differentiates once: the error of its second derivative.
        var twiceError: String? = nil
        var body: @Sendable ([Tensor]) throws -> Tensor
    }

    static func sample(_ shapes: [[Int]], low: Double = -1, high: Double = 1, eps: Double = 1e-6, atol: Double = 1e-5,
                       error: String? = nil, twiceError: String? = nil, _ body: @escaping @Sendable ([Tensor]) throws -> Tensor) -> Sample {
        Sample(shapes: shapes, low: low, high: high, eps: eps, atol: atol, error: error, twiceError: twiceError, body: body)
    }

    /// The gradient of `f` at its inputs with `createGraph`, against a fixed output gradient:
    /// reaches the ops that only backward records.
    static func gradient(_ f: @escaping @Sendable ([Tensor]) throws -> Tensor) -> @Sendable ([Tensor]) throws -> Tensor {
        { xs in
            // Recorded even where gradcheck evaluates without grad mode; squared, so the
            // gradient reaching the op's backward requires grad itself.
            try enableGrad { () throws -> Tensor in
                let y = try f(xs) * f(xs)
                let weights = try Tensor(values: (0..<y.count).map { 0.5 + 0.1 * Double($0 % 7) }, shape: y.shape, dtype: .float64)
                return try grad(of: (y * weights).sum(), withRespectTo: [xs[0]], createGraph: true)[0]!
            }
        }
    }

    // swiftlint:disable:next cyclomatic_complexity function_body_length
    static func samples(for op: OpCode) -> [Sample] {
        switch op {
        case .add: [sample([[3, 4], [4]]) { try $0[0].add($0[1]) }, sample([[2, 3], []]) { try $0[0].add($0[1]) }]
        case .sub: [sample([[3, 1], [1, 4]]) { try $0[0].sub($0[1]) }, sample([[], [2]]) { try $0[0].sub($0[1]) }]
        case .mul: [sample([[2, 3, 4], [3, 1]]) { try $0[0].mul($0[1]) }, sample([[3], []]) { try $0[0].mul($0[1]) }]
        case .div: [sample([[3, 4], [4]]) { try $0[0].div($0[1] * $0[1] + 1) }, sample([[], [3]]) { try $0[0].div($0[1] + 2) }]
        case .addScalar: [sample([[3, 4]]) { $0[0] + 2 }]
        case .subScalar: [sample([[3, 4]]) { $0[0] - 2 }]
        case .rsubScalar: [sample([[3, 4]]) { 1 - $0[0] }]
        case .mulScalar: [sample([[3, 4]]) { $0[0] * 3 }, sample([[]]) { $0[0] * 3 }]
        case .divScalar: [sample([[3, 4]]) { $0[0] / 4 }]
        case .neg: [sample([[3, 4]]) { -$0[0] }]
        case .reciprocal: [sample([[3, 4]], low: 0.5, high: 2) { $0[0].reciprocal() }]
        case .powScalar: [sample([[3, 4]]) { $0[0].pow(3) }, sample([[3, 4]]) { $0[0].pow(2) },
                          sample([[2, 2]], low: 0.5, high: 2) { $0[0].pow(-1.5) }]
        case .powTensor: [sample([[3, 4], [3, 4]]) { try ($0[0] * $0[0] + 0.5).pow($0[1]) },
                          sample([[3, 4], []], low: 0.5, high: 1.5) { try $0[0].pow($0[1]) }]
        case .sqrt: [sample([[3, 4]], low: 0.5, high: 2) { $0[0].sqrt() }]
        case .exp: [sample([[3, 4]]) { $0[0].exp() }]
        case .log: [sample([[3, 4]], low: 0.5, high: 2) { $0[0].log() }]
        case .tanh: [sample([[3, 4]]) { $0[0].tanh() }]
        case .sigmoid: [sample([[3, 4]]) { $0[0].sigmoid() }]
        case .relu: [sample([[3, 4]], low: 0.1, high: 1) { try $0[0].relu() * $0[0] }]
        case .abs: [sample([[3, 4]], low: 0.1, high: 1) { try $0[0].abs() * $0[0] }]
        case .sin: [sample([[3, 4]]) { $0[0].sin() }]
        case .cos: [sample([[3, 4]]) { $0[0].cos() }]
        case .erf: [sample([[3, 4]]) { $0[0].erf() }]
        case .rsqrt: [sample([[3, 4]], low: 0.5, high: 2) { $0[0].rsqrt() }]
        case .variance: [sample([[3, 4]]) { try $0[0].var() }, sample([[3, 4]]) { try $0[0].var(dim: 1, correction: 0, keepDim: true) }]
        case .standardDeviation: [sample([[3, 4]]) { try $0[0].std(dims: [0]) }]
        case .vectorNorm: [sample([[3, 4]]) { try $0[0].vectorNorm() }, sample([[3, 4]]) { try $0[0].vectorNorm(order: 3, dims: [1], keepDim: true) },
                           sample([[3, 4]]) { try $0[0].vectorNorm(order: 1, dims: [0]) }, sample([[3, 4]]) { try $0[0].vectorNorm(order: .infinity, dims: [1]) },
                           sample([[3, 4]], low: 0.2, high: 1) { try $0[0].vectorNorm(order: 0.5) }]
        case .logsumexp: [sample([[3, 4]]) { try $0[0].logsumexp(dim: 1) }, sample([[3, 4]]) { try $0[0].logsumexp(dims: [0, 1], keepDim: true) }]
        case .gelu: [sample([[3, 4]], low: -3, high: 3) { try gelu($0[0]) },
                     sample([[3, 4]], low: -3, high: 3) { try gelu($0[0], approximate: "tanh") }]
        case .silu: [sample([[3, 4]], low: -3, high: 3) { try silu($0[0]) }]
        case .softplus: [sample([[3, 4]], low: -3, high: 3) { try softplus($0[0]) },
                         sample([[3, 4]], low: -3, high: 3) { try softplus($0[0], beta: 2, threshold: 25) }]
        case .sign: [sample([[3, 4]]) { $0[0].sign() * $0[0] }]
        case .clampMin: [sample([[3, 4]]) { $0[0].clamp(min: -0.5) * $0[0] }]
        case .clampMax: [sample([[3, 4]]) { $0[0].clamp(max: 0.5) * $0[0] }]
        case .clamp: [sample([[3, 4]]) { $0[0].clamp(min: -0.5, max: 0.5) * $0[0] }]
        case .sumAll: [sample([[3, 4]]) { ($0[0] * $0[0]).sum() }, sample([[]]) { ($0[0] * $0[0]).sum() }]
        case .sumDims: [sample([[2, 3, 4]]) { try ($0[0] * $0[0]).sum(dims: [0, 2], keepDim: true) }]
        case .meanAll: [sample([[3, 4]]) { try ($0[0] * $0[0]).mean() }]
        case .meanDims: [sample([[3, 4]]) { try ($0[0] * $0[0]).mean(dim: 1) }]
        case .maxAll: [sample([[3, 4]]) { try ($0[0] * $0[0]).max() }]
        case .amax: [sample([[3, 4]]) { try ($0[0] * $0[0]).amax(dim: 1, keepDim: true) }]
        case .maxDim: [sample([[3, 4]]) { try ($0[0] * $0[0]).max(dim: 1).values }]
        case .mm: [sample([[3, 4], [4, 2]]) { try $0[0].mm($0[1]) }]
        case .bmm: [sample([[2, 3, 4], [2, 4, 2]]) { try $0[0].bmm($0[1]) }]
        case .dot: [sample([[4], [4]]) { try $0[0].matmul($0[1]) }]
        case .mv: [sample([[3, 4], [4]]) { try $0[0].matmul($0[1]) }]
        case .view: [sample([[3, 4]]) { try ($0[0] * $0[0]).view(4, 3) }]
        case .unsafeView: [sample([[3, 4]]) { try ($0[0] * $0[0]).t().reshape(12) }]
        case .clone: [sample([[3, 4]]) { ($0[0] * $0[0]).clone() }]
        case .t: [sample([[3, 4]]) { try ($0[0] * $0[0]).t() }]
        case .transpose: [sample([[2, 3, 4]]) { try ($0[0] * $0[0]).transpose(0, 2) }]
        case .permute: [sample([[2, 3, 4]]) { try ($0[0] * $0[0]).permute(2, 0, 1) }]
        case .unsqueeze: [sample([[3, 4]]) { try ($0[0] * $0[0]).unsqueeze(1) }]
        case .squeeze: [sample([[3, 1, 4]]) { ($0[0] * $0[0]).squeeze() }]
        case .squeezeDim: [sample([[3, 1, 4]]) { try ($0[0] * $0[0]).squeeze(1) }]
        case .squeezeDims: [sample([[4], [4, 3]]) { try $0[0].matmul($0[1]) }]
        case .expand: [sample([[3, 1]]) { try ($0[0] * $0[0]).expand(2, 3, 4) }]
        case .asStrided: [sample([[3, 4]]) { xs in
            let y = xs[0] * xs[0]
            let v = y[1...]
            try y.mul_(xs[0])
            return v * v
        }]
        case .toDType: [sample([[3, 4]], eps: 1e-2, atol: 1e-3) { ($0[0] * $0[0]).to(.float32).to(.float64) }]
        case .fill: [sample([[3, 4]]) { xs in let y = xs[0] * xs[0]; try y.fill_(2); return y * xs[0] }]
        case .zero: [sample([[3, 4]]) { xs in let y = xs[0] * xs[0]; try y.zero_(); return y + xs[0] * xs[0] }]
        case .copy: [sample([[3, 4], [4]]) { xs in let y = xs[0] * xs[0]; try y.copy_(xs[1] * xs[1]); return y * xs[0] }]
        case .copySlices: [sample([[3, 4], [4]]) { xs in let y = xs[0] * xs[0]; try y.setItem(1, to: xs[1] * xs[1]); return y * xs[0] }]
        case .select: [sample([[3, 4]]) { ($0[0] * $0[0])[1] }, sample([[3, 4]]) { try ($0[0] * $0[0]).select(dim: 1, index: -1) }]
        case .slice: [sample([[3, 4]]) { ($0[0] * $0[0])[.all, 1..<3] }, sample([[5, 3]]) { ($0[0] * $0[0])[.slice(1, 4, step: 2)] }]
        case .selectBackward: [sample([[3, 4]], gradient { ($0[0] * $0[0])[1] })]
        case .sliceBackward: [sample([[3, 4]], gradient { ($0[0] * $0[0])[.all, 1..<3] })]
        case .stack: [sample([[2, 3], [2, 3]]) { try Tensor.stack([$0[0] * $0[0], $0[1]], dim: 1) },
                      sample([[3], [3]]) { try Tensor.stack([$0[0], $0[1], $0[0] * $0[1], $0[1] * $0[1]]) }]
        case .cat: [sample([[2, 3], [1, 3], [2, 3]]) { try Tensor.cat([$0[0] * $0[0], $0[1], $0[2] * $0[0]], dim: 0) }]
        case .where: [sample([[3, 4], [4]]) { try Tensor.where($0[0] > 0, $0[0] * $0[0], $0[1]) },
                      sample([[3, 4]]) { try Tensor.where($0[0] > 0, $0[0] * $0[0], -.infinity).clamp(min: -1) }]
        case .maskedFill: [sample([[3, 4]]) { try ($0[0] * $0[0]).maskedFill($0[0] > 0, -.infinity).clamp(min: -1) }]
        case .maskedFillTensor: [sample([[3, 4], []]) { try ($0[0] * $0[0]).maskedFill($0[0] > 0, $0[1] * $0[1]) }]
        case .maskIndex: [sample([[3, 4]]) { xs in try (xs[0] * xs[0]).index(mask: Tensor([true, false, true])) }]
        // Repeated positions, so that gradients add up.
        case .floorDivide: [sample([[3, 4], [4]], error: "derivative for aten::floor_divide is not implemented") { try $0[0].floorDivide($0[1] * $0[1] + 0.5) }]
        // Away from the kinks (multiples of the divisor), the remainder is smooth.
        case .remainder: [sample([[3, 4], [4]], low: 0.1, high: 0.4) { try ($0[0] + 1).remainder($0[1] + 0.6) }]
        case .remainderScalar: [sample([[3, 4]], low: 0.1, high: 0.9) { try ($0[0] * $0[0]).remainder(1.5) }]
        case .maximum: [sample([[3, 4], [4]]) { try ($0[0] * $0[0]).maximum($0[1]) }]
        case .clampTensor: [
            sample([[3, 4], [4]]) { try $0[0].clamp(min: $0[1]) },
            sample([[3, 4], [3, 1]]) { try $0[0].clamp(max: $0[1]) },
            sample([[3, 4], [4], [3, 1]]) { try $0[0].clamp(min: $0[1] - 0.5, max: $0[2] + 0.5) },
        ]
        case .minimum: [sample([[3, 4], []]) { try ($0[0] * $0[0]).minimum($0[1]) }]
        case .tril: [sample([[2, 3, 4]]) { try ($0[0] * $0[0]).tril(1) }]
        case .triu: [sample([[3, 4]]) { try ($0[0] * $0[0]).triu(-1) }]
        case .gather: [sample([[3, 4]]) { try ($0[0] * $0[0]).gather(dim: 1, Tensor([[3, 0], [1, 1], [2, 3]])) }]
        case .scatterAdd: [sample([[3, 4], [2, 2]]) { try ($0[0] * $0[0]).scatterAdd(dim: 1, Tensor([[3, 3], [0, 1]]), $0[1] * $0[1]) }]
        case .scatter: [sample([[3, 4], [2, 2]]) { try ($0[0] * $0[0]).scatter(dim: 0, Tensor([[2, 0], [0, 1]]), $0[1] * $0[1]) }]
        case .scatterValue: [sample([[3, 4]]) { try ($0[0] * $0[0]).scatter(dim: 1, Tensor([[3], [0], [1]]), 0.5) }]
        case .sort: [sample([[3, 4]]) { try ($0[0] * $0[0]).sort(dim: 1, descending: true).values * Tensor([1.0, 2, 3, 4], dtype: .float64) }]
        case .topk: [sample([[3, 4]]) { try ($0[0] * $0[0]).topk(2, dim: 0).values * Tensor([[1.0], [2]], dtype: .float64) }]
        case .indexSelect: [sample([[3, 4]]) { try ($0[0] * $0[0]).indexSelect(dim: 1, Tensor([3, 0, 3])) },
                            sample([[]]) { try ($0[0] * $0[0]).indexSelect(dim: 0, Tensor(0)) }]
        case .indexAdd: [sample([[3, 4], [2, 4]]) { try ($0[0] * $0[0]).indexAdd(dim: 0, Tensor([2, 2]), $0[1] * $0[1]) },
                         sample([[3, 4], [3, 1]]) { try $0[0].indexAdd(dim: 1, Tensor([1]), $0[1] * $0[0].sum()) }]
        case .indexRows: [sample([[3, 2]]) { try ($0[0] * $0[0]).index(Tensor([[0, -1], [2, 0]])) }]
        case .indexPutRows: [sample([[3, 2], [2]]) { try ($0[0] * $0[0]).indexPut(indices: Tensor([0, 2, 0]), $0[1] * $0[1], accumulate: true) },
                             sample([[3, 2], [2, 2]]) { try ($0[0] * $0[0]).indexPut(indices: Tensor([2, 0]), $0[1] * $0[1]) }]
        case .indexAccumulate: [sample([[3, 2]], gradient { try ($0[0] * $0[0]).index(Tensor([[0, -1], [2, 0]])) })]
        case .maskedSelect: [sample([[3, 4]]) { try ($0[0] * $0[0]).maskedSelect($0[0] > 0) }]
        case .indexPut: [sample([[3, 4], [4]]) { xs in
            let y = xs[0] * xs[0]
            try y.indexPut_(mask: Tensor([true, false, true]), xs[1] * xs[1])
            return y * xs[0]
        }]
        case .indexPutImpl: [sample([[3, 4]], gradient { try ($0[0] * $0[0]).index(mask: Tensor([true, false, true])) })]
        case .maskedScatter: [sample([[3, 4]], gradient { try ($0[0] * $0[0]).maskedSelect($0[0] > 0) })]
        case .unique: [sample([[3, 4]], error: "the derivative for 'unique' is not implemented.") { $0[0].unique() }]
        case .mseLoss: [sample([[3, 4], [3, 4]]) { try mseLoss($0[0] * $0[0], $0[1]) }]
        case .custom: [sample([[3, 4]]) { try CubeFunction.apply($0[0]) }]
        case .softmax: [sample([[3, 4]]) { try $0[0].softmax(dim: 1) }]
        case .safeSoftmax: [sample([[3, 4]]) { try $0[0].safeSoftmax(dim: 1) },
                            sample([[3, 4]]) { try $0[0].maskedFill(Tensor([[false, false, false, false], [true, true, true, true], [false, true, false, false]]), -.infinity).safeSoftmax(dim: 1) }]
        case .scaledDotProductAttention: Self.attentionSamples.map { body in sample([[2, 2, 3, 4], [2, 2, 5, 4], [2, 2, 5, 4]], twiceError: Self.attentionTwice, body) }
            + [sample([[3, 3, 4], [3, 3, 4], [3, 3, 4]], twiceError: Self.attentionTwice) { try scaledDotProductAttention($0[0], $0[1], $0[2], isCausal: true) },
               sample([[1, 4, 3, 2], [1, 2, 5, 2], [1, 2, 5, 2]], twiceError: Self.attentionTwice) { try scaledDotProductAttention($0[0], $0[1], $0[2], enableGQA: true) }]
        case .attentionBackward: [sample([[1, 2, 3, 4], [1, 2, 5, 4], [1, 2, 5, 4]], error: Self.attentionTwice,
                                         gradient { try scaledDotProductAttention($0[0], $0[1], $0[2]) })]
        case .logSoftmax: [sample([[3, 4]]) { try $0[0].logSoftmax(dim: 0) }]
        case .nllLoss: [sample([[3, 4]]) { try nllLoss(($0[0] * $0[0]).logSoftmax(dim: 1), [1, 0, 3]) }]
        case .nllLoss2d: [sample([[2, 3, 2]]) { x in
            try nllLoss((x[0] * x[0]).logSoftmax(dim: 1), Tensor([[0, 2], [1, 1]])) }]
        case .addmm: [sample([[3, 4], [2, 4], [2]]) { try linear($0[0], weight: $0[1], bias: $0[2]) }]
        case .convolution: [sample([[1, 2, 4, 4], [3, 2, 3, 3], [3]]) { try conv2d($0[0], weight: $0[1], bias: $0[2], padding: 1) },
                            sample([[1, 2, 5, 5], [2, 2, 3, 3]]) { try conv2d($0[0], weight: $0[1], stride: 2) }]
        case .maxPool2d: [sample([[1, 2, 4, 4]]) { try maxPool2d($0[0] * $0[0], kernelSize: 2) }]
        case .avgPool2d: [sample([[1, 2, 4, 4]]) { try avgPool2d($0[0] * $0[0], kernelSize: 2) }]
        case .adaptiveAvgPool2d: [sample([[1, 2, 5, 5]]) { try adaptiveAvgPool2d($0[0] * $0[0], outputSize: 3) }]
        case .nativeBatchNorm: [sample([[4, 2, 3, 3], [2], [2]]) {
            try batchNorm($0[0], runningMean: nil, runningVar: nil, weight: $0[1], bias: $0[2], training: true)
        }]
        case .nativeLayerNorm: [
            sample([[2, 3, 4], [4], [4]]) { try layerNorm($0[0], normalizedShape: [4], weight: $0[1], bias: $0[2]) },
            sample([[2, 3, 4]]) { try layerNorm($0[0], normalizedShape: [3, 4]) },
        ]
        // (A padding row that the ids use has gradient zero by definition, not by the forward:
        // finite differences cannot check it, so the padded sample pads a row no id reads.)
        case .embedding: [sample([[5, 3]]) { try embedding(Tensor([[1, 4], [1, 0]]), weight: $0[0] * $0[0]) },
                          sample([[5, 3]]) { try embedding(Tensor([[1, 4], [1, 0]]), weight: $0[0] * $0[0], paddingIdx: 2) }]
        case .convolutionBackwardInput: [sample([[1, 2, 4, 4], [3, 2, 3, 3]], gradient { try conv2d($0[0] * $0[0], weight: $0[1], padding: 1) })]
        case .convolutionBackwardWeight: [sample([[3, 2, 3, 3], [1, 2, 4, 4]], gradient { try conv2d($0[1], weight: $0[0] * $0[0], padding: 1) })]
        case .maxPool2dBackward: [sample([[1, 2, 4, 4]], gradient { try maxPool2d($0[0] * $0[0], kernelSize: 2) })]
        case .maxPool2dGather: [sample([[1, 2, 4, 4]], gradient(gradient { try maxPool2d($0[0] * $0[0], kernelSize: 2) }))]
        case .avgPool2dBackward: [sample([[1, 2, 4, 4]], gradient { try avgPool2d($0[0] * $0[0], kernelSize: 2) })]
        case .adaptiveAvgPool2dBackward: [sample([[1, 2, 5, 5]], gradient { try adaptiveAvgPool2d($0[0] * $0[0], outputSize: 3) })]
        }
    }

    /// PyTorch's error for differentiating its fused attention's backward.
    static let attentionTwice = "derivative for aten::_scaled_dot_product_flash_attention_for_cpu_backward is not implemented"

    /// Fused attention on `[2, 2, 3, 4]` queries and `[2, 2, 5, 4]` keys and values: plain,
    /// causal, with a bool mask (a row masked everywhere), a float mask, a scale, keys of one
    /// head and batch broadcast, and strided operands.
    static let attentionSamples: [@Sendable ([Tensor]) throws -> Tensor] = [
        { try scaledDotProductAttention($0[0], $0[1], $0[2]) },
        { try scaledDotProductAttention($0[0], $0[1], $0[2], isCausal: true) },
        { try scaledDotProductAttention($0[0], $0[1], $0[2], attnMask: Tensor([[true, false, true, true, false], [false, false, false, false, false], [true, true, true, true, true]])) },
        { try scaledDotProductAttention($0[0], $0[1], $0[2], attnMask: Tensor.arange(0.0, 15.0, dtype: .float64).view(3, 5).mul(0.1)) },
        { try scaledDotProductAttention($0[0], $0[1], $0[2], scale: -0.7) },
        { try scaledDotProductAttention($0[0], $0[1].slice(dim: 0, end: 1).slice(dim: 1, end: 1), $0[2].slice(dim: 0, end: 1).slice(dim: 1, end: 1)) },
        { try scaledDotProductAttention($0[0].transpose(1, 2).contiguous().transpose(1, 2), $0[1].transpose(0, 1).contiguous().transpose(0, 1), $0[2]) },
    ]

    static let cases: [(OpCode, Int)] = OpCode.allCases.flatMap { op in samples(for: op).indices.map { (op, $0) } }

    /// Inputs of the given shapes with distinct values from `low` to `high`, requiring grad.
    static func inputs(_ sample: Sample, seed: UInt64) -> [Tensor] {
        var generator = RandomGenerator(seed: seed)
        return sample.shapes.map { shape in
            let values = (0..<shape.reduce(1, *)).map { _ in sample.low + (sample.high - sample.low) * generator.nextUniform() }
            return try! Tensor(values: values, shape: shape, dtype: .float64, requiresGrad: true)
        }
    }

    @Test func everyOpHasASample() {
        for op in OpCode.allCases { #expect(!Self.samples(for: op).isEmpty, "\(op)") }
    }

    @Test(arguments: cases.indices)
    func differentiableTwice(_ index: Int) throws {
        let (op, k) = Self.cases[index]
        do { try check(op, k, index) } catch { Issue.record("\(op) sample \(k): \(error)") }
    }

    func check(_ op: OpCode, _ k: Int, _ index: Int) throws {
        let sample = Self.samples(for: op)[k]
        let x = Self.inputs(sample, seed: UInt64(index + 1))
        // The sample reaches its op.
        try withStep {
            let start = engine.pointee.tape.count
            _ = try sample.body(x)
            let recorded = (start..<engine.pointee.tape.count).contains { engine.pointee.tape[$0].op == op }
            #expect(recorded, "sample \(k) of \(op) does not record \(op)")
        }
        if let message = sample.error {
            let error = #expect(throws: TapeGradError.self, "\(op)") {
                try withStep { try sample.body(x).sum().backward() }
            }
            #expect(error?.message == message, "\(op)")
            return
        }
        let once = try withStep { () throws -> Bool in try gradcheck(sample.body, inputs: x, eps: sample.eps, atol: sample.atol) }
        #expect(once, "\(op) once")
        if let message = sample.twiceError {
            let error = #expect(throws: TapeGradError.self, "\(op)") {
                try withStep { _ = try gradgradcheck(sample.body, inputs: x, eps: sample.eps, atol: sample.atol) }
            }
            #expect(error?.message == message, "\(op)")
            return
        }
        let twice = try withStep { () throws -> Bool in try gradgradcheck(sample.body, inputs: x, eps: sample.eps, atol: sample.atol) }
        #expect(twice, "\(op) twice")
    }

    @Test func everyRowNamesAPyTorchNode() {
        for op in OpCode.allCases {
            let name = op.gradFnName
            // (`NotImplemented` is PyTorch's node for an op without a derivative: floor division.)
            #expect(name.contains("Backward") || name == "CopySlices" || name == "NotImplemented", "\(op): \(name)")
            // Only ops that keep a value have something a second backward could miss.
            if op.savedValues.contains(.c) { #expect(op.savedValues.keepsC) }
        }
    }
}

/// x³ with a backward written in ops, so it differentiates twice.
enum CubeFunction: Function {
    static func forward(_ ctx: FunctionContext, _ input: Tensor) throws -> Tensor {
        ctx.saveForBackward(input)
        return input * input * input
    }

    static func backward(_ ctx: FunctionContext, _ gradOutput: Tensor) throws -> Tensor? {
        let x = ctx.savedTensors[0]
        return gradOutput * x * x * 3
    }
}
