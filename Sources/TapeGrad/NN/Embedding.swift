// Embeddings: rows of a weight matrix picked by integer ids (`torch.nn.functional.embedding`,
// `torch.nn.Embedding`). Node `EmbeddingBackward0`: the gradient's rows add up into the
// weight's gradient at their ids (repeated ids add), except at `paddingIdx`, whose row gets
// nothing. The record keeps the flattened ids as `c` and the padding row in `s0` (-1: none).

/// The rows of `weight` (`[n, d]`) at `input`'s ids (int64 or int32, any shape), shaped
/// `input.shape + [d]` (`torch.nn.functional.embedding`). With `paddingIdx` (negative counts
/// from the end), that row's gradient stays zero. PyTorch's checks, in its order.
public func embedding(_ input: Tensor, weight: Tensor, paddingIdx: Int? = nil) throws(TapeGradError) -> Tensor {
    let ws = weight.info.shape
    var padding = -1
    if ws.count == 0 { throw .index("Dimension specified as 0 but tensor has no dimensions") }
    if let paddingIdx, ws.count > 0 {
        // F.embedding asserts a positive index below n and a negative one at least -n (0 passes).
        let n = ws[0]
        guard paddingIdx == 0 || (paddingIdx < n && paddingIdx >= -n) else {
            throw TapeGradError(.assertionError, "Padding_idx must be within num_embeddings")
        }
        padding = paddingIdx < 0 ? paddingIdx + n : paddingIdx
    }
    guard ws.count == 2 else { throw .runtime("'weight' must be 2-D") }
    guard input.dtype == .int64 || input.dtype == .int32 else {
        throw .runtime("Expected tensor for argument #1 'indices' to have one of the following scalar types: Long, Int; but got \(input.dtype.argumentTypeName) instead (while checking arguments for embedding)")
    }
    let e = engine
    let ids = e.memory.contiguousOperand(input, as: .int64)
    let count = ids.count
    let p = e.pointee.base(ids, as: Int64.self)
    if ws[0] == 0 && count > 0 { throw .runtime("index_select(): self indexing axis dim should be positive") }
    for j in 0..<count where p[j] < 0 || p[j] >= Int64(ws[0]) { throw .index("index out of range in self") }
    let flat = ids.rank == 1 ? ids : ids.reshaped(Dims(CollectionOfOne(count)))
    let out = e.memory.selectSlices(weight, dim: 0, index: flat)
    // The rows, `[count, d]`, relabelled `input.shape + [d]`: a fresh contiguous tensor
    // nothing else sees yet, so its slot may take the shape directly (no view record).
    var shape = input.info.shape
    shape.append(ws[1])
    e.pointee.slot(out).pointee.shape = shape
    e.pointee.slot(out).pointee.strides = shape.contiguousStrides
    var record = Record(.embedding, result: out, a: weight)
    record.c = flat
    record.s0 = Double(padding)
    return e.pointee.recordIfNeeded(record)
}

enum EmbeddingBackward {
    /// The gradient's rows added into zeros of the weight's shape at their ids (one kernel; with
    /// createGraph a recorded `index_add`, so it differentiates again); the padding row's are
    /// zeroed first.
    static func embedding(_ r: Record, _ g: Tensor) throws(TapeGradError) -> Gradients {
        let ws = r.a.info.shape
        if !engine.pointee.gradEnabled { return Gradients(a: memory.embeddingBackward(g, ids: r.c, weightShape: ws, padding: Int(r.s0))) }
        var rows = g.reshaped(Dims(r.c.count, ws[1]))
        if r.s0 >= 0 { rows = try rows.maskedFill(try r.c.eq(Tensor(Int(r.s0))).unsqueeze(1), 0) }
        return Gradients(a: try r.a.zerosLike().indexAdd(dim: 0, r.c, rows))
    }
}

/// A lookup table of `numEmbeddings` vectors of `embeddingDim` (`torch.nn.Embedding`): its
/// `weight` starts standard normal, with the padding row zero.
public final class Embedding: Module {
    /// The table, `[numEmbeddings, embeddingDim]`.
    public let weight: Tensor
    /// The row whose gradient stays zero (normalised to be non-negative), or nil.
    public let paddingIdx: Int?
    /// Whether in training mode (an embedding behaves the same in both).
    public var isTraining = true

    /// A table of standard normal rows; throws PyTorch's AssertionError for a padding row
    /// outside the table.
    public init(_ numEmbeddings: Int, _ embeddingDim: Int, paddingIdx: Int? = nil, dtype: DType = .float32) throws(TapeGradError) {
        if let paddingIdx, paddingIdx >= numEmbeddings || paddingIdx < -numEmbeddings {
            throw TapeGradError(.assertionError, "Padding_idx must be within num_embeddings")
        }
        let padding = paddingIdx.map { $0 < 0 ? $0 + numEmbeddings : $0 }
        self.paddingIdx = padding
        weight = ParameterFactory.make([numEmbeddings, embeddingDim], dtype: dtype, requiresGrad: true) { $0.nextNormal() }
        if let padding {
            try noGrad { () throws(TapeGradError) in _ = try weight.select(dim: 0, index: padding).fill_(0) }
        }
    }

    /// `weight`.
    public var localParameters: [(name: String, tensor: Tensor)] { [("weight", weight)] }

    /// The rows at the input's ids.
    public func forward(_ input: Tensor) throws(TapeGradError) -> Tensor {
        try embedding(input, weight: weight, paddingIdx: paddingIdx)
    }
}

extension TensorMemory {
    /// `dW[ids[j]] += g[j]` into zeros of the weight's shape, skipping the padding row (no
    /// record). A float16 or bfloat16 gradient accumulates in float32 and is rounded once.
    func embeddingBackward(_ g: Tensor, ids: Tensor, weightShape: Dims, padding: Int) -> Tensor {
        let dtype = slot(g).pointee.dtype
        let g = kernelOperand(g)
        let out = makeZeros(shape: weightShape, dtype: slot(g).pointee.dtype)
        slot(g).pointee.dtype.withFloatElement(EmbeddingRows(
            g: UnsafeRawPointer(rawBase(g)), ids: base(ids, as: Int64.self), out: rawBase(out),
            count: slot(ids).pointee.shape.product, width: weightShape[1], padding: padding))
        return rounded(out, to: dtype)
    }
}

/// Adds each gradient row into the weight gradient's row of its id.
private struct EmbeddingRows: FloatComputation {
    let g: UnsafeRawPointer, ids: UnsafeMutablePointer<Int64>, out: UnsafeMutableRawPointer
    let count: Int, width: Int, padding: Int

    func run<T: FloatElement>(_: T.Type) {
        let g = g.assumingMemoryBound(to: T.self), out = out.assumingMemoryBound(to: T.self)
        for j in 0..<count {
            let id = Int(ids[j])
            guard id != padding else { continue }
            let source = g + j * width, target = out + id * width
            for c in 0..<width { target[c] += source[c] }
        }
    }
}
