// Layer normalisation over the last dimensions (`torch.nn.functional.layer_norm`,
// `torch.nn.LayerNorm`): each row of `normalizedShape`'s elements is normalised by its own mean
// and biased variance, then scaled and shifted elementwise. Node `NativeLayerNormBackward0`;
// under createGraph its backward is spelled with recorded ops (the statistics recomputed from
// the input), so it can be differentiated again. The per-row mean and 1/√(var + eps) are kept
// in a `[2, rows]` float64 tensor whose handle the record carries in `s1` (operands `a`, `b`,
// `c`: input, weight, bias; `i0`: the number of normalised dimensions).

extension TensorMemory {
    /// The normalised rows of `input` (`rows` of `width` elements) and their statistics (no
    /// record). `weight`/`bias` are `.null` or of the normalised shape, in the input's dtype (or
    /// float32 beside a float16 or bfloat16 input).
    func layerNorm(_ input: Tensor, rows: Int, width: Int, weight: Tensor, bias: Tensor, eps: Double) -> (out: Tensor, stats: Tensor) {
        let dtype = slot(input).pointee.dtype
        if dtype.isReducedPrecision {
            let wide = { (t: Tensor) in t.isNull ? t : kernelOperand(t) }
            let (out, stats) = layerNorm(kernelOperand(input), rows: rows, width: width, weight: wide(weight), bias: wide(bias), eps: eps)
            return (rounded(out, to: dtype), stats)
        }
        let x = contiguousOperand(input)
        let w = weight.isNull ? weight : contiguousOperand(weight), b = bias.isNull ? bias : contiguousOperand(bias)
        let out = makeTensor(shape: slot(x).pointee.shape, dtype: dtype)
        let stats = makeTensor(shape: Dims(2, rows), dtype: .float64)
        dtype.withFloatElement(LayerNormRows(
            x: UnsafeRawPointer(rawBase(x)), w: w.isNull ? nil : UnsafeRawPointer(rawBase(w)), b: b.isNull ? nil : UnsafeRawPointer(rawBase(b)),
            out: rawBase(out), mean: base(stats, as: Double.self), rows: rows, width: width, eps: eps))
        return (out, stats)
    }

    /// The gradients of layer norm's input, weight and bias (those the record asks for; no
    /// record), from the statistics the forward kept.
    func layerNormBackward(_ r: Record, _ g: Tensor, rows: Int, width: Int) -> Gradients {
        let dtype = slot(r.a).pointee.dtype
        if dtype.isReducedPrecision {
            return widenedBackward(r, g) { layerNormBackward($0, $1, rows: rows, width: width) }
        }
        let x = contiguousOperand(r.a), g = contiguousOperand(g)
        let w = r.b.isNull ? r.b : contiguousOperand(r.b)
        let normalized = Dims(CollectionOfOne(width))
        var grads = Gradients()
        if r.needsA { grads.a = makeTensor(shape: slot(x).pointee.shape, dtype: dtype) }
        if r.needsB { grads.b = makeZeros(shape: normalized, dtype: dtype) }
        if r.needsC { grads.c = makeZeros(shape: normalized, dtype: dtype) }
        func pointer(_ t: Tensor) -> UnsafeMutableRawPointer? { t.isNull ? nil : rawBase(t) }
        dtype.withFloatElement(LayerNormGradients(
            x: UnsafeRawPointer(rawBase(x)), g: UnsafeRawPointer(rawBase(g)), w: pointer(w).map { UnsafeRawPointer($0) },
            gx: pointer(grads.a), gw: pointer(grads.b), gb: pointer(grads.c),
            mean: base(PackedTensor.unpack(r.s1), as: Double.self), rows: rows, width: width))
        // The parameters' gradients in their own shape (they were computed flat).
        if !grads.b.isNull { grads.b = grads.b.reshaped(slot(r.b).pointee.shape) }
        if !grads.c.isNull { grads.c = grads.c.reshaped(slot(r.c).pointee.shape) }
        return grads
    }
}

/// Normalises each row: statistics in double precision, the row in the element type.
private struct LayerNormRows: FloatComputation {
    let x: UnsafeRawPointer, w: UnsafeRawPointer?, b: UnsafeRawPointer?, out: UnsafeMutableRawPointer
    let mean: UnsafeMutablePointer<Double>, rows: Int, width: Int, eps: Double

    func run<T: FloatElement>(_: T.Type) {
        Kernels.layerNorm(x.assumingMemoryBound(to: T.self), w?.assumingMemoryBound(to: T.self), b?.assumingMemoryBound(to: T.self),
                          out.assumingMemoryBound(to: T.self), mean, mean + rows, rows: rows, width: width, eps: eps)
    }
}

/// The gradients of each row, and the parameters' sums over the rows.
private struct LayerNormGradients: FloatComputation {
    let x: UnsafeRawPointer, g: UnsafeRawPointer, w: UnsafeRawPointer?
    let gx: UnsafeMutableRawPointer?, gw: UnsafeMutableRawPointer?, gb: UnsafeMutableRawPointer?
    let mean: UnsafeMutablePointer<Double>, rows: Int, width: Int

    func run<T: FloatElement>(_: T.Type) {
        Kernels.layerNormBackward(x.assumingMemoryBound(to: T.self), g.assumingMemoryBound(to: T.self), w?.assumingMemoryBound(to: T.self),
                                  gx?.assumingMemoryBound(to: T.self), gw?.assumingMemoryBound(to: T.self), gb?.assumingMemoryBound(to: T.self),
                                  mean, mean + rows, rows: rows, width: width)
    }
}

extension Kernels {
    /// `out = (x − mean)·rstd·w + b` per row, keeping each row's mean and rstd.
    static func layerNorm<T: FloatElement>(
        _ x: UnsafePointer<T>, _ w: UnsafePointer<T>?, _ b: UnsafePointer<T>?, _ out: UnsafeMutablePointer<T>,
        _ mean: UnsafeMutablePointer<Double>, _ rstd: UnsafeMutablePointer<Double>, rows: Int, width: Int, eps: Double
    ) {
        let n = Double(width)
        for r in 0..<rows {
            let row = x + r * width, o = out + r * width
            let m = ChannelSums.sum(row, width) / n
            let s = 1 / (ChannelSums.squaredDeviations(row, width, from: m) / n + eps).squareRoot()
            mean[r] = m
            rstd[r] = s
            let center = T(m), scale = T(s)
            switch (w, b) {
            case let (w?, b?): for j in 0..<width { o[j] = (row[j] - center) * scale * w[j] + b[j] }
            case let (w?, nil): for j in 0..<width { o[j] = (row[j] - center) * scale * w[j] }
            case let (nil, b?): for j in 0..<width { o[j] = (row[j] - center) * scale + b[j] }
            case (nil, nil): for j in 0..<width { o[j] = (row[j] - center) * scale }
            }
        }
    }

    /// Per row, with `x̂ = (x − mean)·rstd` and `ĝ = g·w`: `dx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂))`;
    /// over the rows, `dw += g·x̂` and `db += g` (both start at zero).
    static func layerNormBackward<T: FloatElement>(
        _ x: UnsafePointer<T>, _ g: UnsafePointer<T>, _ w: UnsafePointer<T>?,
        _ gx: UnsafeMutablePointer<T>?, _ gw: UnsafeMutablePointer<T>?, _ gb: UnsafeMutablePointer<T>?,
        _ mean: UnsafeMutablePointer<Double>, _ rstd: UnsafeMutablePointer<Double>, rows: Int, width: Int
    ) {
        let n = Double(width)
        for r in 0..<rows {
            let xr = x + r * width, gr = g + r * width
            let center = T(mean[r]), scale = T(rstd[r])
            if let gx {
                var sumG = 0.0, sumGX = 0.0
                for j in 0..<width {
                    let gHat = Double(gr[j] * (w?[j] ?? 1)), xHat = Double((xr[j] - center) * scale)
                    sumG += gHat
                    sumGX += gHat * xHat
                }
                let meanG = T(sumG / n), meanGX = T(sumGX / n)
                let out = gx + r * width
                for j in 0..<width { out[j] = scale * (gr[j] * (w?[j] ?? 1) - meanG - (xr[j] - center) * scale * meanGX) }
            }
            if let gw { for j in 0..<width { gw[j] += gr[j] * ((xr[j] - center) * scale) } }
            if let gb { for j in 0..<width { gb[j] += gr[j] } }
        }
    }
}

/// Layer normalisation over the last `normalizedShape.count` dimensions
/// (`torch.nn.functional.layer_norm`), with PyTorch's checks and messages. `weight` and `bias`
/// have the normalised shape. Node `NativeLayerNormBackward0`.
public func layerNorm(
    _ input: Tensor, normalizedShape: [Int], weight: Tensor? = nil, bias: Tensor? = nil, eps: Double = 1e-5
) throws(TapeGradError) -> Tensor {
    let k = normalizedShape.count
    guard k > 0 else {
        throw .runtime("Expected normalized_shape to be at least 1-dimensional, i.e., containing at least one element, but got normalized_shape = []")
    }
    try LayerNormChecks.parameter("weight", weight, normalizedShape)
    try LayerNormChecks.parameter("bias", bias, normalizedShape)
    let xs = input.info.shape
    guard xs.count >= k, LayerNormChecks.matches(xs, from: xs.count - k, normalizedShape) else {
        throw .runtime("Given normalized_shape=\(normalizedShape.bracketed), expected input with shape [*, \(normalizedShape.map(String.init).joined(separator: ", "))], but got input of size\(xs.array.bracketed)")
    }
    // PyTorch's order: parameters of another dtype than the input are a "mixed type", allowed
    // only as float32 parameters of a float16/bfloat16 input; then the kernel's dtype; then
    // the bias against the input's type.
    if let first = weight ?? bias, first.dtype != input.dtype {
        guard (weight?.dtype ?? .float32) == .float32 && (bias?.dtype ?? .float32) == .float32 else {
            throw .runtime("mixed dtype (CPU): expect parameter to have scalar type of Float")
        }
        guard input.dtype.isReducedPrecision else { throw .runtime("mixed dtype (CPU): all inputs must share same datatype.") }
    } else {
        guard input.dtype.isFloatingPoint else { throw NNChecks.notImplemented("LayerNormKernelImpl", input.dtype) }
        if let bias, bias.dtype != input.dtype { throw NNChecks.mismatch(input.dtype, bias.dtype) }
    }
    // An index loop: `reduce(1, *)` and `for size in normalizedShape` allocate in
    // unoptimised builds.
    var width = 1
    for i in 0..<k { width *= normalizedShape[i] }
    let rows = width == 0 ? 0 : xs.product / width
    let e = engine
    let (out, stats) = e.memory.layerNorm(input, rows: rows, width: width, weight: weight ?? .null, bias: bias ?? .null, eps: eps)
    var record = Record(.nativeLayerNorm, result: out, a: input, b: weight ?? .null)
    record.c = bias ?? .null
    record.i0 = Int16(k)
    record.s0 = eps
    record.s1 = PackedTensor.pack(stats)
    return e.pointee.recordIfNeeded(record)
}

/// layer_norm's shape checks, compared as `Dims` element by element (a training step
/// allocates nothing).
private enum LayerNormChecks {
    static func matches(_ shape: Dims, from start: Int, _ normalizedShape: [Int]) -> Bool {
        for i in 0..<normalizedShape.count where shape[start + i] != normalizedShape[i] { return false }
        return true
    }

    static func parameter(_ name: StaticString, _ t: Tensor?, _ normalizedShape: [Int]) throws(TapeGradError) {
        guard let t else { return }
        let shape = t.info.shape
        guard shape.count != normalizedShape.count || !matches(shape, from: 0, normalizedShape) else { return }
        throw .runtime("Expected \(name) to be of same shape as normalized_shape, but got \(name) of shape \(t.shape.bracketed) and normalized_shape = \(normalizedShape.bracketed)")
    }
}

enum LayerNormBackward {
    /// Without createGraph, one fused kernel; with it, the same formulas in recorded ops.
    static func layerNorm(_ r: Record, _ g: Tensor) throws(TapeGradError) -> Gradients {
        let e = engine
        let stats = PackedTensor.unpack(r.s1)
        guard e.pointee.isAlive(stats) else { throw .runtime(Autograd.secondBackwardMessage) }
        let shape = r.a.info.shape, k = Int(r.i0)
        var width = 1
        for d in (shape.count - k)..<shape.count { width *= shape[d] }
        let rows = width == 0 ? 0 : shape.product / width
        if !e.pointee.gradEnabled { return e.memory.layerNormBackward(r, g, rows: rows, width: width) }
        let x = r.a, dims = Array((shape.count - k)..<shape.count)
        let centered = try x.sub(try x.mean(dims: dims, keepDim: true))
        let rstd = (try centered.mul(centered).mean(dims: dims, keepDim: true) + r.s0).pow(-0.5)
        let xHat = try centered.mul(rstd)
        let gHat = r.b.isNull ? g : try g.mul(r.b)
        var grads = Gradients()
        if r.needsA {
            let inner = try gHat.sub(try gHat.mean(dims: dims, keepDim: true)).sub(try xHat.mul(try gHat.mul(xHat).mean(dims: dims, keepDim: true)))
            grads.a = try rstd.mul(inner)
        }
        if r.needsB { grads.b = try g.mul(xHat).sumTo(shapeOf: r.b) }
        if r.needsC { grads.c = g.sumTo(shapeOf: r.c) }
        return grads
    }
}

/// Layer normalisation as a layer (`torch.nn.LayerNorm`): `weight` (ones) and `bias` (zeros)
/// of the normalised shape when `elementwiseAffine`.
public final class LayerNorm: Module {
    /// The trailing shape normalised over.
    public let normalizedShape: [Int]
    /// Added to the variance.
    public let eps: Double
    /// The scale, or nil without `elementwiseAffine`.
    public let weight: Tensor?
    /// The shift, or nil without `elementwiseAffine` or with `bias: false`.
    public let bias: Tensor?
    /// Whether in training mode (layer norm behaves the same in both).
    public var isTraining = true

    /// A layer norm over the last dimensions, sized `normalizedShape`.
    public init(_ normalizedShape: [Int], eps: Double = 1e-5, elementwiseAffine: Bool = true, bias: Bool = true, dtype: DType = .float32) {
        self.normalizedShape = normalizedShape
        self.eps = eps
        weight = elementwiseAffine ? ParameterFactory.make(normalizedShape, dtype: dtype, requiresGrad: true) { _ in 1 } : nil
        self.bias = elementwiseAffine && bias ? ParameterFactory.make(normalizedShape, dtype: dtype, requiresGrad: true) { _ in 0 } : nil
    }

    /// A layer norm over the last dimension, of `size` elements.
    public convenience init(_ size: Int, eps: Double = 1e-5, elementwiseAffine: Bool = true, bias: Bool = true, dtype: DType = .float32) {
        self.init([size], eps: eps, elementwiseAffine: elementwiseAffine, bias: bias, dtype: dtype)
    }

    /// `weight` and `bias`, when present.
    public var localParameters: [(name: String, tensor: Tensor)] {
        var result: [(name: String, tensor: Tensor)] = []
        if let weight { result.append(("weight", weight)) }
        if let bias { result.append(("bias", bias)) }
        return result
    }

    /// Normalises the input's last dimensions.
    public func forward(_ input: Tensor) throws(TapeGradError) -> Tensor {
        try layerNorm(input, normalizedShape: normalizedShape, weight: weight, bias: bias, eps: eps)
    }
}

/// Root-mean-square normalisation over the last `normalizedShape.count` dimensions
/// (`torch.nn.functional.rms_norm`): `x · rsqrt(mean(x²) + eps) · weight`, spelled with the
/// same recorded ops as PyTorch's CPU composite (so its nodes are PyTorch's: `MulBackward0`
/// on top). `eps` defaults to the machine epsilon of the type computed in (float32 for a
/// 2-byte input), as PyTorch's `None`.
public func rmsNorm(_ input: Tensor, normalizedShape: [Int], weight: Tensor? = nil, eps: Double? = nil) throws(TapeGradError) -> Tensor {
    // PyTorch's checks in its order (its message spells the shape `[*4]`, not layer_norm's `[*, 4]`).
    let k = normalizedShape.count, xs = input.info.shape
    guard k > 0 else {
        throw .runtime("Expected normalized_shape to be at least 1-dimensional, i.e., containing at least one element, but got normalized_shape = []")
    }
    try LayerNormChecks.parameter("weight", weight, normalizedShape)
    guard xs.count >= k else { throw TapeGradError(.valueError, "Input tensor must have at least \(k) dimensions, but got \(xs.count)") }
    guard xs.count >= k, LayerNormChecks.matches(xs, from: xs.count - k, normalizedShape) else {
        throw .runtime("Given normalized_shape=\(normalizedShape.bracketed), expected input with shape [*\(normalizedShape.map(String.init).joined(separator: ", "))], but got input of size\(xs.array.bracketed)")
    }
    guard input.dtype.isFloatingPoint else { throw NNChecks.notImplemented("rms_norm", input.dtype) }
    // The last k dimensions as a mask (no array: a training step allocates nothing).
    var mask: UInt32 = 0
    for d in (xs.count - k)..<xs.count { mask |= 1 << d }
    // As PyTorch's composite: a float16/bfloat16 input is upcast to float32 (recorded), and
    // the default eps is float32's then.
    let x = input.dtype.isReducedPrecision ? input.to(.float32) : input
    let meanSquare = x.pow(2).reduction(.meanDims, mask: mask, keepDim: true, kind: .sum, mean: true)
    let scale = try meanSquare.add_(eps ?? x.dtype.machineEpsilon).rsqrt()
    let normalized = try x.mul(scale).to(input.dtype)
    guard let weight else { return normalized }
    return try normalized.mul(weight)
}

/// RMS normalisation as a layer (`torch.nn.RMSNorm`): `weight` (ones) of the normalised shape
/// when `elementwiseAffine`.
public final class RMSNorm: Module {
    /// The trailing shape normalised over.
    public let normalizedShape: [Int]
    /// Added to the mean square; nil is the machine epsilon of the type computed in.
    public let eps: Double?
    /// The scale, or nil without `elementwiseAffine`.
    public let weight: Tensor?
    /// Whether in training mode (RMS norm behaves the same in both).
    public var isTraining = true

    /// An RMS norm over the last dimensions, sized `normalizedShape`.
    public init(_ normalizedShape: [Int], eps: Double? = nil, elementwiseAffine: Bool = true, dtype: DType = .float32) {
        self.normalizedShape = normalizedShape
        self.eps = eps
        weight = elementwiseAffine ? ParameterFactory.make(normalizedShape, dtype: dtype, requiresGrad: true) { _ in 1 } : nil
    }

    /// An RMS norm over the last dimension, of `size` elements.
    public convenience init(_ size: Int, eps: Double? = nil, elementwiseAffine: Bool = true, dtype: DType = .float32) {
        self.init([size], eps: eps, elementwiseAffine: elementwiseAffine, dtype: dtype)
    }

    /// `weight`, when present.
    public var localParameters: [(name: String, tensor: Tensor)] { weight.map { [("weight", $0)] } ?? [] }

    /// Normalises the input's last dimensions.
    public func forward(_ input: Tensor) throws(TapeGradError) -> Tensor {
        try rmsNorm(input, normalizedShape: normalizedShape, weight: weight, eps: eps)
    }
}
