// Batch normalisation over dimension 1 of `[N, C, …]` (`torch.nn.functional.batch_norm`): in
// training with the batch's statistics (updating running statistics in place when given), in
// evaluation with the running ones. Node: `NativeBatchNormBackward0`; under createGraph its
// backward is spelled with recorded ops, so it can be differentiated again. The per-channel mean
// and 1/std the backward needs are kept in a small tensor whose handle the record carries in
// `s1` (the operands `a`, `b`, `c` are the input, weight and bias).

extension TensorMemory {
    /// Normalises `x` with batch or running statistics; returns the output and a `[2, C]`
    /// float64 tensor of the mean and 1/√(var + eps) used (no record). The running statistics
    /// and parameters are of the input's dtype (checked by `batchNorm`).
    func batchNorm(
        _ input: Tensor, runningMean: Tensor, runningVar: Tensor, weight: Tensor, bias: Tensor,
        training: Bool, momentum: Double, eps: Double
    ) -> (out: Tensor, stats: Tensor) {
        let dtype = slot(input).pointee.dtype
        if dtype.isReducedPrecision {
            // In float32, the running statistics updated in copies written back rounded.
            let wide = { (t: Tensor) in t.isNull ? t : kernelOperand(t) }
            let mean = wide(runningMean), variance = wide(runningVar)
            let (out, stats) = batchNorm(kernelOperand(input), runningMean: mean, runningVar: variance,
                                         weight: wide(weight), bias: wide(bias),
                                         training: training, momentum: momentum, eps: eps)
            if training && !runningMean.isNull { copyValues(from: mean, into: runningMean) }
            if training && !runningVar.isNull { copyValues(from: variance, into: runningVar) }
            return (rounded(out, to: dtype), stats)
        }
        let x = contiguousOperand(input)
        let s = slot(x).pointee
        let channels = s.shape[1]
        let out = makeTensor(shape: s.shape, dtype: s.dtype)
        let stats = makeTensor(shape: Dims(2, channels), dtype: .float64)
        let w = weight.isNull ? weight : contiguousOperand(weight)
        let b = bias.isNull ? bias : contiguousOperand(bias)
        compute(in: s.dtype) {
            BatchNormForward(memory: $0, x: x, out: out, stats: stats, runningMean: runningMean, runningVar: runningVar,
                             weight: w, bias: b, training: training, momentum: momentum, eps: eps)
        }
        return (out, stats)
    }

    /// A rank-1 tensor's elements (`nil` for `.null`) and their stride.
    func elements<T>(_ t: Tensor, _: T.Type) -> (pointer: UnsafeMutablePointer<T>, stride: Int)? {
        t.isNull ? nil : (base(t, as: T.self), slot(t).pointee.strides[0])
    }

    /// The gradients of batch norm's input, weight and bias (those asked for; no record).
    func batchNormBackward(_ r: Record, _ g: Tensor) -> Gradients {
        if slot(r.a).pointee.dtype.isReducedPrecision { return widenedBackward(r, g) { batchNormBackward($0, $1) } }
        let x = contiguousOperand(r.a), g = contiguousOperand(g)
        let s = slot(x).pointee
        let n = s.shape[0], channels = s.shape[1]
        let inner = s.shape.product / Swift.max(n * channels, 1)
        let stats = PackedTensor.unpack(r.s1)
        let mean = base(stats, as: Double.self), invStd = mean + channels
        var grads = Gradients()
        if r.needsA { grads.a = makeTensor(shape: s.shape, dtype: s.dtype) }
        if r.needsB { grads.b = makeTensor(shape: Dims(CollectionOfOne(channels)), dtype: s.dtype) }
        if r.needsC { grads.c = makeTensor(shape: Dims(CollectionOfOne(channels)), dtype: s.dtype) }
        let w = r.b.isNull ? r.b : contiguousOperand(r.b)
        compute(in: s.dtype) {
            BatchNormGradients(memory: $0, x: x, g: g, weight: w, grads: grads, n: n, channels: channels, inner: inner,
                               mean: mean, invStd: invStd, training: r.i0 == 1)
        }
        return grads
    }

}

/// Per-channel sums in double precision with eight independent accumulators, so the additions
/// overlap instead of waiting on one another (the order differs from a plain loop only by rounding
/// far below float's precision).
enum ChannelSums {
    @inline(__always)
    static func sum<T: FloatElement>(_ p: UnsafePointer<T>, _ count: Int) -> Double {
        var a = SIMD8<Double>()
        var j = 0
        while j + 8 <= count {
            a += SIMD8(Double(p[j]), Double(p[j + 1]), Double(p[j + 2]), Double(p[j + 3]),
                       Double(p[j + 4]), Double(p[j + 5]), Double(p[j + 6]), Double(p[j + 7]))
            j += 8
        }
        var total = a.sum()
        while j < count { total += Double(p[j]); j += 1 }
        return total
    }

    @inline(__always)
    static func squaredDeviations<T: FloatElement>(_ p: UnsafePointer<T>, _ count: Int, from m: Double) -> Double {
        var a = SIMD8<Double>()
        let mean = SIMD8<Double>(repeating: m)
        var j = 0
        while j + 8 <= count {
            let d = SIMD8(Double(p[j]), Double(p[j + 1]), Double(p[j + 2]), Double(p[j + 3]),
                          Double(p[j + 4]), Double(p[j + 5]), Double(p[j + 6]), Double(p[j + 7])) - mean
            a += d * d
            j += 8
        }
        var total = a.sum()
        while j < count { let d = Double(p[j]) - m; total += d * d; j += 1 }
        return total
    }

    /// Σg and Σg·(x − mean).
    @inline(__always)
    static func gradientSums<T: FloatElement>(_ g: UnsafePointer<T>, _ x: UnsafePointer<T>, _ count: Int, mean m: Double) -> (Double, Double) {
        var a = SIMD8<Double>(), b = SIMD8<Double>()
        let mean = SIMD8<Double>(repeating: m)
        var j = 0
        while j + 8 <= count {
            let gv = SIMD8(Double(g[j]), Double(g[j + 1]), Double(g[j + 2]), Double(g[j + 3]),
                           Double(g[j + 4]), Double(g[j + 5]), Double(g[j + 6]), Double(g[j + 7]))
            let xv = SIMD8(Double(x[j]), Double(x[j + 1]), Double(x[j + 2]), Double(x[j + 3]),
                           Double(x[j + 4]), Double(x[j + 5]), Double(x[j + 6]), Double(x[j + 7]))
            a += gv
            b += gv * (xv - mean)
            j += 8
        }
        var sumG = a.sum(), sumGX = b.sum()
        while j < count {
            let gv = Double(g[j])
            sumG += gv
            sumGX += gv * (Double(x[j]) - m)
            j += 1
        }
        return (sumG, sumGX)
    }
}

/// Batch norm's forward in the input's element type: statistics (batch or running), the
/// running statistics' update, the normalised output.
private struct BatchNormForward: FloatComputation {
    let memory: TensorMemory
    let x: Tensor, out: Tensor, stats: Tensor, runningMean: Tensor, runningVar: Tensor, weight: Tensor, bias: Tensor
    let training: Bool, momentum: Double, eps: Double

    func run<T: FloatElement>(_: T.Type) {
        let s = memory.slot(x).pointee
        let n = s.shape[0], channels = s.shape[1]
        let inner = s.shape.product / Swift.max(n * channels, 1)
        let mean = memory.base(stats, as: Double.self), invStd = mean + channels
        let count = n * inner
        let runningMean = memory.elements(runningMean, T.self), runningVar = memory.elements(runningVar, T.self)
        if training {
            Kernels.batchStatistics(memory.base(x, as: T.self), n, channels, inner, mean, invStd, eps)
            // Running statistics: the mean, and the unbiased variance, blended by momentum.
            if let (p, stride) = runningMean {
                for c in 0..<channels { p[c * stride] = T((1 - momentum) * Double(p[c * stride]) + momentum * mean[c]) }
                memory.bumpVersion(self.runningMean)
            }
            if let (p, stride) = runningVar {
                for c in 0..<channels {
                    let biased = 1 / (invStd[c] * invStd[c]) - eps
                    let unbiased = biased * Double(count) / Double(Swift.max(count - 1, 1))
                    p[c * stride] = T((1 - momentum) * Double(p[c * stride]) + momentum * unbiased)
                }
                memory.bumpVersion(self.runningVar)
            }
        } else if let (m, ms) = runningMean, let (v, vs) = runningVar {
            for c in 0..<channels {
                mean[c] = Double(m[c * ms])
                invStd[c] = 1 / (Double(v[c * vs]) + eps).squareRoot()
            }
        }
        Kernels.normalize(memory.base(x, as: T.self), memory.base(out, as: T.self), memory.pointer(weight, T.self),
                         memory.pointer(bias, T.self), n, channels, inner, mean, invStd)
    }
}

/// Batch norm's fused backward in the input's element type.
private struct BatchNormGradients: FloatComputation {
    let memory: TensorMemory
    let x: Tensor, g: Tensor, weight: Tensor, grads: Gradients
    let n: Int, channels: Int, inner: Int
    let mean: UnsafeMutablePointer<Double>, invStd: UnsafeMutablePointer<Double>, training: Bool

    func run<T: FloatElement>(_: T.Type) {
        Kernels.batchNormBackward(memory.base(x, as: T.self), memory.base(g, as: T.self), memory.pointer(weight, T.self),
                                 memory.pointer(grads.a, T.self), memory.pointer(grads.b, T.self), memory.pointer(grads.c, T.self),
                                 n, channels, inner, mean, invStd, training)
    }
}

/// Batch normalisation over the channels (dimension 1) of `[N, C, …]`
/// (`torch.nn.functional.batch_norm`). In training (`training: true`) each channel is
/// normalised with the batch's mean and biased variance, and `runningMean`/`runningVar`, when
/// given, are updated in place: `(1 − momentum)·running + momentum·batch` (the variance
/// unbiased). In evaluation the running statistics are used and must be given. `weight` and
/// `bias` (`[C]`, optional) scale and shift the result.
public func batchNorm(
    _ input: Tensor, runningMean: Tensor?, runningVar: Tensor?, weight: Tensor? = nil, bias: Tensor? = nil,
    training: Bool = false, momentum: Double = 0.1, eps: Double = 1e-5
) throws(TapeGradError) -> Tensor {
    let xs = input.info.shape
    // PyTorch's checks, in its order: F.batch_norm's batch size (training), the empty input,
    // then torch.batch_norm's sizes, rank, dtype.
    if training {
        guard xs.count > 0 else { throw .index("tuple index out of range") }
        var perChannel = xs[0]
        for d in 2..<Swift.max(xs.count, 2) { perChannel *= xs[d] }
        guard perChannel != 1 else {
            throw TapeGradError(.valueError, "Expected more than 1 value per channel when training, got input size \(xs.torchSize)")
        }
    }
    if xs.product == 0 {
        // No elements: PyTorch returns `input.clone() * weight[0] + bias[0]` (zero gradients).
        var out = input.clone()
        if let weight { out = try out.mul(try weight.select(dim: 0, index: 0)) }
        if let bias { out = try out.add(try bias.select(dim: 0, index: 0)) }
        return out
    }
    let channels = xs.count > 1 ? xs[1] : 0
    // (Local functions, not arrays of the operands: a training step allocates nothing.)
    func checkSize(_ name: StaticString, _ t: Tensor?) throws(TapeGradError) {
        guard let t else { return }
        guard t.info.shape.product == channels else {
            throw .runtime("\(name) should contain \(channels) elements not \(t.info.shape.product)")
        }
    }
    try checkSize("running_mean", runningMean)
    try checkSize("running_var", runningVar)
    try checkSize("weight", weight)
    try checkSize("bias", bias)
    // The running statistics are read as 1-D tensors (and updated in place).
    // (Each checked by name: an array of them would allocate every step.)
    if let runningMean, runningMean.rank != 1 { throw .runtime("TensorAccessor expected 1 dims but tensor has \(runningMean.rank)") }
    if let runningVar, runningVar.rank != 1 { throw .runtime("TensorAccessor expected 1 dims but tensor has \(runningVar.rank)") }
    if !training && runningMean == nil { throw .runtime("running_mean must be defined in evaluation mode") }
    if !training && runningVar == nil { throw .runtime("running_var must be defined in evaluation mode") }
    guard xs.count >= 2 else { throw .index("Dimension out of range (expected to be in range of [-1, 0], but got 1)") }
    try NNChecks.requireFloat(input, "batch_norm")
    // The kernels read the statistics and parameters as the input's element type. PyTorch
    // names a mismatch of the first parameter as a "mixed dtype" (its kernels mix reduced
    // precision inputs with float32 parameters only), and of the others by their type.
    func checkType(_ t: Tensor?, first: Bool) throws(TapeGradError) {
        guard let t, t.dtype != input.dtype else { return }
        guard first else { throw NNChecks.mismatch(input.dtype, t.dtype) }
        let allFloat = [weight, bias, runningMean, runningVar].allSatisfy { $0 == nil || $0!.dtype == .float32 }
        throw .runtime(allFloat ? "mixed dtype (CPU): all inputs must share same datatype."
                                : "mixed dtype (CPU): expect parameter to have scalar type of Float")
    }
    try checkType(weight, first: true)
    try checkType(bias, first: weight == nil)
    try checkType(runningMean, first: weight == nil && bias == nil)
    try checkType(runningVar, first: weight == nil && bias == nil && runningMean == nil)
    // PyTorch reads the weight and bias as C elements, whatever their shape: viewed as [C]
    // (recorded, so their gradients come back in the given shape).
    let flat = Dims(CollectionOfOne(channels))
    let weight = weight.map { $0.info.shape.count == 1 ? $0 : $0.reshaped(flat) }
    let bias = bias.map { $0.info.shape.count == 1 ? $0 : $0.reshaped(flat) }
    let e = engine
    let (out, stats) = e.memory.batchNorm(
        input, runningMean: runningMean ?? .null, runningVar: runningVar ?? .null, weight: weight ?? .null,
        bias: bias ?? .null, training: training, momentum: momentum, eps: eps)
    var record = Record(.nativeBatchNorm, result: out, a: input, b: weight ?? .null)
    record.c = bias ?? .null
    record.i0 = training ? 1 : 0
    record.s0 = eps
    record.s1 = PackedTensor.pack(stats)
    return e.pointee.recordIfNeeded(record)
}

enum BatchNormBackward {
    /// Without createGraph, one fused kernel; with it, the same formulas spelled with recorded
    /// ops (the batch statistics recomputed from the input), so they can be differentiated again.
    static func batchNorm(_ r: Record, _ g: Tensor) throws(TapeGradError) -> Gradients {
        let e = engine
        let stats = PackedTensor.unpack(r.s1)
        guard e.pointee.isAlive(stats) else { throw .runtime(Autograd.secondBackwardMessage) }
        if !e.pointee.gradEnabled { return e.memory.batchNormBackward(r, g) }
        return try composed(r, g, stats)
    }

    /// x̂ = (x − mean)·istd; dx = w·istd·(g − Σg/M − x̂·Σ(g·x̂)/M) in training, w·istd·g in
    /// evaluation; dw = Σ(g·x̂); db = Σg (sums over every dimension but 1).
    private static func composed(_ r: Record, _ g: Tensor, _ stats: Tensor) throws(TapeGradError) -> Gradients {
        let x = r.a
        let shape = x.shape
        let channels = shape[1]
        let dims = [0] + Array(2..<shape.count)
        let perChannel = [1, channels] + [Int](repeating: 1, count: shape.count - 2)
        let count = Double(x.count / Swift.max(channels, 1))
        let mean: Tensor, istd: Tensor
        if r.i0 == 1 {
            mean = try x.mean(dims: dims, keepDim: true)
            let centered = try x.sub(mean)
            istd = (try centered.mul(centered).mean(dims: dims, keepDim: true) + r.s0).pow(-0.5)
        } else {
            let saved = stats.to(x.dtype)
            mean = try saved.select(dim: 0, index: 0).view(perChannel)
            istd = try saved.select(dim: 0, index: 1).view(perChannel)
        }
        let xHat = try x.sub(mean).mul(istd)
        let sumG = try g.sum(dims: dims, keepDim: true)
        let sumGX = try g.mul(xHat).sum(dims: dims, keepDim: true)
        var gx = Tensor.null
        if r.needsA {
            var scale = istd
            if !r.b.isNull { scale = try scale.mul(try r.b.view(perChannel)) }
            let inner = r.i0 == 1 ? try g.sub(sumG / count).sub(try xHat.mul(sumGX / count)) : g
            gx = try scale.mul(inner)
        }
        return Gradients(a: gx, b: r.needsB ? try sumGX.view([channels]) : .null, c: r.needsC ? try sumG.view([channels]) : .null)
    }
}

extension Kernels {
    static func batchStatistics<T: FloatElement>(
        _ x: UnsafePointer<T>, _ n: Int, _ channels: Int, _ inner: Int,
        _ mean: UnsafeMutablePointer<Double>, _ invStd: UnsafeMutablePointer<Double>, _ eps: Double
    ) {
        let count = Double(n * inner)
        for c in 0..<channels {
            var total = 0.0
            for i in 0..<n { total += ChannelSums.sum(x + (i * channels + c) * inner, inner) }
            let m = total / count
            var squares = 0.0
            for i in 0..<n { squares += ChannelSums.squaredDeviations(x + (i * channels + c) * inner, inner, from: m) }
            mean[c] = m
            invStd[c] = 1 / (squares / count + eps).squareRoot()
        }
    }

    static func normalize<T: FloatElement>(
        _ x: UnsafePointer<T>, _ out: UnsafeMutablePointer<T>, _ w: UnsafeMutablePointer<T>?, _ b: UnsafeMutablePointer<T>?,
        _ n: Int, _ channels: Int, _ inner: Int, _ mean: UnsafeMutablePointer<Double>, _ invStd: UnsafeMutablePointer<Double>
    ) {
        for c in 0..<channels {
            let scale = T(invStd[c]) * (w?[c] ?? 1)
            let shift = (b?[c] ?? 0) - T(mean[c]) * scale
            for i in 0..<n {
                let offset = (i * channels + c) * inner
                for j in 0..<inner { out[offset + j] = x[offset + j] * scale + shift }
            }
        }
    }

    static func batchNormBackward<T: FloatElement>(
        _ x: UnsafePointer<T>, _ g: UnsafePointer<T>, _ w: UnsafeMutablePointer<T>?,
        _ gx: UnsafeMutablePointer<T>?, _ gw: UnsafeMutablePointer<T>?, _ gb: UnsafeMutablePointer<T>?,
        _ n: Int, _ channels: Int, _ inner: Int,
        _ mean: UnsafeMutablePointer<Double>, _ invStd: UnsafeMutablePointer<Double>, _ training: Bool
    ) {
        let count = Double(n * inner)
        for c in 0..<channels {
            let m = mean[c], istd = invStd[c]
            var sumG = 0.0, sumGX = 0.0
            for i in 0..<n {
                let offset = (i * channels + c) * inner
                let (a, b) = ChannelSums.gradientSums(g + offset, x + offset, inner, mean: m)
                sumG += a
                sumGX += b
            }
            gb?[c] = T(sumG)
            gw?[c] = T(sumGX * istd)
            guard let gx else { continue }
            let weight = Double(w?[c] ?? 1)
            if training {
                // dx = w·istd·(g − Σg/M − x̂·Σ(g·x̂)/M), x̂ = (x − mean)·istd.
                // In the element type, as PyTorch's kernel computes it, so the pass vectorises.
                let meanG = T(sumG / count), proj = T(sumGX * istd * istd / count)
                let scale = T(weight * istd), center = T(m)
                for i in 0..<n {
                    let offset = (i * channels + c) * inner
                    let gp = g + offset, xp = x + offset, out = gx + offset
                    for j in 0..<inner { out[j] = (gp[j] - meanG - (xp[j] - center) * proj) * scale }
                }
            } else {
                let scale = T(weight * istd)
                for i in 0..<n {
                    let offset = (i * channels + c) * inner
                    for j in 0..<inner { gx[offset + j] = g[offset + j] * scale }
                }
            }
        }
    }
}
