/// The table of recorded ops: each op's code, PyTorch's name for its backward node, and the
/// function that computes its vector-Jacobian product. Adding an op means writing its forward
/// and backward in one file of `Ops/` and adding one row to each switch here.
enum OpCode: UInt8, BitwiseCopyable, Sendable {
    case add, sub, mul, div
    case addScalar, subScalar, rsubScalar, mulScalar, divScalar, neg, reciprocal
    case powScalar, powTensor, sqrt, exp, log, tanh, sigmoid, relu, abs, sin, cos
    case clampMin, clampMax, clamp
    case sumAll, sumDims, meanAll, meanDims, maxAll, amax, maxDim
    case mm, bmm
    case view, unsafeView, clone, t, transpose, permute, unsqueeze, squeeze, squeezeDim, expand
    case toDType
    case fill, zero, copy, copySlices, select, slice, maskedSelect, maskedFill, maskedFillTensor, indexPut, cat, unique
    case mseLoss
    case custom
    // MARK: Neural-network ops (NN/)
    case softmax, logSoftmax, nllLoss, addmm, convolution, maxPool2d, avgPool2d, adaptiveAvgPool2d, nativeBatchNorm
    case convolutionBackwardInput, convolutionBackwardWeight, maxPool2dBackward, maxPool2dGather, avgPool2dBackward
    case adaptiveAvgPool2dBackward

    /// PyTorch's class name for the backward node of this op.
    var gradFnName: String {
        switch self {
        case .add, .addScalar: "AddBackward0"
        case .sub, .subScalar: "SubBackward0"
        case .rsubScalar: "RsubBackward1"
        case .mul, .mulScalar: "MulBackward0"
        case .div, .divScalar: "DivBackward0"
        case .neg: "NegBackward0"
        case .reciprocal: "ReciprocalBackward0"
        case .powScalar: "PowBackward0"
        case .powTensor: "PowBackward1"
        case .sqrt: "SqrtBackward0"
        case .exp: "ExpBackward0"
        case .log: "LogBackward0"
        case .tanh: "TanhBackward0"
        case .sigmoid: "SigmoidBackward0"
        case .relu: "ReluBackward0"
        case .abs: "AbsBackward0"
        case .sin: "SinBackward0"
        case .cos: "CosBackward0"
        case .clampMin, .clampMax, .clamp: "ClampBackward1"
        case .sumAll: "SumBackward0"
        case .sumDims: "SumBackward1"
        case .meanAll: "MeanBackward0"
        case .meanDims: "MeanBackward1"
        case .maxAll: "MaxBackward1"
        case .amax: "AmaxBackward0"
        case .maxDim: "MaxBackward0"
        case .mm: "MmBackward0"
        case .bmm: "BmmBackward0"
        case .view: "ViewBackward0"
        case .unsafeView: "UnsafeViewBackward0"
        case .clone: "CloneBackward0"
        case .t: "TBackward0"
        case .transpose: "TransposeBackward0"
        case .permute: "PermuteBackward0"
        case .unsqueeze: "UnsqueezeBackward0"
        case .squeeze: "SqueezeBackward0"
        case .squeezeDim: "SqueezeBackward1"
        case .expand: "ExpandBackward0"
        case .toDType: "ToCopyBackward0"
        case .fill: "FillBackward2"
        case .zero: "ZeroBackward0"
        case .copy: "CopyBackwards"
        case .copySlices: "CopySlices"
        case .select: "SelectBackward0"
        case .slice: "SliceBackward0"
        case .maskedSelect: "MaskedSelectBackward0"
        case .maskedFill: "MaskedFillBackward0"
        case .maskedFillTensor: "MaskedFillBackward1"
        case .indexPut: "IndexPutBackward0"
        case .cat: "CatBackward0"
        case .unique: "Unique2Backward0"
        case .mseLoss: "MseLossBackward0"
        case .custom: "CustomFunctionBackward"
        // MARK: Neural-network ops
        case .softmax: "SoftmaxBackward0"
        case .logSoftmax: "LogSoftmaxBackward0"
        case .nllLoss: "NllLossBackward0"
        case .addmm: "AddmmBackward0"
        case .convolution: "ConvolutionBackward0"
        case .maxPool2d: "MaxPool2DWithIndicesBackward0"
        case .avgPool2d: "AvgPool2DBackward0"
        case .adaptiveAvgPool2d: "AdaptiveAvgPool2DBackward0"
        case .nativeBatchNorm: "NativeBatchNormBackward0"
        case .convolutionBackwardInput, .convolutionBackwardWeight: "ConvolutionBackwardBackward0"
        case .maxPool2dBackward: "MaxPool2DWithIndicesBackwardBackward0"
        case .maxPool2dGather: "GatherBackward0"
        case .avgPool2dBackward: "AvgPool2DBackwardBackward0"
        case .adaptiveAvgPool2dBackward: "AdaptiveAvgPool2DBackwardBackward0"
        }
    }

    /// The node's name as PyTorch's version-counter error spells it: `Add` for `AddBackward0`,
    /// `Clamp1` for `ClampBackward1`, `torch::autograd::CopySlices`.
    var errorName: String {
        if self == .copySlices { return "torch::autograd::CopySlices" }
        let name = gradFnName
        guard let start = name.firstRange(of: "Backward") else { return name }
        let suffix = name[start.upperBound...]
        return String(name[..<start.lowerBound]) + (suffix == "0" ? "" : String(suffix))
    }

    /// Which of a record's tensors the op's backward reads: an in-place change to one of them
    /// before backward is an error.
    var savedValues: SavedValues {
        switch self {
        case .mul, .div, .mm, .bmm, .mseLoss: .operands
        case .powScalar, .log, .abs, .sin, .cos, .clampMin, .clampMax, .clamp: .a
        case .reciprocal, .sqrt, .exp, .tanh, .sigmoid, .relu: .result
        case .powTensor: .all
        case .maxAll, .amax: .inputAndResult
        case .maskedSelect, .maskedFill, .maskedFillTensor, .indexPut, .custom: .other
        // MARK: Neural-network ops
        case .softmax, .logSoftmax: .result
        case .nllLoss: .b
        case .addmm, .convolution, .nativeBatchNorm, .convolutionBackwardInput, .convolutionBackwardWeight: .operands
        case .maxPool2d, .maxPool2dBackward, .maxPool2dGather: .other
        default: .nothing
        }
    }

    /// The gradients of a record's operands, given the gradient of its result.
    func vectorJacobianProduct(_ r: Record, _ g: Tensor) throws(TapeGradError) -> Gradients {
        switch self {
        case .add: ArithmeticBackward.add(r, g)
        case .sub: ArithmeticBackward.sub(r, g)
        case .mul: ArithmeticBackward.mul(r, g)
        case .div: ArithmeticBackward.div(r, g)
        case .addScalar, .subScalar: ArithmeticBackward.passThrough(r, g)
        case .rsubScalar, .neg: ArithmeticBackward.negate(r, g)
        case .mulScalar, .divScalar: ArithmeticBackward.scale(r, g)
        case .reciprocal: ArithmeticBackward.reciprocal(r, g)
        case .powScalar: UnaryMathBackward.powScalar(r, g)
        case .powTensor: UnaryMathBackward.powTensor(r, g)
        case .sqrt: UnaryMathBackward.sqrt(r, g)
        case .exp: UnaryMathBackward.exp(r, g)
        case .log: UnaryMathBackward.log(r, g)
        case .tanh: UnaryMathBackward.tanh(r, g)
        case .sigmoid: UnaryMathBackward.sigmoid(r, g)
        case .relu: UnaryMathBackward.relu(r, g)
        case .abs: UnaryMathBackward.abs(r, g)
        case .sin: UnaryMathBackward.sin(r, g)
        case .cos: UnaryMathBackward.cos(r, g)
        case .clampMin, .clampMax, .clamp: UnaryMathBackward.clamp(r, g)
        case .sumAll, .sumDims: ReductionBackward.sum(r, g)
        case .meanAll, .meanDims: ReductionBackward.mean(r, g)
        case .maxAll, .amax: ReductionBackward.max(r, g)
        case .maxDim: ReductionBackward.maxDim(r, g)
        case .mm: MatMulBackward.mm(r, g)
        case .bmm: MatMulBackward.bmm(r, g)
        case .view, .unsafeView, .unsqueeze, .squeeze, .squeezeDim: ViewBackward.reshape(r, g)
        case .clone: ViewBackward.passThrough(r, g)
        case .t: ViewBackward.t(r, g)
        case .transpose: ViewBackward.transpose(r, g)
        case .permute: ViewBackward.permute(r, g)
        case .expand: ViewBackward.expand(r, g)
        case .toDType: CreationBackward.toDType(r, g)
        case .fill, .zero, .copy: InPlaceBackward.overwrite(r, g)
        case .copySlices: InPlaceBackward.copySlices(r, g)
        case .select, .slice: IndexingBackward.select(r, g)
        case .maskedSelect: IndexingBackward.maskedSelect(r, g)
        case .maskedFill, .maskedFillTensor, .indexPut: IndexingBackward.maskedFill(r, g)
        case .cat: IndexingBackward.cat(r, g)
        case .unique: try UniqueBackward.unique(r, g)
        case .mseLoss: LossBackward.mse(r, g)
        case .custom: try CustomNode.backward(r, g)
        // MARK: Neural-network ops
        case .softmax: try ActivationBackward.softmax(r, g)
        case .logSoftmax: try ActivationBackward.logSoftmax(r, g)
        case .nllLoss: NLLLossBackward.nll(r, g)
        case .addmm: LinearBackward.addmm(r, g)
        case .convolution: try ConvolutionBackward.convolution(r, g)
        case .maxPool2d: PoolingBackward.maxPool(r, g)
        case .avgPool2d: PoolingBackward.avgPool(r, g)
        case .adaptiveAvgPool2d: PoolingBackward.adaptiveAvgPool(r, g)
        case .nativeBatchNorm: try BatchNormBackward.batchNorm(r, g)
        case .convolutionBackwardInput: ConvolutionBackward.inputGradient(r, g)
        case .convolutionBackwardWeight: ConvolutionBackward.weightGradient(r, g)
        case .maxPool2dBackward: PoolingBackward.maxPoolBackward(r, g)
        case .maxPool2dGather: PoolingBackward.maxPoolGather(r, g)
        case .avgPool2dBackward: PoolingBackward.avgPoolBackward(r, g)
        case .adaptiveAvgPool2dBackward: PoolingBackward.adaptiveAvgPoolBackward(r, g)
        }
    }
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
}

extension Record {
    /// PyTorch's name for this record's node (a custom function's is its type's name + `Backward`).
    var nodeName: String {
        op == .custom ? engine.pointee.customNodes[Int(dims)].name : op.gradFnName
    }
}
