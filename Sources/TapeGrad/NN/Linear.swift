// The affine map of a linear layer: `input @ weight.T + bias`. With a bias and a matrix input
// it is one op, PyTorch's `addmm` (node `AddmmBackward0`); without a bias it is `matmul` with
// the transposed weight; a contiguous input of other ranks folds its leading dimensions into
// one, as PyTorch does.

extension TensorMemory {
    /// `bias + input @ weight.T` for a matrix input (no record). `bias` is `[out_features]`, or
    /// any shape that broadcasts to the result's `[n, out_features]`.
    func addmm(_ input: Tensor, _ weight: Tensor, _ bias: Tensor) -> Tensor {
        let dtype = slot(input).pointee.dtype
        let x = kernelOperand(input), w = kernelOperand(weight)
        let sx = slot(x).pointee, sw = slot(w).pointee
        let n = sx.shape[0], k = sx.shape[1], m = sw.shape[0]
        let out = makeTensor(shape: Dims(n, m), dtype: sx.dtype)
        let rowBias = slot(bias).pointee.shape == Dims(CollectionOfOne(m))
        // A bias of another shape is written out whole first (PyTorch expands it).
        if !rowBias {
            let sb = slot(bias).pointee
            let target = Dims(n, m)
            let strides = Shapes.broadcastStrides(shape: sb.shape, strides: sb.strides, to: target)
            copyValues(from: makeView(of: bias, shape: target, strides: strides, offset: sb.offset, autogradView: false), into: out)
        }
        let b = rowBias ? kernelOperand(bias) : out
        sx.dtype.withFloatElement(AddmmRows(x: UnsafeRawPointer(rawBase(x)), w: UnsafeRawPointer(rawBase(w)),
                                            bias: rowBias ? UnsafeRawPointer(rawBase(b)) : nil, out: rawBase(out), n: n, k: k, m: m))
        return rounded(out, to: dtype)
    }
}

/// `out = bias + x @ wᵀ`, the bias a row repeated (or, when nil, already in `out`).
private struct AddmmRows: FloatComputation {
    let x: UnsafeRawPointer, w: UnsafeRawPointer, bias: UnsafeRawPointer?, out: UnsafeMutableRawPointer
    let n: Int, k: Int, m: Int

    func run<T: FloatElement>(_: T.Type) {
        let out = out.assumingMemoryBound(to: T.self)
        if let b = bias?.assumingMemoryBound(to: T.self) { for i in 0..<n { (out + i * m).update(from: b, count: m) } }
        gemm(transA: false, transB: true, m: n, n: m, k: k, x.assumingMemoryBound(to: T.self), lda: k,
             w.assumingMemoryBound(to: T.self), ldb: k, beta: 1, out, ldc: m)
    }
}

/// Applies `input @ weight.T + bias` (`torch.nn.functional.linear`). `weight` is
/// `[out_features, in_features]`, `bias` (optional) `[out_features]` or a shape that
/// broadcasts to the result; `input` is `[…, in_features]`. Dispatched as PyTorch's `linear`
/// is, with its nodes and errors: `addmm` for a matrix input with a bias (`AddmmBackward0`),
/// the same with the leading dimensions folded for a contiguous input (`UnsafeViewBackward0`),
/// else `matmul` with the transposed weight, and the bias added in place (`AddBackward0`).
public func linear(_ input: Tensor, weight: Tensor, bias: Tensor? = nil) throws(TapeGradError) -> Tensor {
    let ri = input.rank, rw = weight.rank
    guard ri != 0 && rw != 0 else {
        throw .runtime("both arguments to linear need to be at least 1D, but they are \(ri)D and \(rw)D")
    }
    guard rw <= 2 else { throw .runtime("t() expects a tensor with <= 2 dimensions, but self is \(rw)D") }
    if let bias {
        if ri == 2 { return try addmm(bias, input, weight) }
        // PyTorch folds a contiguous input when the bias is "likely fusable": contiguous, with
        // one dimension other than size-1 ones.
        let bs = bias.info.shape
        var sizesAboveOne = 0
        for d in 0..<bs.count where bs[d] != 1 { sizesAboveOne += 1 }
        if input.isContiguous && bias.isContiguous && (bias.rank == 1 || sizesAboveOne == 1) {
            // PyTorch's _flatten_nd_linear: the leading dimensions folded into rows.
            let xs = input.info.shape
            var outShape = Dims()
            for d in 0..<(ri - 1) { outShape.append(xs[d]) }
            let folded = try addmm(bias, input.reshaped(Dims(outShape.product, xs[ri - 1])), weight)
            outShape.append(folded.info.shape[1])
            return folded.view(.unsafeView, shape: outShape, strides: outShape.contiguousStrides)
        }
    }
    let output = try input.matmul(try weight.t())
    if let bias { try output.add_(bias) }
    return output
}

/// `bias + input @ weight.T`: PyTorch's `addmm(bias, input, weight.t())`, with its checks in
/// its order (dtypes, ranks, shapes, the bias's broadcast, then the kernel's dtype).
private func addmm(_ bias: Tensor, _ input: Tensor, _ weight: Tensor) throws(TapeGradError) -> Tensor {
    guard bias.dtype == weight.dtype else {
        throw .runtime("self and mat2 must have the same dtype, but got \(bias.dtype.scalarTypeName) and \(weight.dtype.scalarTypeName)")
    }
    guard input.dtype == weight.dtype else {
        throw .runtime("mat1 and mat2 must have the same dtype, but got \(input.dtype.scalarTypeName) and \(weight.dtype.scalarTypeName)")
    }
    let xs = input.info.shape, ws = weight.info.shape
    guard ws.count == 2 else { throw .runtime("addmm: mat2 must be a matrix, got \(ws.count)-D tensor") }
    guard xs[1] == ws[1] else {
        throw .runtime("addmm: mat1 and mat2 shapes cannot be multiplied (\(xs[0])x\(xs[1]) and \(ws[1])x\(ws[0]))")
    }
    // The bias must broadcast to the result [n, m]; the message comes from expand, which is
    // called only when the shape check fails (a training step allocates nothing).
    let n = xs[0], m = ws[0]
    if (try? Shapes.broadcast(bias.info.shape, Dims(n, m))) != Dims(n, m) {
        _ = try noGrad { () throws(TapeGradError) -> Tensor in try bias.expand([n, m]) }
    }
    guard input.dtype != .bool else { throw NNChecks.notImplemented("addmm_impl_cpu_", input.dtype) }
    // Integers (which record nothing): the integer product, then the bias.
    if input.dtype.isIntegral { return try input.mm(weight.t()).add(bias) }
    let e = engine
    let out = e.memory.addmm(input, weight, bias)
    var record = Record(.addmm, result: out, a: input, b: weight)
    record.c = bias
    return e.pointee.recordIfNeeded(record)
}

enum LinearBackward {
    /// d input = g @ W, d weight = gᵀ @ input, d bias = Σ g over the rows: recorded ops, so
    /// createGraph differentiates them again.
    static func addmm(_ r: Record, _ g: Tensor) -> Gradients {
        Gradients(a: r.needsA ? MatMulBackward.productGradient(for: r.a, edge: r.edgeA, g, r.b) : .null,
                  b: r.needsB ? MatMulBackward.productGradient(for: r.b, edge: r.edgeB, g, transposeLeft: true, r.a) : .null,
                  c: r.needsC ? g.sumTo(shapeOf: r.c) : .null)
    }
}
