// The affine map of a linear layer: `input @ weight.T + bias`. With a bias and a matrix input
// it is one op, PyTorch's `addmm` (node `AddmmBackward0`); without a bias it is `mm` with the
// transposed weight; other ranks fold their leading dimensions into one.

extension Engine {
    /// `bias + input @ weight.T` for a matrix input (no record).
    mutating func addmm(_ input: Tensor, _ weight: Tensor, _ bias: Tensor) -> Tensor {
        let x = contiguousOperand(input), w = contiguousOperand(weight)
        let b = contiguousOperand(bias)
        let sx = slot(x).pointee, sw = slot(w).pointee
        let n = sx.shape[0], k = sx.shape[1], m = sw.shape[0]
        let out = makeTensor(shape: Dims(n, m), dtype: sx.dtype)
        if sx.dtype == .float64 {
            Self.addmm(base(x, as: Double.self), base(w, as: Double.self), base(b, as: Double.self), base(out, as: Double.self), n, k, m)
        } else {
            Self.addmm(base(x, as: Float.self), base(w, as: Float.self), base(b, as: Float.self), base(out, as: Float.self), n, k, m)
        }
        return out
    }

    private static func addmm<T: FloatElement>(
        _ x: UnsafePointer<T>, _ w: UnsafePointer<T>, _ b: UnsafePointer<T>, _ out: UnsafeMutablePointer<T>,
        _ n: Int, _ k: Int, _ m: Int
    ) {
        for i in 0..<n { (out + i * m).update(from: b, count: m) }
        gemm(transA: false, transB: true, m: n, n: m, k: k, x, lda: k, w, ldb: k, beta: 1, out, ldc: m)
    }
}

/// Applies `input @ weight.T + bias` (`torch.nn.functional.linear`). `weight` is
/// `[out_features, in_features]`, `bias` (optional) `[out_features]`; `input` is `[…, in_features]`.
public func linear(_ input: Tensor, weight: Tensor, bias: Tensor? = nil) throws(TapeGradError) -> Tensor {
    let xs = input.info.shape, ws = weight.info.shape
    guard ws.count == 2 else { throw .runtime("TapeGrad: linear expects a 2-D weight, got shape \(ws.array)") }
    guard xs.count >= 1 else { throw .runtime("both arguments to linear need to be at least 1D, but they are 0D and 2D") }
    let inFeatures = xs[xs.count - 1]
    var lead = 1
    for d in 0..<(xs.count - 1) { lead *= xs[d] }
    guard inFeatures == ws[1] else {
        throw .runtime("\(bias == nil ? "mm" : "addmm"): mat1 and mat2 shapes cannot be multiplied (\(lead)x\(inFeatures) and \(ws[1])x\(ws[0]))")
    }
    if xs.count != 2 {
        // Fold the leading dimensions into one (a vector becomes one row) and unfold after,
        // as PyTorch does (node `UnsafeViewBackward0`).
        let folded = try linear(input.reshaped(Dims(lead, inFeatures)), weight: weight, bias: bias)
        var outShape = xs
        outShape[xs.count - 1] = ws[0]
        return folded.view(.unsafeView, shape: outShape, strides: outShape.contiguousStrides)
    }
    guard input.dtype == weight.dtype else {
        throw .runtime(bias == nil ? "expected m1 and m2 to have the same dtype, but got: \(input.dtype.torchName) != \(weight.dtype.torchName)"
                                   : "mat1 and mat2 must have the same dtype, but got \(input.dtype.scalarTypeName) and \(weight.dtype.scalarTypeName)")
    }
    try NNChecks.requireFloat(input, "addmm_impl_cpu_")
    guard let bias else { return try input.mm(try weight.t()) }
    guard bias.dtype == input.dtype else {
        throw .runtime("expected m1 and m2 to have the same dtype, but got: \(input.dtype.torchName) != \(bias.dtype.torchName)")
    }
    // PyTorch's addmm expands the bias to the output's shape first (and names that failure;
    // the arrays are made only then: a training step allocates nothing).
    let bs = bias.info.shape
    if bs.count >= 1 && bs.count <= 2 && bs[bs.count - 1] != 1 && bs[bs.count - 1] != ws[0] {
        _ = try noGrad { () throws(TapeGradError) -> Tensor in try bias.expand([xs[0], ws[0]]) }
    }
    guard bias.info.shape.count <= 1 && bias.info.shape.product == ws[0] else {
        throw .runtime("The size of tensor a (\(bias.info.shape.product)) must match the size of tensor b (\(ws[0])) at non-singleton dimension 1")
    }
    let e = engine
    let out = e.pointee.addmm(input, weight, bias)
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
