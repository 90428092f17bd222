// Two-dimensional convolution (`torch.nn.functional.conv2d`) by im2col into CBLAS gemm, one
// image and one group at a time, through a scratch buffer from the pool (no allocation once
// the pool has one of its size). Backward recomputes the columns: the weight's gradient is
// gᵀ·columns, the input's is col2im(Wᵀ·g). Node: `ConvolutionBackward0`.

/// The geometry of one convolution: sizes of input, kernel and output, and the arguments.
struct ConvGeometry {
    var batch = 0, channels = 0, height = 0, width = 0
    var outChannels = 0, groups = 1, kernelH = 0, kernelW = 0
    var strideH = 1, strideW = 1, padH = 0, padW = 0, dilationH = 1, dilationW = 1
    var outH = 0, outW = 0

    var groupChannels: Int { channels / groups }
    var groupOutChannels: Int { outChannels / groups }
    /// Rows of the column matrix: one per (channel, kernel row, kernel column) of a group.
    var columnRows: Int { groupChannels * kernelH * kernelW }
    var columnCount: Int { outH * outW }
    /// A 1×1 kernel with stride 1 and no padding reads the image itself as its columns.
    var isPointwise: Bool { kernelH == 1 && kernelW == 1 && strideH == 1 && strideW == 1 && padH == 0 && padW == 0 }

    /// The geometry a record packed.
    init(record r: Record) {
        let x = r.a.info.shape, w = r.b.info.shape
        batch = x[0]; channels = x[1]; height = x[2]; width = x[3]
        outChannels = w[0]; kernelH = w[2]; kernelW = w[3]
        groups = Int(r.i0)
        (strideH, strideW, padH, padW) = PackedBytes.unpack(r.dims)
        dilationH = Int(r.s0); dilationW = Int(r.s1)
        outH = NNChecks.outputSize(height, kernel: kernelH, stride: strideH, padding: padH, dilation: dilationH)
        outW = NNChecks.outputSize(width, kernel: kernelW, stride: strideW, padding: padW, dilation: dilationW)
    }

    init() {}

    /// Copies the receptive fields of one group of one image into `columns`
    /// (`[columnRows, outH·outW]`), zeros where they reach into the padding.
    func im2col<T: FloatElement>(_ image: UnsafePointer<T>, _ columns: UnsafeMutablePointer<T>) {
        var row = 0
        for c in 0..<groupChannels {
            let plane = image + c * height * width
            for ki in 0..<kernelH {
                for kj in 0..<kernelW {
                    let out = columns + row * columnCount
                    for oh in 0..<outH {
                        let ih = oh * strideH - padH + ki * dilationH
                        let line = out + oh * outW
                        if ih < 0 || ih >= height {
                            line.update(repeating: 0, count: outW)
                            continue
                        }
                        let source = plane + ih * width
                        for ow in 0..<outW {
                            let iw = ow * strideW - padW + kj * dilationW
                            line[ow] = iw >= 0 && iw < width ? source[iw] : 0
                        }
                    }
                    row += 1
                }
            }
        }
    }

    /// Adds the columns back into the image they were read from (the adjoint of `im2col`).
    func col2im<T: FloatElement>(_ columns: UnsafePointer<T>, _ image: UnsafeMutablePointer<T>) {
        var row = 0
        for c in 0..<groupChannels {
            let plane = image + c * height * width
            for ki in 0..<kernelH {
                for kj in 0..<kernelW {
                    let source = columns + row * columnCount
                    for oh in 0..<outH {
                        let ih = oh * strideH - padH + ki * dilationH
                        if ih < 0 || ih >= height { continue }
                        let line = source + oh * outW
                        let target = plane + ih * width
                        for ow in 0..<outW {
                            let iw = ow * strideW - padW + kj * dilationW
                            if iw >= 0 && iw < width { target[iw] += line[ow] }
                        }
                    }
                    row += 1
                }
            }
        }
    }
}

extension Engine {
    /// The convolution's output (no record).
    mutating func convolution(_ input: Tensor, _ weight: Tensor, _ bias: Tensor, _ geo: ConvGeometry) -> Tensor {
        let x = contiguousOperand(input), w = contiguousOperand(weight)
        let b = bias.isNull ? bias : contiguousOperand(bias)
        let dtype = slot(x).pointee.dtype
        let out = makeTensor(shape: Dims(geo.batch, geo.outChannels, geo.outH, geo.outW), dtype: dtype)
        let columns = geo.isPointwise ? Tensor.null : makeTensor(shape: Dims(geo.columnRows, geo.columnCount), dtype: dtype)
        if dtype == .float64 {
            Self.convolution(geo, base(x, as: Double.self), base(w, as: Double.self), b.isNull ? nil : base(b, as: Double.self),
                             columns.isNull ? nil : base(columns, as: Double.self), base(out, as: Double.self))
        } else {
            Self.convolution(geo, base(x, as: Float.self), base(w, as: Float.self), b.isNull ? nil : base(b, as: Float.self),
                             columns.isNull ? nil : base(columns, as: Float.self), base(out, as: Float.self))
        }
        return out
    }

    private static func convolution<T: FloatElement>(
        _ geo: ConvGeometry, _ x: UnsafePointer<T>, _ w: UnsafePointer<T>, _ bias: UnsafePointer<T>?,
        _ columns: UnsafeMutablePointer<T>?, _ out: UnsafeMutablePointer<T>
    ) {
        let l = geo.columnCount, k = geo.columnRows, og = geo.groupOutChannels
        for n in 0..<geo.batch {
            for g in 0..<geo.groups {
                let image = x + (n * geo.channels + g * geo.groupChannels) * geo.height * geo.width
                let cols: UnsafePointer<T>
                if let columns {
                    geo.im2col(image, columns)
                    cols = UnsafePointer(columns)
                } else {
                    cols = image
                }
                gemm(transA: false, transB: false, m: og, n: l, k: k, w + g * og * k, lda: k, cols, ldb: l,
                     beta: 0, out + (n * geo.outChannels + g * og) * l, ldc: l)
            }
            if let bias {
                for o in 0..<geo.outChannels {
                    let plane = out + (n * geo.outChannels + o) * l
                    let value = bias[o]
                    for i in 0..<l { plane[i] += value }
                }
            }
        }
    }

    /// The gradients of a convolution's input, weight and bias (those asked for; no record).
    mutating func convolutionBackward(_ r: Record, _ g: Tensor) -> Gradients {
        let geo = ConvGeometry(record: r)
        let x = contiguousOperand(r.a), w = contiguousOperand(r.b), g = contiguousOperand(g)
        let dtype = slot(x).pointee.dtype
        var grads = Gradients()
        if r.needsA { grads.a = makeZeros(shape: slot(x).pointee.shape, dtype: dtype) }
        if r.needsB { grads.b = makeZeros(shape: slot(w).pointee.shape, dtype: dtype) }
        if r.needsC { grads.c = makeTensor(shape: Dims(CollectionOfOne(geo.outChannels)), dtype: dtype) }
        let columns = makeTensor(shape: Dims(geo.columnRows, geo.columnCount), dtype: dtype)
        if dtype == .float64 {
            Self.convolutionBackward(geo, base(x, as: Double.self), base(w, as: Double.self), base(g, as: Double.self),
                                     base(columns, as: Double.self), pointer(grads.a, Double.self), pointer(grads.b, Double.self),
                                     pointer(grads.c, Double.self))
        } else {
            Self.convolutionBackward(geo, base(x, as: Float.self), base(w, as: Float.self), base(g, as: Float.self),
                                     base(columns, as: Float.self), pointer(grads.a, Float.self), pointer(grads.b, Float.self),
                                     pointer(grads.c, Float.self))
        }
        return grads
    }

    @inline(__always)
    func pointer<T>(_ t: Tensor, _: T.Type) -> UnsafeMutablePointer<T>? { t.isNull ? nil : base(t, as: T.self) }

    private static func convolutionBackward<T: FloatElement>(
        _ geo: ConvGeometry, _ x: UnsafePointer<T>, _ w: UnsafePointer<T>, _ g: UnsafePointer<T>,
        _ columns: UnsafeMutablePointer<T>, _ gx: UnsafeMutablePointer<T>?, _ gw: UnsafeMutablePointer<T>?,
        _ gb: UnsafeMutablePointer<T>?
    ) {
        let l = geo.columnCount, k = geo.columnRows, og = geo.groupOutChannels
        for n in 0..<geo.batch {
            for grp in 0..<geo.groups {
                let offset = (n * geo.channels + grp * geo.groupChannels) * geo.height * geo.width
                let upstream = g + (n * geo.outChannels + grp * og) * l
                if let gw {
                    let cols: UnsafePointer<T>
                    if geo.isPointwise {
                        cols = x + offset
                    } else {
                        geo.im2col(x + offset, columns)
                        cols = UnsafePointer(columns)
                    }
                    // dW[og, k] += g[og, l] · colsᵀ[l, k]
                    gemm(transA: false, transB: true, m: og, n: k, k: l, upstream, lda: l, cols, ldb: l,
                         beta: 1, gw + grp * og * k, ldc: k)
                }
                if let gx {
                    // dcols[k, l] = Wᵀ[k, og] · g[og, l], added back into the image.
                    if geo.isPointwise {
                        gemm(transA: true, transB: false, m: k, n: l, k: og, w + grp * og * k, lda: k, upstream, ldb: l,
                             beta: 1, gx + offset, ldc: l)
                    } else {
                        gemm(transA: true, transB: false, m: k, n: l, k: og, w + grp * og * k, lda: k, upstream, ldb: l,
                             beta: 0, columns, ldc: l)
                        geo.col2im(UnsafePointer(columns), gx + offset)
                    }
                }
            }
        }
        if let gb {
            for o in 0..<geo.outChannels {
                var total: T = 0
                for n in 0..<geo.batch {
                    let plane = g + (n * geo.outChannels + o) * l
                    for i in 0..<l { total += plane[i] }
                }
                gb[o] = total
            }
        }
    }
}

/// A 2-D convolution over `[N, C, H, W]` (or unbatched `[C, H, W]`) input with `weight` of
/// shape `[out_channels, C / groups, kH, kW]` and an optional `bias` of `[out_channels]`
/// (`torch.nn.functional.conv2d`). Stride, padding and dilation are pairs or one number;
/// each part must be below 256.
public func conv2d(
    _ input: Tensor, weight: Tensor, bias: Tensor? = nil, stride: Size2D = 1, padding: Size2D = 0,
    dilation: Size2D = 1, groups: Int = 1
) throws(TapeGradError) -> Tensor {
    let xs = input.info.shape, ws = weight.info.shape
    if xs.count == 3 {
        let batched = try conv2d(try input.unsqueeze(0), weight: weight, bias: bias, stride: stride, padding: padding,
                                 dilation: dilation, groups: groups)
        return try batched.squeeze(0)
    }
    guard xs.count == 4 else {
        throw .runtime("Expected 3D (unbatched) or 4D (batched) input to conv2d, but got input of size: \(xs.array)")
    }
    guard ws.count == 4 else {
        throw .runtime("weight should have at least three dimensions")
    }
    guard groups > 0 else { throw .runtime("non-positive groups is not supported") }
    try NNChecks.checkPackable(stride, "stride", allowZero: false)
    try NNChecks.checkPackable(padding, "padding", allowZero: true)
    try NNChecks.checkPackable(dilation, "dilation", allowZero: false)
    guard groups < 32768 else { throw .runtime("TapeGrad: groups \(groups) is too large") }
    guard ws[0] % groups == 0 else {
        throw .runtime("Given groups=\(groups), expected weight to be divisible by \(groups) at dimension 0, but got weight of size \(ws.array) instead")
    }
    guard xs[1] == ws[1] * groups else {
        throw .runtime("Given groups=\(groups), weight of size \(ws.array), expected input\(xs.array) to have \(ws[1] * groups) channels, but got \(xs[1]) channels instead")
    }
    guard input.dtype == weight.dtype, input.dtype.isFloatingPoint else {
        throw .runtime("Input type (\(input.dtype.torchTypeName)) and weight type (\(weight.dtype.torchTypeName)) should be the same")
    }
    if let bias {
        guard bias.info.shape.count == 1 && bias.info.shape[0] == ws[0] else {
            throw .runtime("Given weight of size \(ws.array), expected bias to be 1-dimensional with \(ws[0]) elements, but got bias of size \(bias.info.shape.array) instead")
        }
        guard bias.dtype == input.dtype else {
            throw .runtime("Input type (\(input.dtype.torchTypeName)) and bias type (\(bias.dtype.torchTypeName)) should be the same")
        }
    }
    var geo = ConvGeometry()
    geo.batch = xs[0]; geo.channels = xs[1]; geo.height = xs[2]; geo.width = xs[3]
    geo.outChannels = ws[0]; geo.groups = groups; geo.kernelH = ws[2]; geo.kernelW = ws[3]
    geo.strideH = stride.height; geo.strideW = stride.width
    geo.padH = padding.height; geo.padW = padding.width
    geo.dilationH = dilation.height; geo.dilationW = dilation.width
    let paddedH = geo.height + 2 * geo.padH, paddedW = geo.width + 2 * geo.padW
    let spanH = geo.dilationH * (geo.kernelH - 1) + 1, spanW = geo.dilationW * (geo.kernelW - 1) + 1
    guard spanH <= paddedH && spanW <= paddedW else {
        throw .runtime("Calculated padded input size per channel: (\(paddedH) x \(paddedW)). Kernel size: (\(spanH) x \(spanW)). Kernel size can't be greater than actual input size")
    }
    geo.outH = NNChecks.outputSize(geo.height, kernel: geo.kernelH, stride: geo.strideH, padding: geo.padH, dilation: geo.dilationH)
    geo.outW = NNChecks.outputSize(geo.width, kernel: geo.kernelW, stride: geo.strideW, padding: geo.padW, dilation: geo.dilationW)
    let e = engine
    let out = e.pointee.convolution(input, weight, bias ?? .null, geo)
    var record = Record(.convolution, result: out, a: input, b: weight)
    record.c = bias ?? .null
    record.i0 = Int16(groups)
    record.dims = PackedBytes.pack(geo.strideH, geo.strideW, geo.padH, geo.padW)
    record.s0 = Double(geo.dilationH)
    record.s1 = Double(geo.dilationW)
    return e.pointee.recordIfNeeded(record)
}

extension DType {
    /// PyTorch's tensor type name in type-mismatch messages.
    var torchTypeName: String {
        self == .float64 ? "torch.DoubleTensor" : (self == .float32 ? "torch.FloatTensor" : "torch.BoolTensor")
    }
}

enum ConvolutionBackward {
    static func convolution(_ r: Record, _ g: Tensor) throws(TapeGradError) -> Gradients {
        try NNChecks.refuseDoubleBackward("ConvolutionBackward0")
        return engine.pointee.convolutionBackward(r, g)
    }
}
