/// The table of recorded ops: each op's code and its one row (`OpCode.row`): PyTorch's name for
/// its backward node, what its backward reads, the vector-Jacobian product, and what a listing
/// shows. Adding an op means writing its forward and backward in one file of `Ops/` (or `NN/`)
/// and its row here; `OpTableTests` then checks it twice-differentiable.
enum OpCode: UInt8, BitwiseCopyable, Sendable, CaseIterable {
    case add, sub, mul, div
    case addScalar, subScalar, rsubScalar, mulScalar, divScalar, neg, reciprocal
    case powScalar, powTensor, sqrt, rsqrt, exp, log, tanh, sigmoid, relu, abs, sin, cos, erf, sign
    case clampMin, clampMax, clamp
    case sumAll, sumDims, meanAll, meanDims, maxAll, amax, maxDim, variance, standardDeviation, logsumexp, vectorNorm
    case mm, bmm, dot, mv
    case view, unsafeView, clone, t, transpose, permute, unsqueeze, squeeze, squeezeDim, squeezeDims, expand, asStrided
    case toDType
    case fill, zero, copy, copySlices, select, slice, selectBackward, sliceBackward, cat, stack, unique
    case `where`, maskedFill, maskedFillTensor, maskIndex, maskedSelect, indexPut, indexPutImpl, maskedScatter
    case indexSelect, indexAdd, indexRows, indexAccumulate, indexPutRows
    case floorDivide, remainder, remainderScalar, maximum, minimum, clampTensor, tril, triu
    case gather, scatterAdd, scatter, scatterValue, sort, topk
    case mseLoss
    case custom
    // MARK: Neural-network ops (NN/)
    case gelu, silu, softplus
    case softmax, safeSoftmax, logSoftmax, nllLoss, nllLoss2d, addmm, convolution, maxPool2d, avgPool2d, adaptiveAvgPool2d, nativeBatchNorm, nativeLayerNorm, embedding
    case convolutionBackwardInput, convolutionBackwardWeight, maxPool2dBackward, maxPool2dGather, avgPool2dBackward
    case adaptiveAvgPool2dBackward
    case scaledDotProductAttention, attentionBackward

    /// Everything the engine knows of this op: its one row of the table. The switch has no
    /// `default:`, so an op without a row does not compile.
    @inline(__always)
    var row: OpRow {
        switch self {
        // MARK: Arithmetic (Arithmetic.swift)
        case .add: OpRow("AddBackward0", saves: .nothing, ArithmeticBackward.add, listing: .none)
        case .sub: OpRow("SubBackward0", saves: .nothing, ArithmeticBackward.sub, listing: .none)
        case .mul: OpRow("MulBackward0", saves: .operands, ArithmeticBackward.mul, listing: .none)
        case .div: OpRow("DivBackward0", saves: .operands, ArithmeticBackward.div, listing: .none)
        case .addScalar: OpRow("AddBackward0", saves: .nothing, ArithmeticBackward.passThrough, listing: .other)
        case .subScalar: OpRow("SubBackward0", saves: .nothing, ArithmeticBackward.passThrough, listing: .otherNegated)
        case .rsubScalar: OpRow("RsubBackward1", saves: .nothing, ArithmeticBackward.negate, listing: .other)
        // PyTorch keeps the scalar of `x * 2` and `x / 2` as a saved value: a second backward fails.
        case .mulScalar: OpRow("MulBackward0", saves: .scalar, ArithmeticBackward.scale, listing: .other)
        case .divScalar: OpRow("DivBackward0", saves: .scalar, ArithmeticBackward.scale, listing: .otherReciprocal)
        case .neg: OpRow("NegBackward0", saves: .nothing, ArithmeticBackward.negate, listing: .none)
        case .reciprocal: OpRow("ReciprocalBackward0", saves: .result, ArithmeticBackward.reciprocal, listing: .none)
        // MARK: Elementwise functions (UnaryMath.swift)
        case .powScalar: OpRow("PowBackward0", saves: .a, UnaryMathBackward.powScalar, listing: .exponent)
        case .powTensor: OpRow("PowBackward1", saves: .all, UnaryMathBackward.powTensor, listing: .none)
        case .sqrt: OpRow("SqrtBackward0", saves: .result, UnaryMathBackward.sqrt, listing: .none)
        case .rsqrt: OpRow("RsqrtBackward0", saves: .result, UnaryMathBackward.rsqrt, listing: .none)
        case .exp: OpRow("ExpBackward0", saves: .result, UnaryMathBackward.exp, listing: .none)
        case .log: OpRow("LogBackward0", saves: .a, UnaryMathBackward.log, listing: .none)
        case .tanh: OpRow("TanhBackward0", saves: .result, UnaryMathBackward.tanh, listing: .none)
        case .sigmoid: OpRow("SigmoidBackward0", saves: .result, UnaryMathBackward.sigmoid, listing: .none)
        case .relu: OpRow("ReluBackward0", saves: .result, UnaryMathBackward.relu, listing: .none)
        case .abs: OpRow("AbsBackward0", saves: .a, UnaryMathBackward.abs, listing: .none)
        case .sin: OpRow("SinBackward0", saves: .a, UnaryMathBackward.sin, listing: .none)
        case .cos: OpRow("CosBackward0", saves: .a, UnaryMathBackward.cos, listing: .none)
        case .erf: OpRow("ErfBackward0", saves: .a, UnaryMathBackward.erf, listing: .none)
        case .sign: OpRow("SignBackward0", saves: .nothing, UnaryMathBackward.sign, listing: .none)
        case .clampMin: OpRow("ClampBackward1", saves: .a, UnaryMathBackward.clamp, listing: .min)
        case .clampMax: OpRow("ClampBackward1", saves: .a, UnaryMathBackward.clamp, listing: .max)
        case .clamp: OpRow("ClampBackward1", saves: .a, UnaryMathBackward.clamp, listing: .minMax)
        // MARK: Reductions (Reductions.swift)
        case .sumAll: OpRow("SumBackward0", saves: .nothing, ReductionBackward.sum, listing: .none)
        case .sumDims: OpRow("SumBackward1", saves: .nothing, ReductionBackward.sum, listing: .none)
        case .meanAll: OpRow("MeanBackward0", saves: .nothing, ReductionBackward.mean, listing: .none)
        case .meanDims: OpRow("MeanBackward1", saves: .nothing, ReductionBackward.mean, listing: .none)
        case .maxAll: OpRow("MaxBackward1", saves: .inputAndResult, ReductionBackward.max, listing: .none)
        case .amax: OpRow("AmaxBackward0", saves: .inputAndResult, ReductionBackward.max, listing: .none)
        case .maxDim: OpRow("MaxBackward0", saves: .other, ReductionBackward.maxDim, listing: .none)
        case .variance: OpRow("VarBackward0", saves: .a, StatisticsBackward.variance, listing: .none)
        case .standardDeviation: OpRow("StdBackward0", saves: .inputAndResult, StatisticsBackward.standardDeviation, listing: .none)
        case .logsumexp: OpRow("LogsumexpBackward0", saves: .inputAndResult, StatisticsBackward.logsumexp, listing: .none)
        case .vectorNorm: OpRow("LinalgVectorNormBackward0", saves: .inputAndResult, StatisticsBackward.vectorNorm, listing: .none)
        // MARK: Products (MatMul.swift)
        case .mm: OpRow("MmBackward0", saves: .operands, MatMulBackward.mm, listing: .none)
        case .bmm: OpRow("BmmBackward0", saves: .operands, MatMulBackward.bmm, listing: .none)
        case .dot: OpRow("DotBackward0", saves: .operands, MatMulBackward.dot, listing: .none)
        case .mv: OpRow("MvBackward0", saves: .operands, MatMulBackward.mv, listing: .none)
        // MARK: Views (Views.swift)
        case .view: OpRow("ViewBackward0", saves: .nothing, ViewBackward.reshape, listing: .none)
        case .unsafeView: OpRow("UnsafeViewBackward0", saves: .nothing, ViewBackward.reshape, listing: .none)
        case .clone: OpRow("CloneBackward0", saves: .nothing, ViewBackward.passThrough, listing: .none)
        case .t: OpRow("TBackward0", saves: .nothing, ViewBackward.t, listing: .none)
        case .transpose: OpRow("TransposeBackward0", saves: .nothing, ViewBackward.transpose, listing: .none)
        case .permute: OpRow("PermuteBackward0", saves: .nothing, ViewBackward.permute, listing: .none)
        case .unsqueeze: OpRow("UnsqueezeBackward0", saves: .nothing, ViewBackward.reshape, listing: .none)
        case .squeeze: OpRow("SqueezeBackward0", saves: .nothing, ViewBackward.reshape, listing: .none)
        case .squeezeDim: OpRow("SqueezeBackward1", saves: .nothing, ViewBackward.reshape, listing: .none)
        case .squeezeDims: OpRow("SqueezeBackward4", saves: .nothing, ViewBackward.reshape, listing: .none)
        case .expand: OpRow("ExpandBackward0", saves: .nothing, ViewBackward.expand, listing: .none)
        // A view whose base changed in place reads the base's new history (Tape.swift, AsStrided.swift).
        case .asStrided: OpRow("AsStridedBackward0", saves: .nothing, AsStridedBackward.asStrided, listing: .none)
        case .toDType: OpRow("ToCopyBackward0", saves: .nothing, CreationBackward.toDType, listing: .none)
        // MARK: In-place writes (InPlace.swift)
        case .fill: OpRow("FillBackward2", saves: .nothing, InPlaceBackward.overwrite, listing: .none)
        case .zero: OpRow("ZeroBackward0", saves: .nothing, InPlaceBackward.overwrite, listing: .none)
        case .copy: OpRow("CopyBackwards", saves: .nothing, InPlaceBackward.overwrite, listing: .none)
        case .copySlices: OpRow("CopySlices", saves: .cLayout, InPlaceBackward.copySlices, listing: .none)
        // MARK: Indexing (Indexing.swift) and selection (Selection.swift)
        case .select: OpRow("SelectBackward0", saves: .nothing, IndexingBackward.select, listing: .none)
        case .slice: OpRow("SliceBackward0", saves: .nothing, IndexingBackward.select, listing: .none)
        case .selectBackward: OpRow("SelectBackwardBackward0", saves: .nothing, IndexingBackward.selectBackward, listing: .none)
        case .sliceBackward: OpRow("SliceBackwardBackward0", saves: .nothing, IndexingBackward.selectBackward, listing: .none)
        case .cat: OpRow("CatBackward0", saves: .nothing, IndexingBackward.cat, listing: .none)
        // A stack is a cat of the inputs unsqueezed (Indexing.swift), named as PyTorch names it.
        case .stack: OpRow("StackBackward0", saves: .nothing, IndexingBackward.cat, listing: .none)
        case .where: OpRow("WhereBackward0", saves: .c, SelectionBackward.where, listing: .none)
        case .maskedFill: OpRow("MaskedFillBackward0", saves: .c, SelectionBackward.maskedFill, listing: .value)
        case .maskedFillTensor: OpRow("MaskedFillBackward1", saves: .c, SelectionBackward.maskedFill, listing: .none)
        case .maskIndex: OpRow("IndexBackward0", saves: .c, SelectionBackward.takeRows, listing: .none)
        // MARK: Division and extrema (Division.swift, Extrema.swift)
        // PyTorch's autograd has no formula for floor division: its node is `NotImplemented`.
        case .floorDivide: OpRow("NotImplemented", saves: .nothing, DivisionBackward.floorDivide, listing: .none)
        case .remainder: OpRow("RemainderBackward1", saves: .operands, DivisionBackward.remainder, listing: .none)
        case .remainderScalar: OpRow("RemainderBackward0", saves: .nothing, DivisionBackward.remainderScalar, listing: .none)
        case .maximum: OpRow("MaximumBackward0", saves: .operands, ExtremaBackward.maximum, listing: .none)
        case .minimum: OpRow("MinimumBackward0", saves: .operands, ExtremaBackward.minimum, listing: .none)
        case .clampTensor: OpRow("ClampBackward0", saves: .operandsAndC, ExtremaBackward.clamp, listing: .none)
        // MARK: Triangles (Triangles.swift)
        case .tril: OpRow("TrilBackward0", saves: .nothing, TriangleBackward.tril, listing: .none)
        case .triu: OpRow("TriuBackward0", saves: .nothing, TriangleBackward.triu, listing: .none)
        // MARK: Gather and scatter (GatherScatter.swift)
        case .gather: OpRow("GatherBackward0", saves: .c, GatherScatterBackward.gather, listing: .none)
        case .scatterAdd: OpRow("ScatterAddBackward0", saves: .c, GatherScatterBackward.scatterAdd, listing: .none)
        case .scatter: OpRow("ScatterBackward0", saves: .c, GatherScatterBackward.scatter, listing: .none)
        case .scatterValue: OpRow("ScatterBackward1", saves: .c, GatherScatterBackward.scatterValue, listing: .none)
        // MARK: Sorting (Sorting.swift)
        case .sort: OpRow("SortBackward0", saves: .c, SortingBackward.selection, listing: .none)
        case .topk: OpRow("TopkBackward0", saves: .c, SortingBackward.selection, listing: .none)
        // MARK: Integer indexing (IntegerIndexing.swift)
        case .indexSelect: OpRow("IndexSelectBackward0", saves: .c, IntegerIndexingBackward.indexSelect, listing: .none)
        case .indexAdd: OpRow("IndexAddBackward0", saves: .c, IntegerIndexingBackward.indexAdd, listing: .none)
        case .indexRows: OpRow("IndexBackward0", saves: .c, IntegerIndexingBackward.indexRows, listing: .none)
        case .indexPutRows: OpRow("IndexPutBackward0", saves: .c, IntegerIndexingBackward.indexPutRows, listing: .none)
        case .indexAccumulate: OpRow("IndexPutImplBackward0", saves: .c, IntegerIndexingBackward.indexAccumulate, listing: .none)
        case .maskedSelect: OpRow("MaskedSelectBackward0", saves: .c, SelectionBackward.takeRows, listing: .none)
        case .indexPut: OpRow("IndexPutBackward0", saves: .c, SelectionBackward.putRows, listing: .none)
        case .indexPutImpl: OpRow("IndexPutImplBackward0", saves: .c, SelectionBackward.putRows, listing: .none)
        case .maskedScatter: OpRow("MaskedScatterBackward0", saves: .c, SelectionBackward.putRows, listing: .none)
        case .unique: OpRow("Unique2Backward0", saves: .nothing, UniqueBackward.unique, listing: .none)
        // MARK: Losses and custom functions
        case .mseLoss: OpRow("MseLossBackward0", saves: .operands, LossBackward.mse, listing: .none)
        // A custom node's name and saved tensors are its own (`Record.nodeName`, CustomFunction.swift).
        case .custom: OpRow("CustomFunctionBackward", saves: .other, CustomNode.backward, listing: .none)
        // MARK: Neural-network ops (NN/)
        // Pointwise activations (PointwiseActivations.swift)
        case .gelu: OpRow("GeluBackward0", saves: .a, PointwiseBackward.gelu, listing: .none)
        case .silu: OpRow("SiluBackward0", saves: .a, PointwiseBackward.silu, listing: .none)
        case .softplus: OpRow("SoftplusBackward0", saves: .a, PointwiseBackward.softplus, listing: .none)
        case .softmax: OpRow("SoftmaxBackward0", saves: .result, ActivationBackward.softmax, listing: .none)
        case .safeSoftmax: OpRow("SafeSoftmaxBackward0", saves: .result, ActivationBackward.softmax, listing: .none)
        case .logSoftmax: OpRow("LogSoftmaxBackward0", saves: .result, ActivationBackward.logSoftmax, listing: .none)
        case .nllLoss: OpRow("NllLossBackward0", saves: .b, NLLLossBackward.nll, listing: .none)
        // Spatial classes (`[N, C, d…]`), recorded on the input with its classes moved last and
        // flattened to `[N·d…, C]`: the same backward.
        case .nllLoss2d: OpRow("NllLoss2DBackward0", saves: .b, NLLLossBackward.nll, listing: .none)
        case .addmm: OpRow("AddmmBackward0", saves: .operands, LinearBackward.addmm, listing: .none)
        case .convolution: OpRow("ConvolutionBackward0", saves: .operands, ConvolutionBackward.convolution, listing: .none)
        case .maxPool2d: OpRow("MaxPool2DWithIndicesBackward0", saves: .other, PoolingBackward.maxPool, listing: .none)
        case .avgPool2d: OpRow("AvgPool2DBackward0", saves: .nothing, PoolingBackward.avgPool, listing: .none)
        case .adaptiveAvgPool2d: OpRow("AdaptiveAvgPool2DBackward0", saves: .nothing, PoolingBackward.adaptiveAvgPool, listing: .none)
        case .nativeBatchNorm: OpRow("NativeBatchNormBackward0", saves: .operands, BatchNormBackward.batchNorm, listing: .none)
        case .scaledDotProductAttention: OpRow("ScaledDotProductFlashAttentionForCpuBackward0", saves: .allAndC, AttentionBackward.attention, listing: .none)
        case .attentionBackward: OpRow("NotImplemented", saves: .nothing, AttentionBackward.notImplemented, listing: .none)
        case .nativeLayerNorm: OpRow("NativeLayerNormBackward0", saves: .operands, LayerNormBackward.layerNorm, listing: .none)
        case .embedding: OpRow("EmbeddingBackward0", saves: .c, EmbeddingBackward.embedding, listing: .none)
        case .convolutionBackwardInput: OpRow("ConvolutionBackwardBackward0", saves: .operands, ConvolutionBackward.inputGradient, listing: .none)
        case .convolutionBackwardWeight: OpRow("ConvolutionBackwardBackward0", saves: .operands, ConvolutionBackward.weightGradient, listing: .none)
        case .maxPool2dBackward: OpRow("MaxPool2DWithIndicesBackwardBackward0", saves: .other, PoolingBackward.maxPoolBackward, listing: .none)
        case .maxPool2dGather: OpRow("GatherBackward0", saves: .other, PoolingBackward.maxPoolGather, listing: .none)
        case .avgPool2dBackward: OpRow("AvgPool2DBackwardBackward0", saves: .nothing, PoolingBackward.avgPoolBackward, listing: .none)
        case .adaptiveAvgPool2dBackward: OpRow("AdaptiveAvgPool2DBackwardBackward0", saves: .nothing, PoolingBackward.adaptiveAvgPoolBackward, listing: .none)
        }
    }
}

/// One row of the op table: what PyTorch calls the op's backward node, what its backward
/// reads, the vector-Jacobian product itself, and which scalar arguments a listing shows.
struct OpRow {
    /// PyTorch's class name for the backward node, e.g. `AddBackward0`.
    let name: StaticString
    /// The tensors of a record its backward reads.
    let saves: SavedValues
    /// The gradients of a record's operands, given the gradient of its result.
    let backward: (Record, Tensor) throws(TapeGradError) -> Gradients
    /// The scalar arguments a tape listing shows.
    let listing: ListedArguments

    @inline(__always)
    init(_ name: StaticString, saves: SavedValues, _ backward: @escaping (Record, Tensor) throws(TapeGradError) -> Gradients,
         listing: ListedArguments) {
        self.name = name
        self.saves = saves
        self.backward = backward
        self.listing = listing
    }
}

/// The scalar arguments of a record that a tape listing shows, under PyTorch's names.
enum ListedArguments {
    case none
    /// `other`: the `2` of `x + 2` (`s0`).
    case other
    /// `other` of `x - 2`, kept as `x + (-2)`.
    case otherNegated
    /// `other` of `x / 2`, kept as `x * (1/2)`.
    case otherReciprocal
    /// `exponent` (`s0`).
    case exponent
    /// `min` (`s0`), `max` (`s1`), or both.
    case min, max, minMax
    /// `value` of a masked fill (`s0`).
    case value
}

extension OpCode {
    /// PyTorch's class name for the backward node of this op.
    var gradFnName: String { row.name.description }

    /// The tensors of a record that its backward reads.
    @inline(__always)
    var savedValues: SavedValues { row.saves }
}

/// The gradients a record's backward sends to its operands (`.null`: none).
struct Gradients {
    var a: Tensor = .null
    var b: Tensor = .null
    var c: Tensor = .null
}

/// The tensors of a record that its backward reads.
struct SavedValues: OptionSet {
    let rawValue: UInt8
    static let a = SavedValues(rawValue: 1 << 0)
    static let b = SavedValues(rawValue: 1 << 1)
    static let result = SavedValues(rawValue: 1 << 2)
    // Spelled with raw values: an array literal of options allocates in unoptimised builds.
    static let nothing = SavedValues([])
    static let operands = SavedValues(rawValue: 0b011)
    static let inputAndResult = SavedValues(rawValue: 0b101)
    static let all = SavedValues(rawValue: 0b111)
    /// Values the record keeps that no user holds (a mask, a custom node's context): no
    /// version to check, but gone once the record is released.
    static let other = SavedValues(rawValue: 0b1000)
    /// Operand `c` is a saved value (a mask, a condition), not an operand that gets a gradient.
    static let c = SavedValues(rawValue: 1 << 4)
    /// A scalar PyTorch keeps as a saved value (`x * 2`): nothing to version-check, but a
    /// second backward without `retainGraph` fails as in PyTorch.
    static let scalar = SavedValues(rawValue: 1 << 5)
    /// Operand `c` is a view whose layout (not values) the backward reads (CopySlices).
    static let cLayout = SavedValues(rawValue: 1 << 6)
    /// Operand `c` gets a gradient and its values are read by the backward (version-checked).
    static let cOperand = SavedValues(rawValue: 1 << 7)
    /// `a`, `b` and an operand `c`, all read by the backward (clamp between tensors).
    static let operandsAndC = SavedValues(rawValue: 0b1000_0011)
    /// `a`, `b`, an operand `c` and the result (attention).
    static let allAndC = SavedValues(rawValue: 0b1000_0111)

    /// Whether `c` is a value the record keeps rather than an operand.
    var keepsC: Bool { contains(.c) || contains(.cLayout) }
}

extension Record {
    /// PyTorch's name for this record's node (a custom function's is its type's name + `Backward`).
    var nodeName: String {
        op == .custom ? engine.pointee.customNodes[Int(dims)].name : op.gradFnName
    }

    /// The node's name as PyTorch's version-counter error spells it: `Add` for `AddBackward0`,
    /// `Clamp1` for `ClampBackward1`, `DoubleInPlace` for `DoubleInPlaceBackward`,
    /// `torch::autograd::CopySlices`.
    var errorName: String {
        if op == .copySlices { return "torch::autograd::CopySlices" }
        let name = nodeName
        guard let start = name.firstRange(of: "Backward") else { return name }
        let suffix = name[start.upperBound...]
        return String(name[..<start.lowerBound]) + (suffix == "0" ? "" : String(suffix))
    }
}
