// Two-dimensional pooling over the last two dimensions of `[N, C, H, W]` or `[C, H, W]`:
// max pooling (saving the index of each window's maximum; node
// `MaxPool2DWithIndicesBackward0`), average pooling (`AvgPool2DBackward0`) and adaptive average
// pooling (a mean over H and W, `MeanBackward1`, when the output is 1×1; else
// `AdaptiveAvgPool2DBackward0`). Each backward is a recorded op whose own backward is the
// forward's kernel (or, for max pooling, a gather at the saved indices), so pooling can be
// differentiated any number of times. Dilation and `ceil_mode` are not supported.

/// The geometry of one pooling: planes (every leading dimension together), input and output
/// sizes, window, stride and padding.
struct PoolGeometry {
    var planes = 0, height = 0, width = 0, outH = 0, outW = 0
    var kernelH = 1, kernelW = 1, strideH = 1, strideW = 1, padH = 0, padW = 0
    /// Adaptive average pooling: output cell `i` averages input rows
    /// `⌊i·H/outH⌋ ..< ⌈(i+1)·H/outH⌉` (and so for columns); no kernel, stride or padding.
    var adaptive = false

    init() {}

    /// The planes and sizes of a pooling from `x` to `y` (window left at 1×1).
    init(input x: Dims, output y: Dims) {
        let rank = x.count
        planes = 1
        for d in 0..<(rank - 2) { planes *= x[d] }
        height = x[rank - 2]; width = x[rank - 1]
        outH = y[rank - 2]; outW = y[rank - 1]
    }

    /// The geometry of a pooling from `x` to `y` with the window a record packed (`dims`:
    /// kernel and stride; `s0`, `s1`: padding).
    init(input x: Dims, output y: Dims, _ r: Record) {
        self.init(input: x, output: y)
        (kernelH, kernelW, strideH, strideW) = PackedBytes.unpack(r.dims)
        padH = Int(r.s0); padW = Int(r.s1)
    }

    /// The input rows (or columns) `lo..<hi` that output row `i` covers, and how many its
    /// window spans counting the padding.
    @inline(__always)
    func window(_ i: Int, size: Int, out: Int, kernel: Int, stride: Int, pad: Int) -> (lo: Int, hi: Int, span: Int) {
        if adaptive {
            let lo = i * size / out, hi = ((i + 1) * size + out - 1) / out
            return (lo, hi, hi - lo)
        }
        let start = i * stride - pad, end = Swift.min(start + kernel, size + pad)
        return (Swift.max(start, 0), Swift.min(end, size), end - start)
    }

    /// Calls `body` for every output position of average pooling: its plane, its offset in
    /// the output, the window's input rows and columns, and the divisor (the window's size,
    /// or the part inside the input when padding does not count).
    @inline(__always)
    func forEachWindow(countIncludePad: Bool, _ body: (_ plane: Int, _ output: Int, _ rows: Range<Int>, _ columns: Range<Int>, _ divisor: Int) -> Void) {
        for p in 0..<planes {
            for oh in 0..<outH {
                let (h0, h1, spanH) = window(oh, size: height, out: outH, kernel: kernelH, stride: strideH, pad: padH)
                for ow in 0..<outW {
                    let (w0, w1, spanW) = window(ow, size: width, out: outW, kernel: kernelW, stride: strideW, pad: padW)
                    body(p, (p * outH + oh) * outW + ow, h0..<h1, w0..<w1, countIncludePad ? spanH * spanW : (h1 - h0) * (w1 - w0))
                }
            }
        }
    }

    /// The output shape: the input's leading dimensions, then `outH`, `outW`.
    func outputShape(of input: Dims) -> Dims {
        var shape = input
        shape[input.count - 2] = outH
        shape[input.count - 1] = outW
        return shape
    }
}

extension TensorMemory {
    /// Max pooling; `indices` (int64, the output's shape) receives the flat index in its plane
    /// of each window's maximum (no record).
    func maxPool(_ input: Tensor, _ geo: PoolGeometry) -> (out: Tensor, indices: Tensor) {
        let dtype = slot(input).pointee.dtype
        let x = kernelOperand(input)
        let s = slot(x).pointee
        let out = makeTensor(shape: geo.outputShape(of: s.shape), dtype: s.dtype)
        let indices = makeTensor(shape: geo.outputShape(of: s.shape), dtype: .int64)
        s.dtype.withNumericElement(MaxPoolPlanes(geo: geo, x: UnsafeRawPointer(rawBase(x)), out: rawBase(out),
                                                 indices: base(indices, as: Int64.self)))
        return (rounded(out, to: dtype), indices)
    }

    /// Average pooling (strided windows, or adaptive ones when `geo.adaptive`), or its adjoint
    /// (spreading `g` back over the windows) when `backward`.
    func avgPool(_ source: Tensor, _ geo: PoolGeometry, countIncludePad: Bool, inputShape: Dims, backward: Bool) -> Tensor {
        let resultType = slot(source).pointee.dtype
        let x = kernelOperand(source)
        let dtype = slot(x).pointee.dtype
        let out = backward ? makeZeros(shape: inputShape, dtype: dtype) : makeTensor(shape: geo.outputShape(of: inputShape), dtype: dtype)
        dtype.withNumericElement(AvgPoolPlanes(geo: geo, x: UnsafeRawPointer(rawBase(x)), out: rawBase(out),
                                             countIncludePad: countIncludePad, backward: backward))
        return rounded(out, to: resultType)
    }

}

/// The geometry of a pooling of `input`, checked with PyTorch's messages in PyTorch's order:
/// the input's rank, each dimension's output size (height first: stride, padding), the window,
/// the input's sizes, the output's, and last the dtype.
private func poolGeometry(
    _ input: Tensor, maxPooling: Bool, kernelSize: Size2D, stride: Size2D?, padding: Size2D
) throws(TapeGradError) -> PoolGeometry {
    let xs = input.info.shape, rank = xs.count
    if maxPooling {
        guard rank == 3 || rank == 4 else { throw .runtime("non-empty 3D or 4D (batch mode) tensor expected for input") }
    } else if rank < 3 {
        // avg_pool2d reads the input's size(-3) first.
        if rank == 0 { throw .index("Dimension specified as -3 but tensor has no dimensions") }
        _ = try Shapes.normalize(dim: -3, rank: rank)
    }
    let stride = stride ?? kernelSize
    func checkOutputSize(_ kernel: Int, _ step: Int, _ pad: Int) throws(TapeGradError) {
        guard step != 0 else { throw .runtime("stride should not be zero") }
        guard pad >= 0 else { throw .runtime("pad must be non-negative, but got pad: \(pad)") }
        guard pad <= kernel / 2 else {
            throw .runtime("pad should be at most half of effective kernel size, but got pad=\(pad), kernel_size=\(kernel) and dilation=1")
        }
    }
    try checkOutputSize(kernelSize.height, stride.height, padding.height)
    try checkOutputSize(kernelSize.width, stride.width, padding.width)
    guard kernelSize.height > 0 && kernelSize.width > 0 else {
        throw .runtime("kernel size should be greater than zero, but got kH: \(kernelSize.height) kW: \(kernelSize.width)")
    }
    guard stride.height > 0 && stride.width > 0 else {
        throw .runtime("stride should be greater than zero, but got dH: \(stride.height) dW: \(stride.width)")
    }
    // Only the batch (of a 4-D input) may be empty.
    guard rank == 3 || rank == 4, xs[rank - 3] != 0 && xs[rank - 2] != 0 && xs[rank - 1] != 0 else {
        throw .runtime("Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, but got:\(xs.array)")
    }
    var geo = PoolGeometry()
    geo.planes = rank == 4 ? xs[0] * xs[1] : xs[0]
    geo.height = xs[rank - 2]; geo.width = xs[rank - 1]
    geo.kernelH = kernelSize.height; geo.kernelW = kernelSize.width
    geo.strideH = stride.height; geo.strideW = stride.width
    geo.padH = padding.height; geo.padW = padding.width
    geo.outH = NNChecks.outputSize(geo.height, kernel: geo.kernelH, stride: geo.strideH, padding: geo.padH, dilation: 1)
    geo.outW = NNChecks.outputSize(geo.width, kernel: geo.kernelW, stride: geo.strideW, padding: geo.padW, dilation: 1)
    guard geo.outH > 0 && geo.outW > 0 else {
        throw .runtime("Given input size: (\(xs[rank - 3])x\(geo.height)x\(geo.width)). Calculated output size: (\(xs[rank - 3])x\(geo.outH)x\(geo.outW)). Output size is too small")
    }
    // Max pooling takes every integer type, average pooling int64 (PyTorch's kernels).
    if !(maxPooling ? input.dtype.isIntegral : input.dtype == .int64) {
        try NNChecks.requireFloat(input, maxPooling ? "max_pool2d" : "avg_pool2d")
    }
    try NNChecks.checkPackable(kernelSize, "kernel size")
    try NNChecks.checkPackable(stride, "stride")
    return geo
}

private func poolRecord(_ op: OpCode, _ out: Tensor, _ input: Tensor, _ geo: PoolGeometry) -> Record {
    var record = Record(op, result: out, a: input)
    record.dims = PackedBytes.pack(geo.kernelH, geo.kernelW, geo.strideH, geo.strideW)
    record.s0 = Double(geo.padH)
    record.s1 = Double(geo.padW)
    return record
}

/// The pooling ops and their backwards as recorded ops with a known geometry, each one's
/// backward made of the others, so gradients can be differentiated again.
enum PoolingOps {
    /// Average pooling without checks (node `AvgPool2DBackward0`).
    static func avgPool(_ x: Tensor, _ geo: PoolGeometry, countIncludePad: Bool) -> Tensor {
        let e = engine
        let out = e.memory.avgPool(x, geo, countIncludePad: countIncludePad, inputShape: x.info.shape, backward: false)
        var record = poolRecord(.avgPool2d, out, x, geo)
        record.i0 = countIncludePad ? 1 : 0
        return e.pointee.recordIfNeeded(record)
    }

    /// Average pooling's backward: `g` spread evenly over each window (`AvgPool2DBackwardBackward0`).
    static func avgPoolBackward(_ g: Tensor, _ geo: PoolGeometry, countIncludePad: Bool, inputShape: Dims) -> Tensor {
        let e = engine
        let out = e.memory.avgPool(g, geo, countIncludePad: countIncludePad, inputShape: inputShape, backward: true)
        var record = poolRecord(.avgPool2dBackward, out, g, geo)
        record.i0 = countIncludePad ? 1 : 0
        return e.pointee.recordIfNeeded(record)
    }

    /// Adaptive average pooling's backward (`AdaptiveAvgPool2DBackwardBackward0`).
    static func adaptiveAvgPoolBackward(_ g: Tensor, inputShape: Dims) -> Tensor {
        let e = engine
        let out = e.memory.avgPool(g, adaptiveGeometry(input: inputShape, output: g.info.shape), countIncludePad: true, inputShape: inputShape, backward: true)
        return e.pointee.recordIfNeeded(Record(.adaptiveAvgPool2dBackward, result: out, a: g))
    }

    /// Max pooling's backward: each gradient added at the index of its window's maximum
    /// (`MaxPool2DWithIndicesBackwardBackward0`).
    static func maxPoolBackward(_ g: Tensor, _ indices: Tensor, inputShape: Dims) -> Tensor {
        let e = engine
        let out = e.memory.maxPoolIndexed(g, indices, inputShape: inputShape, scatter: true)
        return e.pointee.recordIfNeeded(Record(.maxPool2dBackward, result: out, a: g, b: indices))
    }

    /// The values of `x` at the indices of max pooling's maxima (`GatherBackward0`): the
    /// adjoint of `maxPoolBackward`.
    static func maxPoolGather(_ x: Tensor, _ indices: Tensor) -> Tensor {
        let e = engine
        let out = e.memory.maxPoolIndexed(x, indices, inputShape: indices.info.shape, scatter: false)
        return e.pointee.recordIfNeeded(Record(.maxPool2dGather, result: out, a: x, b: indices))
    }

    static func adaptiveGeometry(input x: Dims, output y: Dims) -> PoolGeometry {
        var geo = PoolGeometry(input: x, output: y)
        geo.adaptive = true
        return geo
    }
}

extension TensorMemory {
    /// With `scatter`, adds each element of `source` (pooled shape) into a zero tensor of
    /// `inputShape` at its plane's index in `indices`; else reads `source` (input shape) at the
    /// indices into a tensor of the indices' shape (no record).
    func maxPoolIndexed(_ source: Tensor, _ indices: Tensor, inputShape: Dims, scatter: Bool) -> Tensor {
        let resultType = slot(source).pointee.dtype
        let src = kernelOperand(source)
        let dtype = slot(src).pointee.dtype
        let pooled = slot(indices).pointee.shape
        let full = scatter ? inputShape : slot(src).pointee.shape
        let geo = PoolGeometry(input: full, output: pooled)
        let planes = geo.planes, inPlane = geo.height * geo.width, outPlane = geo.outH * geo.outW
        let out = scatter ? makeZeros(shape: inputShape, dtype: dtype) : makeTensor(shape: pooled, dtype: dtype)
        dtype.withFloatElement(MaxPoolIndexedPlanes(
            source: UnsafeRawPointer(rawBase(src)), indices: UnsafeRawPointer(rawBase(indices)), out: rawBase(out),
            planes: planes, inPlane: inPlane, outPlane: outPlane, scatter: scatter))
        return rounded(out, to: resultType)
    }

}

/// Max pooling over windows of `kernelSize` moved by `stride` (default: the kernel size), with
/// `-inf` padding (`torch.nn.functional.max_pool2d`). The gradient goes to each window's
/// maximum (the first one, on ties).
public func maxPool2d(_ input: Tensor, kernelSize: Size2D, stride: Size2D? = nil, padding: Size2D = 0) throws(TapeGradError) -> Tensor {
    let geo = try poolGeometry(input, maxPooling: true, kernelSize: kernelSize, stride: stride, padding: padding)
    let e = engine
    let (out, indices) = e.memory.maxPool(input, geo)
    var record = poolRecord(.maxPool2d, out, input, geo)
    record.b = indices
    return e.pointee.recordIfNeeded(record)
}

/// Average pooling over windows of `kernelSize` moved by `stride` (default: the kernel size)
/// (`torch.nn.functional.avg_pool2d`); with `countIncludePad` the zero padding counts in the
/// divisor, as PyTorch's default does.
public func avgPool2d(
    _ input: Tensor, kernelSize: Size2D, stride: Size2D? = nil, padding: Size2D = 0, countIncludePad: Bool = true
) throws(TapeGradError) -> Tensor {
    let geo = try poolGeometry(input, maxPooling: false, kernelSize: kernelSize, stride: stride, padding: padding)
    return PoolingOps.avgPool(input, geo, countIncludePad: countIncludePad)
}

/// Average pooling to a fixed output size, whatever the input's
/// (`torch.nn.functional.adaptive_avg_pool2d`). To 1×1 it is the mean over the last two
/// dimensions, as in PyTorch (node `MeanBackward1`).
public func adaptiveAvgPool2d(_ input: Tensor, outputSize: Size2D) throws(TapeGradError) -> Tensor {
    let xs = input.info.shape, rank = xs.count
    // F.adaptive_avg_pool2d's Python check, for an output size given as a pair.
    if outputSize.isPair && rank <= 2 { throw TapeGradError(.valueError, "Input dimension should be at least 3") }
    guard outputSize.height >= 0 && outputSize.width >= 0 else {
        throw .runtime("adaptive_avg_pool2d: elements of output_size must be greater than or equal to 0 but received {\(outputSize.height), \(outputSize.width)}")
    }
    let e = engine
    if outputSize == Size2D(1) {
        // mean(dims: [-2, -1], keepDim: true), of any rank from 2 on, spelled without an array
        // of dimensions.
        // (PyTorch wraps the dimension as if a 0-dim tensor had one.)
        _ = try Shapes.normalize(dim: -2, rank: Swift.max(rank, 1))
        guard input.dtype.isFloatingPoint else {
            throw TapeGradError(.notImplementedError, "mean(): could not infer output dtype. Input dtype must be either a floating point or complex dtype. Got: \(input.dtype.scalarTypeName)")
        }
        let mask: UInt32 = 1 << UInt32(rank - 2) | 1 << UInt32(rank - 1)
        return input.reduction(.meanDims, mask: mask, keepDim: true, kind: .sum, mean: true)
    }
    guard rank == 3 || rank == 4 else {
        throw .runtime("adaptive_avg_pool2d(): Expected 3D or 4D tensor, but got \(xs.array)")
    }
    for d in (rank - 2)..<rank where xs[d] == 0 {
        throw .runtime("adaptive_avg_pool2d(): Expected input to have non-zero size for non-batch dimensions, but input has sizes \(xs.array) with dimension \(d) being empty")
    }
    var outShape = xs
    outShape[rank - 2] = outputSize.height
    outShape[rank - 1] = outputSize.width
    // PyTorch's kernel checks the dtype only when it has elements to write.
    if !input.dtype.isFloatingPoint && outShape.product == 0 { return Tensor.zeros(outShape.array, dtype: input.dtype) }
    try NNChecks.requireFloat(input, "adaptive_avg_pool2d")
    let out = e.memory.avgPool(input, PoolingOps.adaptiveGeometry(input: xs, output: outShape), countIncludePad: true, inputShape: xs, backward: false)
    return e.pointee.recordIfNeeded(Record(.adaptiveAvgPool2d, result: out, a: input))
}

enum PoolingBackward {
    static func maxPool(_ r: Record, _ g: Tensor) -> Gradients {
        Gradients(a: PoolingOps.maxPoolBackward(g, r.b, inputShape: r.a.info.shape))
    }

    /// Of max pooling's backward: the upstream gradient read at the maxima.
    static func maxPoolBackward(_ r: Record, _ u: Tensor) -> Gradients {
        Gradients(a: PoolingOps.maxPoolGather(u, r.b))
    }

    /// Of the gather: scattered back to the maxima.
    static func maxPoolGather(_ r: Record, _ u: Tensor) -> Gradients {
        Gradients(a: PoolingOps.maxPoolBackward(u, r.b, inputShape: r.a.info.shape))
    }

    static func avgPool(_ r: Record, _ g: Tensor) -> Gradients {
        let geo = PoolGeometry(input: r.a.info.shape, output: r.result.info.shape, r)
        return Gradients(a: PoolingOps.avgPoolBackward(g, geo, countIncludePad: r.i0 == 1, inputShape: r.a.info.shape))
    }

    /// Of average pooling's backward (linear): average pooling of the upstream gradient.
    static func avgPoolBackward(_ r: Record, _ u: Tensor) -> Gradients {
        let geo = PoolGeometry(input: r.result.info.shape, output: r.a.info.shape, r)
        return Gradients(a: PoolingOps.avgPool(u, geo, countIncludePad: r.i0 == 1))
    }

    static func adaptiveAvgPool(_ r: Record, _ g: Tensor) -> Gradients {
        Gradients(a: PoolingOps.adaptiveAvgPoolBackward(g, inputShape: r.a.info.shape))
    }

    /// Of adaptive pooling's backward (linear): adaptive pooling of the upstream gradient.
    static func adaptiveAvgPoolBackward(_ r: Record, _ u: Tensor) -> Gradients {
        let shape = r.a.info.shape
        return Gradients(a: trapping { try adaptiveAvgPool2d(u, outputSize: Size2D(shape[shape.count - 2], shape[shape.count - 1])) })
    }
}

// MARK: The pooling kernels in the operands' element type

private struct MaxPoolPlanes: FloatComputation, IntegerComputation {
    let geo: PoolGeometry, x: UnsafeRawPointer, out: UnsafeMutableRawPointer, indices: UnsafeMutablePointer<Int64>

    func run<T: TensorElement & Comparable>(_: T.Type) {
        Kernels.maxPool(geo, x.assumingMemoryBound(to: T.self), out.assumingMemoryBound(to: T.self), indices)
    }
}

private struct AvgPoolPlanes: FloatComputation, IntegerComputation {
    let geo: PoolGeometry, x: UnsafeRawPointer, out: UnsafeMutableRawPointer, countIncludePad: Bool, backward: Bool

    func run<T: FloatElement>(_: T.Type) {
        let x = x.assumingMemoryBound(to: T.self), out = out.assumingMemoryBound(to: T.self)
        if backward {
            Kernels.avgPoolBackward(geo, x, out, countIncludePad)
        } else {
            Kernels.avgPool(geo, x, out, countIncludePad, add: { $0 + $1 }, divide: { $0 / T($1) })
        }
    }

    func run<T: IntegerElement>(_: T.Type) {
        Kernels.avgPool(geo, x.assumingMemoryBound(to: T.self), out.assumingMemoryBound(to: T.self), countIncludePad,
                       add: { $0 &+ $1 }, divide: { $0 / T($1) })
    }
}

private struct MaxPoolIndexedPlanes: FloatComputation {
    let source: UnsafeRawPointer, indices: UnsafeRawPointer, out: UnsafeMutableRawPointer
    let planes: Int, inPlane: Int, outPlane: Int, scatter: Bool

    func run<T: FloatElement>(_: T.Type) {
        Kernels.maxPoolIndexed(source.assumingMemoryBound(to: T.self), indices.assumingMemoryBound(to: Int64.self),
                              out.assumingMemoryBound(to: T.self), planes, inPlane, outPlane, scatter)
    }
}

extension Kernels {
    /// Each window's first maximum (a NaN wins, as in PyTorch; `v != v` is false for integers).
    static func maxPool<T: TensorElement & Comparable>(
        _ geo: PoolGeometry, _ x: UnsafePointer<T>, _ out: UnsafeMutablePointer<T>, _ indices: UnsafeMutablePointer<Int64>
    ) {
        for p in 0..<geo.planes {
            let plane = x + p * geo.height * geo.width
            let o = out + p * geo.outH * geo.outW
            let idx = indices + p * geo.outH * geo.outW
            for oh in 0..<geo.outH {
                let h0 = Swift.max(oh * geo.strideH - geo.padH, 0)
                let h1 = Swift.min(oh * geo.strideH - geo.padH + geo.kernelH, geo.height)
                for ow in 0..<geo.outW {
                    let w0 = Swift.max(ow * geo.strideW - geo.padW, 0)
                    let w1 = Swift.min(ow * geo.strideW - geo.padW + geo.kernelW, geo.width)
                    // Padding is at most half the kernel, so every window holds an element.
                    var at = h0 * geo.width + w0
                    var best = plane[at]
                    if best == best {
                        search: for ih in h0..<h1 {
                            for iw in w0..<w1 {
                                let v = plane[ih * geo.width + iw]
                                if v > best || v != v {
                                    best = v
                                    at = ih * geo.width + iw
                                    if v != v { break search }
                                }
                            }
                        }
                    }
                    o[oh * geo.outW + ow] = best
                    idx[oh * geo.outW + ow] = Int64(at)
                }
            }
        }
    }

    /// The windows' sums divided by their sizes (int64 divides toward zero, as PyTorch's).
    @inline(__always)
    static func avgPool<T: TensorElement>(
        _ geo: PoolGeometry, _ x: UnsafePointer<T>, _ out: UnsafeMutablePointer<T>, _ countIncludePad: Bool,
        add: (T, T) -> T, divide: (T, Int) -> T
    ) {
        let inPlane = geo.height * geo.width
        geo.forEachWindow(countIncludePad: countIncludePad) { p, o, rows, columns, divisor in
            var total = T(fromInt64: 0)
            for ih in rows { for iw in columns { total = add(total, x[p * inPlane + ih * geo.width + iw]) } }
            out[o] = divide(total, divisor)
        }
    }

    /// Average pooling's adjoint: each gradient spread evenly over its window.
    static func avgPoolBackward<T: FloatElement>(_ geo: PoolGeometry, _ x: UnsafePointer<T>, _ out: UnsafeMutablePointer<T>, _ countIncludePad: Bool) {
        let inPlane = geo.height * geo.width
        geo.forEachWindow(countIncludePad: countIncludePad) { p, o, rows, columns, divisor in
            let share = x[o] / T(divisor)
            for ih in rows { for iw in columns { out[p * inPlane + ih * geo.width + iw] += share } }
        }
    }

    static func maxPoolIndexed<T: FloatElement>(
        _ s: UnsafePointer<T>, _ idx: UnsafePointer<Int64>, _ o: UnsafeMutablePointer<T>,
        _ planes: Int, _ inPlane: Int, _ outPlane: Int, _ scatter: Bool
    ) {
        for p in 0..<planes {
            for i in 0..<outPlane {
                let at = p * inPlane + Int(idx[p * outPlane + i])
                if scatter { o[at] += s[p * outPlane + i] } else { o[p * outPlane + i] = s[at] }
            }
        }
    }
}
