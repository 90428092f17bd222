// Two-dimensional convolution (`torch.nn.functional.conv2d`). float32 3×3 kernels with stride 1,
// padding 1 and one group go through Winograd's F(4×4, 3×3) when the batch has enough output
// tiles (`Winograd.applies`, Winograd.swift); the rest by im2col into CBLAS gemm, one
// group at a time, the columns of several images side by side in one product (small feature
// maps would make thin gemms), through scratch buffers taken from the pool and given back at
// once (no allocation once the pool has them). A 1×1 stride-1 kernel without padding reads the
// image itself. Backward recomputes the columns: the weight's gradient is g·columnsᵀ, the
// input's col2im(Wᵀ·g), or col2im((gᵀ·W)ᵀ) for few columns. Node: `ConvolutionBackward0`; under createGraph the
// two halves of the backward are recorded ops (`ConvolutionBackwardBackward0`), so convolutions
// can be differentiated any number of times.

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

    /// The geometry of a convolution of `input` by `weight` with the arguments a record packed
    /// (`dims`: stride and padding, `i0`: groups, `s0`/`s1`: dilation).
    init(input x: Dims, weight w: Dims, _ r: Record) {
        batch = x[0]; channels = x[1]; height = x[2]; width = x[3]
        outChannels = w[0]; kernelH = w[2]; kernelW = w[3]
        groups = Int(r.i0)
        (strideH, strideW, padH, padW) = PackedBytes.unpack(r.dims)
        dilationH = Int(r.s0); dilationW = Int(r.s1)
        outH = NNChecks.outputSize(height, kernel: kernelH, stride: strideH, padding: padH, dilation: dilationH)
        outW = NNChecks.outputSize(width, kernel: kernelW, stride: strideW, padding: padW, dilation: dilationW)
    }

    /// Packs the arguments into a record (the inverse of `init(input:weight:_:)`).
    func pack(into r: inout Record) {
        r.i0 = Int16(groups)
        r.dims = PackedBytes.pack(strideH, strideW, padH, padW)
        r.s0 = Double(dilationH)
        r.s1 = Double(dilationW)
    }

    var inputShape: Dims { Dims(batch, channels, height, width) }
    var weightShape: Dims { Dims(outChannels, groupChannels, kernelH, kernelW) }

    init() {}

    /// Products with at most this many columns compute the input's gradient transposed
    /// (gᵀ·W): with the weight out of cache, OpenBLAS 0.3.21 takes 15–20% less time for it
    /// than for Wᵀ·g at 4 to 64 columns.
    static let transposedColumnLimit = 64

    /// Whether products read the images themselves as their columns: a 1×1 stride-1 kernel
    /// without padding, one image per product.
    var readsImagesDirectly: Bool { isPointwise && chunkImages == 1 }

    /// Images whose columns go into one gemm: enough for about 1024 columns (small feature maps
    /// make thin products otherwise), at most 4M elements of columns.
    var chunkImages: Int {
        let l = Swift.max(columnCount, 1)
        let wanted = (1024 + l - 1) / l
        let cap = (1 << 22) / Swift.max(columnRows * l, 1)
        return Swift.max(1, Swift.min(batch, wanted, cap))
    }

    /// The output columns `lo..<hi` whose input column `ow·stride + shift` lies in the image.
    @inline(__always)
    private func validColumns(_ shift: Int) -> (lo: Int, hi: Int) {
        let lo = shift >= 0 ? 0 : Swift.min((-shift + strideW - 1) / strideW, outW)
        let last = width - 1 - shift
        let hi = last < 0 ? 0 : Swift.min(last / strideW + 1, outW)
        return (lo, Swift.max(lo, hi))
    }

    /// Copies the receptive fields of one group of one image into `columns` (`columnRows`
    /// rows of `outH·outW`, `ld` apart), zeros where they reach into the padding.
    func im2col<T: FloatElement>(_ image: UnsafePointer<T>, _ columns: UnsafeMutablePointer<T>, ld: Int) {
        var row = 0
        for c in 0..<groupChannels {
            let plane = image + c * height * width
            for ki in 0..<kernelH {
                for kj in 0..<kernelW {
                    let out = columns + row * ld
                    let shift = kj * dilationW - padW
                    let (lo, hi) = validColumns(shift)
                    for oh in 0..<outH {
                        let ih = oh * strideH - padH + ki * dilationH
                        let line = out + oh * outW
                        if ih < 0 || ih >= height || hi == lo {
                            line.update(repeating: 0, count: outW)
                            continue
                        }
                        if lo > 0 { line.update(repeating: 0, count: lo) }
                        let source = plane + ih * width + lo * strideW + shift
                        if strideW == 1 {
                            (line + lo).update(from: source, count: hi - lo)
                        } else {
                            let target = line + lo
                            for j in 0..<(hi - lo) { target[j] = source[j * strideW] }
                        }
                        if hi < outW { (line + hi).update(repeating: 0, count: outW - hi) }
                    }
                    row += 1
                }
            }
        }
    }

    /// Adds the columns back into the image they were read from (the adjoint of `im2col`):
    /// column j of row r at `columns[r·ld + j]`, or, `transposed`, at `columns[j·ld + r]`.
    func col2im<T: FloatElement>(_ columns: UnsafePointer<T>, ld: Int, transposed: Bool = false, _ image: UnsafeMutablePointer<T>) {
        let (rowStride, step) = transposed ? (1, ld) : (ld, 1)
        var row = 0
        for c in 0..<groupChannels {
            let plane = image + c * height * width
            for ki in 0..<kernelH {
                for kj in 0..<kernelW {
                    let source = columns + row * rowStride
                    let shift = kj * dilationW - padW
                    let (lo, hi) = validColumns(shift)
                    row += 1
                    if hi == lo { continue }
                    for oh in 0..<outH {
                        let ih = oh * strideH - padH + ki * dilationH
                        if ih < 0 || ih >= height { continue }
                        let line = source + (oh * outW + lo) * step
                        let target = plane + ih * width + lo * strideW + shift
                        if strideW == 1 && step == 1 {
                            for j in 0..<(hi - lo) { target[j] += line[j] }
                        } else {
                            for j in 0..<(hi - lo) { target[j * strideW] += line[j * step] }
                        }
                    }
                }
            }
        }
    }
}

extension TensorMemory {
    /// The convolution's output (no record).
    func convolution(_ input: Tensor, _ weight: Tensor, _ bias: Tensor, _ geo: ConvGeometry) -> Tensor {
        let resultType = slot(input).pointee.dtype
        let x = kernelOperand(input), w = kernelOperand(weight)
        let b = bias.isNull ? bias : kernelOperand(bias)
        let dtype = slot(x).pointee.dtype
        let out = makeTensor(shape: Dims(geo.batch, geo.outChannels, geo.outH, geo.outW), dtype: dtype)
        // Winograd's algorithm is float32's (for finite operands: it mixes elements in tiles).
        if dtype == .float32 && Winograd.applies(geo) && Winograd.allFinite(base(x, as: Float.self), count: geo.inputShape.product)
            && Winograd.allFinite(base(w, as: Float.self), count: geo.weightShape.product) {
            winogradConvolution(geo, base(x, as: Float.self), base(w, as: Float.self), base(out, as: Float.self))
            if !b.isNull { addBias(geo, base(b, as: Float.self), base(out, as: Float.self)) }
            return rounded(out, to: resultType)
        }
        compute(in: dtype) { Im2colConvolution(memory: $0, geo: geo, x: x, w: w, b: b, out: out) }
        return rounded(out, to: resultType)
    }

    /// Adds `bias[o]` to every element of output channel `o`.
    private func addBias<T: FloatElement>(_ geo: ConvGeometry, _ bias: UnsafePointer<T>, _ out: UnsafeMutablePointer<T>) {
        let l = geo.columnCount
        for n in 0..<geo.batch {
            for o in 0..<geo.outChannels {
                let plane = out + (n * geo.outChannels + o) * l
                let value = bias[o]
                for i in 0..<l { plane[i] += value }
            }
        }
    }

    /// Per group, the columns of `chunkImages` images side by side (`[columnRows, nb·outH·outW]`)
    /// times the group's weight in one gemm, the result moved into place image by image.
    fileprivate func convolution<T: FloatElement>(
        _ geo: ConvGeometry, _ x: UnsafePointer<T>, _ w: UnsafePointer<T>, _ bias: UnsafePointer<T>?, _ out: UnsafeMutablePointer<T>
    ) {
        let l = geo.columnCount, k = geo.columnRows, og = geo.groupOutChannels, chunk = geo.chunkImages
        let imageSize = geo.channels * geo.height * geo.width, outSize = geo.outChannels * l
        let direct = geo.readsImagesDirectly
        let columns = takeScratch(direct ? 0 : k * chunk * l, T.self)
        let staging = takeScratch(chunk > 1 ? og * chunk * l : 0, T.self)
        for g in 0..<geo.groups {
            let weights = w + g * og * k
            var n0 = 0
            while n0 < geo.batch {
                let nb = Swift.min(chunk, geo.batch - n0)
                let first = x + n0 * imageSize + g * geo.groupChannels * geo.height * geo.width
                let target = out + n0 * outSize + g * og * l
                if direct {
                    gemm(transA: false, transB: false, m: og, n: l, k: k, weights, lda: k, first, ldb: l, beta: 0, target, ldc: l)
                } else {
                    let cols = columns.pointer.unsafelyUnwrapped, ld = nb * l
                    for i in 0..<nb { geo.im2col(first + i * imageSize, cols + i * l, ld: ld) }
                    if nb == 1 {
                        gemm(transA: false, transB: false, m: og, n: l, k: k, weights, lda: k, cols, ldb: l, beta: 0, target, ldc: l)
                    } else {
                        let stage = staging.pointer.unsafelyUnwrapped
                        gemm(transA: false, transB: false, m: og, n: ld, k: k, weights, lda: k, cols, ldb: ld, beta: 0, stage, ldc: ld)
                        for i in 0..<nb {
                            for o in 0..<og { (target + i * outSize + o * l).update(from: stage + o * ld + i * l, count: l) }
                        }
                    }
                }
                n0 += nb
            }
        }
        giveScratch(staging)
        giveScratch(columns)
        if let bias { addBias(geo, bias, out) }
    }

    /// The gradients of a convolution's input (`wantInput`, needs `w`) and weight
    /// (`wantWeight`, needs `x`) from the upstream gradient `g` (no record).
    func convolutionGradients(_ geo: ConvGeometry, x: Tensor, w: Tensor, g: Tensor, wantInput: Bool, wantWeight: Bool) -> (input: Tensor, weight: Tensor) {
        let resultType = slot(g).pointee.dtype
        let x = x.isNull ? x : kernelOperand(x), w = w.isNull ? w : kernelOperand(w), g = kernelOperand(g)
        let dtype = slot(g).pointee.dtype
        // The weight's gradient is overwritten by its first product (beta 0), so it needs no
        // zeros; the input's needs them for col2im's sums, unless a 1×1 kernel writes it directly.
        // The input's gradient reads g and the weight, the weight's g and the input.
        let outputSize = geo.batch * geo.outChannels * geo.columnCount
        let winograd = dtype == .float32 && Winograd.applies(geo)
            && Winograd.allFinite(base(g, as: Float.self), count: outputSize)
            && (!wantInput || Winograd.allFinite(base(w, as: Float.self), count: geo.weightShape.product))
            && (!wantWeight || Winograd.allFinite(base(x, as: Float.self), count: geo.inputShape.product))
        let direct = winograd || geo.readsImagesDirectly
        let gx = wantInput ? (direct ? makeTensor(shape: geo.inputShape, dtype: dtype) : makeZeros(shape: geo.inputShape, dtype: dtype)) : Tensor.null
        let gw = wantWeight ? makeTensor(shape: geo.weightShape, dtype: dtype) : Tensor.null
        if winograd {
            if wantInput { winogradConvolution(geo, base(g, as: Float.self), base(w, as: Float.self), base(gx, as: Float.self), transposed: true) }
            if wantWeight { winogradWeightGradient(geo, base(x, as: Float.self), base(g, as: Float.self), base(gw, as: Float.self)) }
        } else {
            compute(in: dtype) { Im2colConvolutionGradients(memory: $0, geo: geo, x: x, w: w, g: g, gx: gx, gw: gw) }
        }
        return (rounded(gx, to: resultType), rounded(gw, to: resultType))
    }

    @inline(__always)
    func pointer<T>(_ t: Tensor, _: T.Type) -> UnsafeMutablePointer<T>? { t.isNull ? nil : base(t, as: T.self) }

    /// Per group and chunk of images: the upstream gradient gathered into `[og, nb·outH·outW]`,
    /// then dW = g·columnsᵀ (the first chunk overwrites, the next ones add) and dcolumns = Wᵀ·g
    /// (or (gᵀ·W)ᵀ for few columns; added back into the images by col2im), one gemm each.
    fileprivate func convolutionBackward<T: FloatElement>(
        _ geo: ConvGeometry, _ x: UnsafeMutablePointer<T>?, _ w: UnsafeMutablePointer<T>?, _ g: UnsafePointer<T>,
        _ gx: UnsafeMutablePointer<T>?, _ gw: UnsafeMutablePointer<T>?
    ) {
        let l = geo.columnCount, k = geo.columnRows, og = geo.groupOutChannels, chunk = geo.chunkImages
        let imageSize = geo.channels * geo.height * geo.width, outSize = geo.outChannels * l
        let direct = geo.readsImagesDirectly
        let columns = takeScratch(direct ? 0 : k * chunk * l, T.self)
        let staging = takeScratch(chunk > 1 ? og * chunk * l : 0, T.self)
        for grp in 0..<geo.groups {
            var n0 = 0
            while n0 < geo.batch {
                let nb = Swift.min(chunk, geo.batch - n0), ld = nb * l
                let offset = n0 * imageSize + grp * geo.groupChannels * geo.height * geo.width
                let gFirst = g + n0 * outSize + grp * og * l
                let upstream: UnsafePointer<T>
                if nb == 1 {
                    upstream = gFirst
                } else {
                    let stage = staging.pointer.unsafelyUnwrapped
                    for i in 0..<nb {
                        for o in 0..<og { (stage + o * ld + i * l).update(from: gFirst + i * outSize + o * l, count: l) }
                    }
                    upstream = UnsafePointer(stage)
                }
                if let gw, let x {
                    let cols: UnsafePointer<T>
                    if direct {
                        cols = UnsafePointer(x + offset)
                    } else {
                        let buffer = columns.pointer.unsafelyUnwrapped
                        for i in 0..<nb { geo.im2col(x + offset + i * imageSize, buffer + i * l, ld: ld) }
                        cols = UnsafePointer(buffer)
                    }
                    // dW[og, k] += g[og, nb·l] · colsᵀ[nb·l, k]
                    gemm(transA: false, transB: true, m: og, n: k, k: ld, upstream, lda: ld, cols, ldb: ld,
                         beta: n0 == 0 ? 0 : 1, gw + grp * og * k, ldc: k)
                }
                if let gx, let w {
                    let weights = UnsafePointer(w + grp * og * k)
                    if direct {
                        gemm(transA: true, transB: false, m: k, n: l, k: og, weights, lda: k, upstream, ldb: l,
                             beta: 0, gx + offset, ldc: l)
                    } else if ld <= ConvGeometry.transposedColumnLimit {
                        // Few columns: dcolsᵀ[nb·l, k] = gᵀ[nb·l, og] · W[og, k], for which
                        // OpenBLAS packs the weight faster than for Wᵀ·g.
                        let buffer = columns.pointer.unsafelyUnwrapped
                        gemm(transA: true, transB: false, m: ld, n: k, k: og, upstream, lda: ld, weights, ldb: k,
                             beta: 0, buffer, ldc: k)
                        for i in 0..<nb {
                            geo.col2im(UnsafePointer(buffer + i * l * k), ld: k, transposed: true, gx + offset + i * imageSize)
                        }
                    } else {
                        // dcols[k, nb·l] = Wᵀ[k, og] · g[og, nb·l], added back into each image.
                        let buffer = columns.pointer.unsafelyUnwrapped
                        gemm(transA: true, transB: false, m: k, n: ld, k: og, weights, lda: k, upstream, ldb: ld,
                             beta: 0, buffer, ldc: ld)
                        for i in 0..<nb { geo.col2im(UnsafePointer(buffer + i * l), ld: ld, gx + offset + i * imageSize) }
                    }
                }
                n0 += nb
            }
        }
        giveScratch(staging)
        giveScratch(columns)
    }
}

/// The im2col convolution in the operands' element type.
private struct Im2colConvolution: FloatComputation {
    let memory: TensorMemory
    let geo: ConvGeometry, x: Tensor, w: Tensor, b: Tensor, out: Tensor

    func run<T: FloatElement>(_: T.Type) {
        memory.convolution(geo, memory.base(x, as: T.self), memory.base(w, as: T.self), memory.pointer(b, T.self),
                              memory.base(out, as: T.self))
    }
}

/// The im2col convolution's input and weight gradients in the operands' element type.
private struct Im2colConvolutionGradients: FloatComputation {
    let memory: TensorMemory
    let geo: ConvGeometry, x: Tensor, w: Tensor, g: Tensor, gx: Tensor, gw: Tensor

    func run<T: FloatElement>(_: T.Type) {
        memory.convolutionBackward(geo, memory.pointer(x, T.self), memory.pointer(w, T.self), memory.base(g, as: T.self),
                                      memory.pointer(gx, T.self), memory.pointer(gw, T.self))
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
    // PyTorch's checks, in its order: the arguments, then the shapes, then the kernel's own.
    guard ws.count >= 3 else { throw .runtime("weight should have at least three dimensions") }
    guard ws.count == 4 else {
        throw .runtime("expected stride to be a single integer value or a list of \(ws.count - 2) values to match the convolution dimensions, but got stride=[\(stride.height), \(stride.width)]")
    }
    guard groups > 0 else { throw .runtime("non-positive groups is not supported") }
    guard stride.height > 0 && stride.width > 0 else { throw .runtime("non-positive stride is not supported") }
    guard padding.height >= 0 && padding.width >= 0 else { throw .runtime("negative padding is not supported") }
    guard dilation.height >= 0 && dilation.width >= 0 else { throw .runtime("dilation should be greater than zero") }
    if let bias, bias.dtype != input.dtype {
        throw .runtime("Input type (\(input.dtype.torchName)) and bias type (\(bias.dtype.torchName)) should be the same")
    }
    guard ws[0] >= groups else {
        throw .runtime("Given groups=\(groups), expected weight to be at least \(groups) at dimension 0, but got weight of size \(ws.array) instead")
    }
    guard ws[0] % groups == 0 else {
        throw .runtime("Given groups=\(groups), expected weight to be divisible by \(groups) at dimension 0, but got weight of size [\(ws.array)] instead")
    }
    guard xs[1] == ws[1] * groups else {
        throw .runtime("Given groups=\(groups), weight of size \(ws.array), expected input\(xs.array) to have \(ws[1] * groups) channels, but got \(xs[1]) channels instead")
    }
    if let bias, !(bias.info.shape.count == 1 && bias.info.shape[0] == ws[0]) {
        throw .runtime("Given weight of size \(ws.array), expected bias to be 1-dimensional with \(ws[0]) elements, but got bias of size \(bias.info.shape.array) instead")
    }
    let paddedH = xs[2] + 2 * padding.height, paddedW = xs[3] + 2 * padding.width
    let spanH = dilation.height * (ws[2] - 1) + 1, spanW = dilation.width * (ws[3] - 1) + 1
    guard spanH <= paddedH && spanW <= paddedW else {
        throw .runtime("Calculated padded input size per channel: (\(paddedH) x \(paddedW)). Kernel size: (\(spanH) x \(spanW)). Kernel size can't be greater than actual input size")
    }
    let outH = NNChecks.outputSize(xs[2], kernel: ws[2], stride: stride.height, padding: padding.height, dilation: dilation.height)
    let outW = NNChecks.outputSize(xs[3], kernel: ws[3], stride: stride.width, padding: padding.width, dilation: dilation.width)
    if xs[0] == 0 || xs[1] == 0 {
        return try emptyConvolution(input, weight, bias, outputShape: [xs[0], xs[1] == 0 ? 0 : ws[0], outH, outW])
    }
    guard xs[2] > 0 && xs[3] > 0 else {
        throw .runtime("Only zero batch or zero channel inputs are supported, but got input shape: \(xs.array)")
    }
    // The kernel PyTorch picks: slow_conv_dilated2d for dilated convolutions, else slow_conv2d.
    let dilated = dilation != Size2D(1)
    if dilated {
        guard ws[2] > 0 && ws[3] > 0 else { throw .runtime("kernel size should be greater than zero, but got [\(ws[2]), \(ws[3])]") }
        guard dilation.height > 0 && dilation.width > 0 else {
            throw .runtime("dilation should be greater than zero, but got [\(dilation.height), \(dilation.width)]")
        }
    } else if ws[2] <= 0 || ws[3] <= 0 {
        throw .runtime("kernel size should be greater than zero, but got kernel_height: \(ws[2]) kernel_width: \(ws[3])")
    }
    // PyTorch dispatches integer inputs to its kernels (which then refuse them), so for those
    // the weight's type is checked first; bool is refused at dispatch.
    try NNChecks.requireFloat(input, dilated ? "slow_conv_dilated<>" : "slow_conv2d_cpu", sameTypeAs: weight)
    try NNChecks.checkPackable(stride, "stride")
    try NNChecks.checkPackable(padding, "padding")
    try NNChecks.checkPackable(dilation, "dilation")
    guard groups < 32768 else { throw .runtime("TapeGrad: groups \(groups) is too large") }
    var geo = ConvGeometry()
    geo.batch = xs[0]; geo.channels = xs[1]; geo.height = xs[2]; geo.width = xs[3]
    geo.outChannels = ws[0]; geo.groups = groups; geo.kernelH = ws[2]; geo.kernelW = ws[3]
    geo.strideH = stride.height; geo.strideW = stride.width
    geo.padH = padding.height; geo.padW = padding.width
    geo.dilationH = dilation.height; geo.dilationW = dilation.width
    geo.outH = outH
    geo.outW = outW
    return ConvolutionOps.convolution(input, weight, bias ?? .null, geo)
}

/// A convolution of a batch without images or images without channels: PyTorch's result has no
/// elements (its channels are 0 too when the input's are), and every operand's gradient is zero
/// (`ConvolutionBackward.convolution` tells the case by the input's shape).
private func emptyConvolution(_ input: Tensor, _ weight: Tensor, _ bias: Tensor?, outputShape: [Int]) throws(TapeGradError) -> Tensor {
    // PyTorch multiplies the input by `weight.view(-1)[0]`, which a weight without elements lacks.
    if input.info.shape[1] != 0 && weight.info.shape.product == 0 {
        throw .index("select(): index 0 out of range for tensor of size [0] at dimension 0")
    }
    let e = engine
    let out = e.memory.makeZeros(shape: Dims(outputShape), dtype: input.dtype)
    var record = Record(.convolution, result: out, a: input, b: weight)
    record.c = bias ?? .null
    return e.pointee.recordIfNeeded(record)
}

/// The convolution and the two halves of its backward as recorded ops with a known geometry:
/// each one's backward is made of the others, so gradients can be differentiated again
/// (PyTorch's `ConvolutionBackwardBackward0`).
enum ConvolutionOps {
    /// `conv2d` without checks (node `ConvolutionBackward0`).
    static func convolution(_ x: Tensor, _ w: Tensor, _ bias: Tensor, _ geo: ConvGeometry) -> Tensor {
        let e = engine
        let out = e.memory.convolution(x, w, bias, geo)
        var record = Record(.convolution, result: out, a: x, b: w)
        record.c = bias
        geo.pack(into: &record)
        return e.pointee.recordIfNeeded(record)
    }

    /// The input's gradient from the upstream gradient `g` and the weight: a transposed
    /// convolution.
    static func inputGradient(_ g: Tensor, _ w: Tensor, _ geo: ConvGeometry) -> Tensor {
        let e = engine
        let out = e.memory.convolutionGradients(geo, x: .null, w: w, g: g, wantInput: true, wantWeight: false).input
        var record = Record(.convolutionBackwardInput, result: out, a: g, b: w)
        geo.pack(into: &record)
        return e.pointee.recordIfNeeded(record)
    }

    /// The weight's gradient from the input `x` and the upstream gradient `g`.
    static func weightGradient(_ x: Tensor, _ g: Tensor, _ geo: ConvGeometry) -> Tensor {
        let e = engine
        let out = e.memory.convolutionGradients(geo, x: x, w: .null, g: g, wantInput: false, wantWeight: true).weight
        var record = Record(.convolutionBackwardWeight, result: out, a: x, b: g)
        geo.pack(into: &record)
        return e.pointee.recordIfNeeded(record)
    }
}

enum ConvolutionBackward {
    /// Input: the transposed convolution of `g`; weight: `g` against the input's columns;
    /// bias: `g` summed. Without createGraph one fused kernel computes them.
    static func convolution(_ r: Record, _ g: Tensor) throws(TapeGradError) -> Gradients {
        let e = engine
        let xs = r.a.info.shape
        if xs[0] == 0 || xs[1] == 0 {
            // A convolution without images or channels (`emptyConvolution`): zero gradients.
            let zeros = { (t: Tensor) in e.memory.makeZeros(shape: t.info.shape, dtype: t.info.dtype) }
            return Gradients(a: r.needsA ? zeros(r.a) : .null, b: r.needsB ? zeros(r.b) : .null,
                             c: r.needsC ? zeros(r.c) : .null)
        }
        let geo = ConvGeometry(input: r.a.info.shape, weight: r.b.info.shape, r)
        // The bias's gradient: `g` summed over batch, height and width (recorded only under
        // createGraph, like every reduction).
        let gb = r.needsC ? g.reduction(.sumDims, mask: 0b1101, keepDim: false, kind: .sum, mean: false) : .null
        if !e.pointee.gradEnabled {
            let (gx, gw) = e.memory.convolutionGradients(geo, x: r.a, w: r.b, g: g, wantInput: r.needsA, wantWeight: r.needsB)
            return Gradients(a: gx, b: gw, c: gb)
        }
        return Gradients(a: r.needsA ? ConvolutionOps.inputGradient(g, r.b, geo) : .null,
                         b: r.needsB ? ConvolutionOps.weightGradient(r.a, g, geo) : .null,
                         c: gb)
    }

    /// Of `inputGradient(g, w)`, given the gradient `u` of its result: `g` gets `conv2d(u, w)`,
    /// `w` gets `weightGradient(u, g)`.
    static func inputGradient(_ r: Record, _ u: Tensor) -> Gradients {
        let geo = ConvGeometry(input: r.result.info.shape, weight: r.b.info.shape, r)
        return Gradients(a: r.needsA ? ConvolutionOps.convolution(u, r.b, .null, geo) : .null,
                         b: r.needsB ? ConvolutionOps.weightGradient(u, r.a, geo) : .null)
    }

    /// Of `weightGradient(x, g)`, given the gradient `u` of its result: `x` gets
    /// `inputGradient(g, u)`, `g` gets `conv2d(x, u)`.
    static func weightGradient(_ r: Record, _ u: Tensor) -> Gradients {
        let geo = ConvGeometry(input: r.a.info.shape, weight: r.result.info.shape, r)
        return Gradients(a: r.needsA ? ConvolutionOps.inputGradient(r.b, u, geo) : .null,
                         b: r.needsB ? ConvolutionOps.convolution(r.a, u, .null, geo) : .null)
    }
}
