// Loss functions.

/// How a loss combines its elementwise terms (PyTorch's `reduction`).
public enum Reduction: Int16, Sendable {
    /// The mean of the terms.
    case mean
    /// The sum of the terms.
    case sum
    /// The terms themselves, one per element.
    case none
}

/// The mean squared error between `input` and `target` (`torch.nn.functional.mse_loss`).
/// Warns, as PyTorch does, when their sizes differ (they are then broadcast).
public func mseLoss(_ input: Tensor, _ target: Tensor, reduction: Reduction = .mean) throws(TapeGradError) -> Tensor {
    let inputShape = input.info.shape, targetShape = target.info.shape
    if inputShape != targetShape {
        Warnings.warn("Using a target size (\(targetShape.torchSize)) that is different to the input size (\(inputShape.torchSize)). This will likely lead to incorrect results due to broadcasting. Please ensure they have the same size.")
    }
    if input.dtype == .bool && target.dtype == .bool { throw NNChecks.notImplemented("mse_cpu", .bool) }
    let loss = try noGrad { () throws(TapeGradError) -> Tensor in
        let difference = try promotedDifference(input, target)
        let squared = difference * difference
        switch reduction {
        case .mean: return try squared.mean()
        case .sum: return squared.sum()
        case .none: return squared
        }
    }
    var record = Record(.mseLoss, result: loss, a: input, b: target)
    record.i0 = reduction.rawValue
    return engine.pointee.recordIfNeeded(record)
}

/// `a - b` in the operands' promoted type: mse_loss subtracts a bool operand as 0 and 1 (the
/// `-` operator refuses bool tensors; mse's kernel does not).
private func promotedDifference(_ a: Tensor, _ b: Tensor) throws(TapeGradError) -> Tensor {
    let type = DType.resultType(a.dtype, dimensioned: a.rank > 0, b.dtype, dimensioned: b.rank > 0)
    return try (a.dtype == type ? a : a.to(type)).sub(b.dtype == type ? b : b.to(type))
}

/// The mean squared error as a module (`torch.nn.MSELoss`): `MSELoss()(output, target)`.
public struct MSELoss: Sendable {
    /// How the squared errors are combined.
    public var reduction: Reduction

    /// A loss with the given reduction (default: mean).
    public init(reduction: Reduction = .mean) {
        self.reduction = reduction
    }

    /// The loss of `input` against `target`.
    public func callAsFunction(_ input: Tensor, _ target: Tensor) throws(TapeGradError) -> Tensor {
        try mseLoss(input, target, reduction: reduction)
    }
}

extension Record {
    /// A loss record's reduction (kept in `i0`).
    var reduction: Reduction { Reduction(rawValue: i0) ?? .mean }
}

enum LossBackward {
    /// d/dinput of (input - target)² is 2 (input - target), scaled by 1/n for the mean.
    static func mse(_ r: Record, _ g: Tensor) -> Gradients {
        let difference = trapping { () throws(TapeGradError) -> Tensor in try promotedDifference(r.a, r.b) }
        var scale = 2.0
        if r.reduction == .mean { scale /= Double(difference.info.shape.product) }
        let grad = difference * (g * scale)   // g is a scalar unless reduction is none
        return Gradients(a: r.needsA ? grad.sumTo(shapeOf: r.a) : .null,
                         b: r.needsB ? (-grad).sumTo(shapeOf: r.b) : .null)
    }
}

// MARK: Negative log-likelihood and cross entropy

// Class indices come as an int64 (or uint8) tensor, shape `[N]`, or `[]` for one unbatched
// sample, or as `[Int]`, which is turned into an int64 tensor.

extension TensorMemory {
    /// `-input[i, target[i]]` per sample, reduced (no record). Throws PyTorch's errors for
    /// mismatched batch sizes and out-of-range classes.
    func nllLoss(_ input: Tensor, _ target: Tensor, reduction: Reduction, ignoreIndex: Int) throws(TapeGradError) -> Tensor {
        let input = contiguousOperand(input)
        let target = contiguousOperand(target, as: .int64)
        let s = slot(input).pointee
        let batched = s.shape.count == 2
        let n = batched ? s.shape[0] : 1
        let classes = s.shape[s.shape.count - 1]
        let t = base(target, as: Int64.self)
        // Every class is checked before anything is computed: a bad one throws PyTorch's error.
        for i in 0..<n {
            let cls = Int(t[i])
            guard cls == ignoreIndex || (cls >= 0 && cls < classes) else { throw .index("Target \(cls) is out of bounds.") }
        }
        let out = reduction == .none ? makeTensor(shape: batched ? Dims(CollectionOfOne(n)) : Dims(), dtype: s.dtype)
                                     : makeTensor(shape: Dims(), dtype: s.dtype)
        var total = 0.0
        var counted = 0
        for i in 0..<n {
            let cls = Int(t[i])
            var value = 0.0
            if cls != ignoreIndex {
                value = -load(input, at: i * classes + cls)
                counted += 1
            }
            if reduction == .none {
                store(value, into: out, at: i)
            }
            total += value
        }
        if reduction != .none {
            let value = reduction == .mean ? total / Double(counted) : total
            store(value, into: out)
        }
        return out
    }
}

/// The negative log-likelihood of class indices under log-probabilities `input` (`[N, C]`, or
/// `[C]` for one sample) (`torch.nn.functional.nll_loss`). `target` holds the class of each
/// sample as an int64 (or uint8) tensor (`[N]`, or `[]`); samples whose class is
/// `ignoreIndex` count for nothing, and the mean divides by the samples that count.
public func nllLoss(_ input: Tensor, _ target: Tensor, reduction: Reduction = .mean, ignoreIndex: Int = -100) throws(TapeGradError) -> Tensor {
    let inputShape = input.info.shape, targetShape = target.info.shape
    let rank = inputShape.count
    // PyTorch's nll_loss_nd: the batch sizes first, then nll_loss (1-D, 2-D) or nll_loss2d.
    guard rank >= 1 else { throw TapeGradError(.valueError, "Expected 1 or more dimensions (got 0)") }
    if rank != 1 {
        let targetBatch = targetShape.count > 0 ? targetShape[0] : 0
        guard inputShape[0] == targetBatch else {
            throw TapeGradError(.valueError, "Expected input batch_size (\(inputShape[0])) to match target batch_size (\(targetBatch)).")
        }
    }
    if rank >= 3 { return try spatialNLLLoss(input, target, reduction: reduction, ignoreIndex: ignoreIndex) }
    guard targetShape.count <= 1 else { throw .runtime("0D or 1D target tensor expected, multi-target not supported") }
    try checkTargetType(target)
    if rank == 1 && targetShape.count == 1 && targetShape[0] != 1 {
        throw TapeGradError(.valueError, "For 1D input, 1D target must have size 1, but got target size: \(targetShape[0])")
    }
    try NNChecks.requireFloat(input, "nll_loss_out_frame")
    return try recordedNLLLoss(input, rank == 1 ? target.reshaped(Dims()) : target, .nllLoss, reduction: reduction, ignoreIndex: ignoreIndex)
}

/// The loss of `[N, C, d…]` log-probabilities against `[N, d…]` classes: each position a sample
/// of the flattened `[N·d…, C]` (PyTorch's nll_loss2d, node `NllLoss2DBackward0`).
private func spatialNLLLoss(_ input: Tensor, _ target: Tensor, reduction: Reduction, ignoreIndex: Int) throws(TapeGradError) -> Tensor {
    let inputShape = input.info.shape, targetShape = target.info.shape
    let rank = inputShape.count
    var outShape = Dims(CollectionOfOne(inputShape[0]))
    for d in 2..<rank { outShape.append(inputShape[d]) }
    if rank == 4 {
        guard targetShape.count == 3 else {
            throw .runtime("only batches of spatial targets supported (3D tensors) but got targets of dimension: \(targetShape.count)")
        }
        guard targetShape == outShape else {
            throw .runtime("size mismatch (got input: \(inputShape.array) , target: \(targetShape.array)")
        }
    } else {
        guard targetShape == outShape else { throw .runtime("Expected target size \(outShape.array), got \(targetShape.array)") }
        // PyTorch views the operands as [N, C, 1, -1] and [N, 1, -1] (as [N, C, 0, 0] and
        // [N, 0, 0] when empty) for nll_loss2d, whose size check fails when only the input is.
        if inputShape.product == 0 && targetShape.product != 0 {
            throw .runtime("size mismatch (got input: \([inputShape[0], inputShape[1], 0, 0]) , target: \([targetShape[0], 1, targetShape.product / targetShape[0]])")
        }
    }
    try checkTargetType(target)
    try NNChecks.requireFloat(input, "nll_loss2d_forward_out_frame")
    // nll_loss2d's kernel reads its classes as int64 only.
    guard target.dtype == .int64 else { throw NNChecks.mismatch(.int64, target.dtype) }
    // Classes last, positions flattened into samples.
    var order = [0]
    for d in 2..<rank { order.append(d) }
    order.append(1)
    let classes = inputShape[1]
    let samples = try input.permute(order).reshape([outShape.product, classes])
    let loss = try recordedNLLLoss(samples, target.reshaped(Dims(CollectionOfOne(outShape.product))), .nllLoss2d,
                                   reduction: reduction, ignoreIndex: ignoreIndex)
    return reduction == .none ? loss.reshaped(outShape) : loss
}

/// PyTorch's classes: int64 or uint8.
private func checkTargetType(_ target: Tensor) throws(TapeGradError) {
    guard target.dtype == .int64 || target.dtype == .uint8 else {
        throw .runtime("expected target dtype to be Long or Byte, but got \(target.dtype.scalarTypeName)")
    }
}

private func recordedNLLLoss(_ input: Tensor, _ target: Tensor, _ op: OpCode, reduction: Reduction, ignoreIndex: Int) throws(TapeGradError) -> Tensor {
    let e = engine
    let out = try e.memory.nllLoss(input, target, reduction: reduction, ignoreIndex: ignoreIndex)
    var record = Record(op, result: out, a: input, b: target)
    record.i0 = reduction.rawValue
    record.s0 = Double(ignoreIndex)
    return e.pointee.recordIfNeeded(record)
}

/// `nllLoss` with the classes as integers (this makes a small tensor of them).
public func nllLoss(_ input: Tensor, _ target: [Int], reduction: Reduction = .mean, ignoreIndex: Int = -100) throws(TapeGradError) -> Tensor {
    try nllLoss(input, try classIndices(target, unbatched: input.rank == 1), reduction: reduction, ignoreIndex: ignoreIndex)
}

/// The cross entropy between unnormalised scores `input` (`[N, C]`, `[C]`, or `[N, C, d…]` with
/// a class per position) and class indices (`torch.nn.functional.cross_entropy`):
/// `nll_loss(log_softmax(input, 1), target)`, so the result's node is `NllLossBackward0`
/// (`NllLoss2DBackward0` for positions). `target` holds each sample's class, int64 (or
/// uint8) as in PyTorch; probability targets are not supported yet.
public func crossEntropy(_ input: Tensor, _ target: Tensor, reduction: Reduction = .mean, ignoreIndex: Int = -100) throws(TapeGradError) -> Tensor {
    // PyTorch reads a target of the input's shape as class probabilities.
    if input.info.shape == target.info.shape {
        guard target.dtype.isFloatingPoint else {
            throw .runtime("Expected floating point type for target with class probabilities, got \(target.dtype.scalarTypeName)")
        }
        throw .runtime("TapeGrad: a target of the input's shape holds class probabilities, which crossEntropy does not support yet (class indices: [N] for [N, C] scores)")
    }
    let classDim = input.rank == 1 ? 0 : 1
    return try nllLoss(try input.logSoftmax(dim: classDim), target, reduction: reduction, ignoreIndex: ignoreIndex)
}

/// `crossEntropy` with the classes as integers (this makes a small tensor of them; on a hot
/// path pass a tensor made before the loop instead).
public func crossEntropy(_ input: Tensor, _ target: [Int], reduction: Reduction = .mean, ignoreIndex: Int = -100) throws(TapeGradError) -> Tensor {
    // Integer classes of the input's shape: PyTorch's error for an integer probability target.
    if input.shape == [target.count] {
        throw .runtime("Expected floating point type for target with class probabilities, got Long")
    }
    return try crossEntropy(input, try classIndices(target, unbatched: input.rank == 1), reduction: reduction, ignoreIndex: ignoreIndex)
}

/// Class indices as an int64 tensor: `[N]`, or `[]` for the one class of an unbatched input.
private func classIndices(_ target: [Int], unbatched: Bool) throws(TapeGradError) -> Tensor {
    let shape = unbatched && target.count == 1 ? [] : [target.count]
    return try Tensor(integers: target.map(Int64.init), shape: shape)
}

/// The cross-entropy loss as a module (`torch.nn.CrossEntropyLoss`).
public struct CrossEntropyLoss: Sendable {
    /// How the per-sample losses are combined.
    public var reduction: Reduction
    /// A class whose samples count for nothing.
    public var ignoreIndex: Int

    /// A loss with the given reduction (default: mean).
    public init(reduction: Reduction = .mean, ignoreIndex: Int = -100) {
        self.reduction = reduction
        self.ignoreIndex = ignoreIndex
    }

    /// The loss of scores `input` against class indices `target`.
    public func callAsFunction(_ input: Tensor, _ target: Tensor) throws(TapeGradError) -> Tensor {
        try crossEntropy(input, target, reduction: reduction, ignoreIndex: ignoreIndex)
    }
}

enum NLLLossBackward {
    /// The gradient is `-g` (scaled by 1/count for the mean) at each sample's class, zero
    /// elsewhere: the upstream gradient times a constant tensor, so it records under createGraph.
    static func nll(_ r: Record, _ g: Tensor) -> Gradients {
        guard r.needsA else { return Gradients() }
        let e = engine
        let s = r.a.info
        let batched = s.shape.count == 2
        let n = batched ? s.shape[0] : 1
        let classes = s.shape[s.shape.count - 1]
        let target = e.memory.contiguousOperand(r.b, as: .int64)
        let t = e.pointee.base(target, as: Int64.self)
        let ignore = Int(r.s0)
        // The forward checked every class; one changed since (in place) is skipped, never read
        // outside the buffer.
        func counts(_ i: Int) -> Int? {
            let cls = Int(t[i])
            guard cls != ignore, cls >= 0 && cls < classes else { return nil }
            return cls
        }
        var counted = 0
        for i in 0..<n where counts(i) != nil { counted += 1 }
        let scale = r.reduction == .mean ? -1 / Double(counted) : -1
        let weights = e.memory.makeZeros(shape: s.shape, dtype: s.dtype)
        for i in 0..<n {
            guard let cls = counts(i) else { continue }
            let j = i * classes + cls
            e.memory.store(scale, into: weights, at: j)
        }
        // Reduced: g is a scalar. None: one gradient per sample, broadcast along the classes.
        let upstream = r.reduction == Reduction.none && batched ? g.reshaped(Dims(n, 1)) : g
        return Gradients(a: upstream * weights)
    }
}
