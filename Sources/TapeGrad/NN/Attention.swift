import RealModule

// Scaled dot-product attention (`torch.nn.functional.scaled_dot_product_attention`):
// `softmax(q·kᵀ·scale + mask)·v`. As PyTorch on the CPU, 4-D (and 3-D, unsqueezed) float
// operands without dropout take one fused op, node `ScaledDotProductFlashAttentionForCpuBackward0`:
// per batch and head, the scores are a scratch matrix that never becomes a tensor, a causal
// mask is applied by index (no L×S mask is made), and only the output and each row's
// log-sum-exp are kept; backward recomputes the probabilities from them. Everything else
// (dropout, a mask that requires grad, 2-D or 5-D operands, a value width other than the
// query's, empty sequences) takes PyTorch's math composite, spelled with recorded ops, with
// `_safe_softmax` (`SafeSoftmaxBackward0`: a row that is masked everywhere gives zeros).
//
// Record of the fused op: `a`, `b`, `c` query, key, value; `i0` 1 for causal; `s0` the mask
// (a bool or kernel-typed tensor, or `.null`) and `s1` a float64 `[B·H·L + 1]` tensor of the
// rows' log-sum-exp followed by the scale, both handles packed (`PackedTensor`).

/// Sizes and element strides of a fused attention call: queries `[B, H, L, E]`, keys and values
/// `[Bk, Hk, S, E]` with `Bk` 1 or `B` and `Hk` dividing `H` (1, `H`, or grouped-query heads).
struct AttentionLayout {
    var batch = 0, heads = 0, queries = 0, keys = 0, width = 0, keyBatch = 0, keyHeads = 0
    /// Batch, head and row strides of the query, key, value, output and output gradient.
    var q = (0, 0, 0), k = (0, 0, 0), v = (0, 0, 0), out = (0, 0, 0), g = (0, 0, 0)
    /// Batch, head, row and column strides of the mask (0 where it broadcasts).
    var mask = (0, 0, 0, 0)
    var causal = false, scale = 0.0

    /// The keys query `i` sees: those up to `i` when causal, else all.
    @inline(__always)
    func limit(_ i: Int) -> Int { causal ? Swift.min(i + 1, keys) : keys }

    /// The key and value matrix that query head `h` of batch `b` reads.
    @inline(__always)
    func keyIndex(_ b: Int, _ h: Int) -> (Int, Int) {
        (keyBatch == 1 ? 0 : b, h / (heads / keyHeads))
    }
}

extension TensorMemory {
    /// Batch, head and row strides of a 4-D tensor whose last dimension is unit-stride, or nil.
    func matrixStrides(_ t: Tensor) -> (Int, Int, Int)? {
        let s = slot(t).pointee
        guard s.shape.count == 4, s.strides[3] == 1 || s.shape[3] == 1 else { return nil }
        return (s.strides[0], s.strides[1], s.strides[2])
    }

    /// `t` when its last dimension is unit-stride, else a contiguous copy (no record).
    func rowsOperand(_ t: Tensor) -> Tensor { matrixStrides(t) == nil ? contiguousOperand(t) : t }

    /// The fused forward (no record): the output, laid out `[B, L, H, E]` in memory as
    /// PyTorch's (so `transpose(1, 2)` of it is contiguous), and the statistics tensor.
    func attention(_ q: Tensor, _ k: Tensor, _ v: Tensor, mask: Tensor, layout: AttentionLayout) -> (out: Tensor, stats: Tensor) {
        let dtype = slot(q).pointee.dtype
        if dtype.isReducedPrecision {
            let (out, stats) = attention(kernelOperand(q), kernelOperand(k), kernelOperand(v), mask: mask, layout: layout)
            return (rounded(out, to: dtype), stats)
        }
        let q = rowsOperand(q), k = rowsOperand(k), v = rowsOperand(v)
        var layout = layout
        layout.q = matrixStrides(q)!
        layout.k = matrixStrides(k)!
        layout.v = matrixStrides(v)!
        let B = layout.batch, H = layout.heads, L = layout.queries, E = layout.width
        let storage = makeTensor(shape: Dims(B, L, H, E), dtype: dtype)
        let out = makeView(of: storage, shape: Dims(B, H, L, E), strides: Dims(L * H * E, E, H * E, 1), offset: 0, autogradView: false)
        layout.out = (L * H * E, E, H * E)
        let rows = B * H * L
        let stats = makeTensor(shape: Dims(CollectionOfOne(rows + 1)), dtype: .float64)
        let lse = base(stats, as: Double.self)
        lse[rows] = layout.scale
        let scratch = takeScratch(L * layout.keys * dtype.itemSize, UInt8.self)
        dtype.withFloatElement(AttentionKernel(
            q: UnsafeRawPointer(rawBase(q)), k: UnsafeRawPointer(rawBase(k)), v: UnsafeRawPointer(rawBase(v)),
            mask: mask.isNull ? nil : UnsafeRawPointer(rawBase(mask)), boolMask: !mask.isNull && slot(mask).pointee.dtype == .bool,
            out: rawBase(out), lse: lse, g: nil, dq: nil, dk: nil, dv: nil,
            scores: UnsafeMutableRawPointer(scratch.pointer!), probabilities: nil, layout: layout))
        giveScratch(scratch)
        return (out, stats)
    }

    /// The fused backward (no record): the gradients of query, key and value that the record
    /// asks for, in their operands' shapes, from the kept output and log-sum-exp.
    func attentionBackward(_ r: Record, _ g: Tensor, layout: AttentionLayout) -> Gradients {
        let dtype = slot(r.a).pointee.dtype
        if dtype.isReducedPrecision {
            return widenedBackward(r, g, readsCAndResult: true) { attentionBackward($0, $1, layout: layout) }
        }
        let q = rowsOperand(r.a), k = rowsOperand(r.b), v = rowsOperand(r.c), out = rowsOperand(r.result), g = rowsOperand(g)
        var layout = layout
        layout.q = matrixStrides(q)!
        layout.k = matrixStrides(k)!
        layout.v = matrixStrides(v)!
        layout.out = matrixStrides(out)!
        layout.g = matrixStrides(g)!
        // Key and value gradients accumulate over the query heads (and batches) that share them.
        let dq = makeTensor(shape: slot(q).pointee.shape, dtype: dtype)
        let dk = makeZeros(shape: slot(k).pointee.shape, dtype: dtype)
        let dv = makeZeros(shape: slot(v).pointee.shape, dtype: dtype)
        let mask = PackedTensor.unpack(r.s0)
        let count = layout.queries * layout.keys * dtype.itemSize
        let scores = takeScratch(count, UInt8.self), probabilities = takeScratch(count, UInt8.self)
        dtype.withFloatElement(AttentionKernel(
            q: UnsafeRawPointer(rawBase(q)), k: UnsafeRawPointer(rawBase(k)), v: UnsafeRawPointer(rawBase(v)),
            mask: mask.isNull ? nil : UnsafeRawPointer(rawBase(mask)), boolMask: !mask.isNull && slot(mask).pointee.dtype == .bool,
            out: rawBase(out), lse: base(PackedTensor.unpack(r.s1), as: Double.self),
            g: UnsafeRawPointer(rawBase(g)), dq: rawBase(dq), dk: rawBase(dk), dv: rawBase(dv),
            scores: UnsafeMutableRawPointer(scores.pointer!), probabilities: UnsafeMutableRawPointer(probabilities.pointer!), layout: layout))
        giveScratch(probabilities)
        giveScratch(scores)
        return Gradients(a: r.needsA ? dq : .null, b: r.needsB ? dk : .null, c: r.needsC ? dv : .null)
    }
}

/// The fused forward (`g` nil) or backward of every batch and head, in the element type.
private struct AttentionKernel: FloatComputation {
    let q: UnsafeRawPointer, k: UnsafeRawPointer, v: UnsafeRawPointer
    let mask: UnsafeRawPointer?, boolMask: Bool
    let out: UnsafeMutableRawPointer, lse: UnsafeMutablePointer<Double>
    let g: UnsafeRawPointer?, dq: UnsafeMutableRawPointer?, dk: UnsafeMutableRawPointer?, dv: UnsafeMutableRawPointer?
    let scores: UnsafeMutableRawPointer, probabilities: UnsafeMutableRawPointer?
    let layout: AttentionLayout

    func run<T: FloatElement>(_: T.Type) {
        let l = layout
        for b in 0..<l.batch {
            for h in 0..<l.heads {
                let (kb, kh) = l.keyIndex(b, h)
                let qm = q.assumingMemoryBound(to: T.self) + b * l.q.0 + h * l.q.1
                let km = k.assumingMemoryBound(to: T.self) + kb * l.k.0 + kh * l.k.1
                let vm = v.assumingMemoryBound(to: T.self) + kb * l.v.0 + kh * l.v.1
                let om = out.assumingMemoryBound(to: T.self) + b * l.out.0 + h * l.out.1
                let rows = lse + (b * l.heads + h) * l.queries
                let s = scores.assumingMemoryBound(to: T.self)
                let maskBase = mask.map { $0 + (b * l.mask.0 + h * l.mask.1) * (boolMask ? 1 : MemoryLayout<T>.stride) }
                Kernels.attentionScores(qm, km, s, l, maskBase, boolMask)
                if let g {
                    let p = probabilities!.assumingMemoryBound(to: T.self)
                    let gm = g.assumingMemoryBound(to: T.self) + b * l.g.0 + h * l.g.1
                    let dqm = dq!.assumingMemoryBound(to: T.self) + (b * l.heads + h) * l.queries * l.width
                    let keyMatrix = (kb * l.keyHeads + kh) * l.keys * l.width
                    Kernels.attentionBackward(qm, km, vm, om, gm, rows, s, p, dqm,
                                              dk!.assumingMemoryBound(to: T.self) + keyMatrix, dv!.assumingMemoryBound(to: T.self) + keyMatrix, l)
                } else {
                    Kernels.attentionForward(vm, om, rows, s, l)
                }
            }
        }
    }
}

extension Kernels {
    /// `s = q·kᵀ·scale + mask` for one head (`L×S`, row-major); entries the causal or bool
    /// mask removes are −∞. `mask` points at the head's mask (bytes for a bool mask).
    static func attentionScores<T: FloatElement>(
        _ q: UnsafePointer<T>, _ k: UnsafePointer<T>, _ s: UnsafeMutablePointer<T>,
        _ l: AttentionLayout, _ mask: UnsafeRawPointer?, _ boolMask: Bool
    ) {
        let L = l.queries, S = l.keys
        gemm(transA: false, transB: true, m: L, n: S, k: l.width, q, lda: l.q.2, k, ldb: l.k.2, beta: 0, s, ldc: S)
        let scale = T(l.scale)
        for i in 0..<L {
            let row = s + i * S
            let limit = l.limit(i)
            for j in 0..<limit { row[j] *= scale }
            for j in limit..<S { row[j] = -T.infinity }
            guard let mask else { continue }
            if boolMask {
                let m = mask.assumingMemoryBound(to: Bool.self) + i * l.mask.2
                for j in 0..<limit where !m[j * l.mask.3] { row[j] = -T.infinity }
            } else {
                let m = mask.assumingMemoryBound(to: T.self) + i * l.mask.2
                for j in 0..<limit { row[j] += m[j * l.mask.3] }
            }
        }
    }

    /// Softmax of each score row in place (a row masked everywhere becomes zeros, its
    /// log-sum-exp −∞), then `out = p·v`.
    static func attentionForward<T: FloatElement>(
        _ v: UnsafePointer<T>, _ out: UnsafeMutablePointer<T>, _ lse: UnsafeMutablePointer<Double>,
        _ s: UnsafeMutablePointer<T>, _ l: AttentionLayout
    ) {
        let S = l.keys
        for i in 0..<l.queries {
            let row = s + i * S
            // Past a causal row's limit every score is −∞: its probabilities are 0.
            let limit = l.limit(i)
            var best = -T.infinity
            for j in 0..<limit where row[j] > best || row[j].isNaN { best = row[j] }
            if best == -T.infinity {
                row.update(repeating: 0, count: S)
                lse[i] = -.infinity
                continue
            }
            var total: T = 0
            for j in 0..<limit {
                let e = T.vectorExp(row[j] - best)
                row[j] = e
                total += e
            }
            let inverse = 1 / total
            for j in 0..<limit { row[j] *= inverse }
            for j in limit..<S { row[j] = 0 }
            lse[i] = Double(best) + Double.log(Double(total))
        }
        gemm(transA: false, transB: false, m: l.queries, n: l.width, k: S, s, lda: S, v, ldb: l.v.2, beta: 0, out, ldc: l.out.2)
    }

    /// One head's gradients from the scores `s`: `p = exp(s − lse)`, `dv += pᵀ·g`,
    /// `ds = p·(g·vᵀ − rowsum(g·out))·scale`, `dq = ds·k`, `dk += dsᵀ·q`. `dq`, `dk`, `dv` are
    /// contiguous `[·, E]` matrices.
    static func attentionBackward<T: FloatElement>(
        _ q: UnsafePointer<T>, _ k: UnsafePointer<T>, _ v: UnsafePointer<T>, _ out: UnsafePointer<T>, _ g: UnsafePointer<T>,
        _ lse: UnsafeMutablePointer<Double>, _ s: UnsafeMutablePointer<T>, _ dp: UnsafeMutablePointer<T>,
        _ dq: UnsafeMutablePointer<T>, _ dk: UnsafeMutablePointer<T>, _ dv: UnsafeMutablePointer<T>, _ l: AttentionLayout
    ) {
        let L = l.queries, S = l.keys, E = l.width
        for i in 0..<L {
            let row = s + i * S
            guard lse[i] != -.infinity else { row.update(repeating: 0, count: S); continue }
            let shift = T(lse[i])
            let limit = l.limit(i)
            for j in 0..<limit { row[j] = T.vectorExp(row[j] - shift) }
            for j in limit..<S { row[j] = 0 }
        }
        gemm(transA: true, transB: false, m: S, n: E, k: L, s, lda: S, g, ldb: l.g.2, beta: 1, dv, ldc: E)
        gemm(transA: false, transB: true, m: L, n: S, k: E, g, lda: l.g.2, v, ldb: l.v.2, beta: 0, dp, ldc: S)
        let scale = T(l.scale)
        for i in 0..<L {
            let gi = g + i * l.g.2, oi = out + i * l.out.2
            var d: T = 0
            for c in 0..<E { d += gi[c] * oi[c] }
            let p = s + i * S, row = dp + i * S
            for j in 0..<S { row[j] = p[j] * (row[j] - d) * scale }
        }
        gemm(transA: false, transB: false, m: L, n: E, k: S, dp, lda: S, k, ldb: l.k.2, beta: 0, dq, ldc: E)
        gemm(transA: true, transB: false, m: S, n: E, k: L, dp, lda: S, q, ldb: l.q.2, beta: 1, dk, ldc: E)
    }
}

/// Scaled dot-product attention (`torch.nn.functional.scaled_dot_product_attention`):
/// `softmax(query·keyᵀ·scale + mask)·value`, with `scale` `1/√E` by default. `attnMask` is a
/// bool mask (true: take part) or a float mask added to the scores, broadcast to
/// `[…, L, S]`; `isCausal` masks key `j > i` for query `i` without making a mask. `enableGQA`
/// lets key and value have fewer heads (dimension −3) than the query, each shared by a group.
/// `dropoutP` drops probabilities in training (PyTorch's math path).
public func scaledDotProductAttention(
    _ query: Tensor, _ key: Tensor, _ value: Tensor, attnMask: Tensor? = nil, dropoutP: Double = 0,
    isCausal: Bool = false, scale: Double? = nil, enableGQA: Bool = false
) throws(TapeGradError) -> Tensor {
    let qd = query.dtype, qs = query.info.shape
    guard qd == key.dtype && qd == value.dtype else {
        throw .runtime("Expected query, key, and value to have the same dtype, but got query.dtype: \(qd.torchName) key.dtype: \(key.dtype.torchName) and value.dtype: \(value.dtype.torchName) instead.")
    }
    if let attnMask, attnMask.dtype != .bool, attnMask.dtype != .float32, attnMask.dtype != qd {
        throw .runtime("Expected attn_mask dtype to be bool or float or to match query dtype, but got attn_mask.dtype: \(attnMask.dtype.torchName) and  query.dtype: \(qd.torchName) instead.")
    }
    guard query.rank >= 2 && key.rank >= 2 && value.rank >= 2 else {
        throw .runtime("Expected query, key, and value to all be  at least 2 dimensional, but got query.dim: \(query.rank) key.dim: \(key.rank) and value.dim: \(value.rank) instead.")
    }
    if isCausal && attnMask != nil {
        throw .runtime("_scaled_dot_product_attention: Explicit attn_mask should not be set when is_causal=True")
    }
    if enableGQA {
        let heads = qs[try Shapes.normalize(dim: -3, rank: query.rank)]
        let kh = key.info.shape[try Shapes.normalize(dim: -3, rank: key.rank)]
        let vh = value.info.shape[try Shapes.normalize(dim: -3, rank: value.rank)]
        guard kh > 0, vh > 0, heads % kh == 0, heads % vh == 0 else {
            throw .runtime("Number of heads in key and value must divide the number of heads in query")
        }
    }
    guard qd.isFloatingPoint else { throw NNChecks.mismatch(.float32, qd) }
    if dropoutP < 0 || dropoutP > 1 {
        throw .runtime("dropout probability has to be between 0 and 1, but got \(dropoutP.messageText)")
    }
    // As PyTorch: three 3-D operands are unsqueezed to 4-D (and the result squeezed back).
    if query.rank == 3 && key.rank == 3 && value.rank == 3 {
        return try AttentionChecks.attend(try query.unsqueeze(0), try key.unsqueeze(0), try value.unsqueeze(0), attnMask, dropoutP: dropoutP,
                                          isCausal: isCausal, scale: scale, enableGQA: enableGQA, unsqueezed: true).squeeze(0)
    }
    return try AttentionChecks.attend(query, key, value, attnMask, dropoutP: dropoutP, isCausal: isCausal, scale: scale, enableGQA: enableGQA, unsqueezed: false)
}

enum AttentionChecks {
    /// The fused op where PyTorch's CPU choice takes it (4-D operands, no dropout, a mask that
    /// needs no gradient, one width, non-empty sequences, broadcastable heads), else the math
    /// composite.
    static func attend(_ q: Tensor, _ k: Tensor, _ v: Tensor, _ attnMask: Tensor?, dropoutP: Double, isCausal: Bool,
                       scale: Double?, enableGQA: Bool, unsqueezed: Bool) throws(TapeGradError) -> Tensor {
        if dropoutP == 0, !(attnMask?.requiresGrad ?? false), q.rank == 4, k.rank == 4, v.rank == 4 {
            // The fused kernel's own check of a 4-D call's mask (its size −2).
            if let attnMask, !unsqueezed {
                if attnMask.rank == 0 { throw .index("Dimension specified as -2 but tensor has no dimensions") }
                _ = try Shapes.normalize(dim: -2, rank: attnMask.rank)
            }
            let s = scale ?? 1 / Double(q.info.shape[3]).squareRoot()
            if let layout = fusedLayout(q, k, v, attnMask, causal: isCausal, scale: s, enableGQA: enableGQA) {
                return fused(q, k, v, attnMask, layout: layout)
            }
        }
        return try math(q, k, v, attnMask, dropoutP: dropoutP, isCausal: isCausal, scale: scale, enableGQA: enableGQA)
    }

    /// The layout of a fused call on 4-D operands, or nil when PyTorch would take the math path.
    static func fusedLayout(_ q: Tensor, _ k: Tensor, _ v: Tensor, _ mask: Tensor?, causal: Bool, scale: Double, enableGQA: Bool) -> AttentionLayout? {
        let qs = q.info.shape, ks = k.info.shape, vs = v.info.shape
        var l = AttentionLayout()
        l.batch = qs[0]; l.heads = qs[1]; l.queries = qs[2]; l.width = qs[3]
        l.keyBatch = ks[0]; l.keyHeads = ks[1]; l.keys = ks[2]
        guard ks == vs, ks[3] == l.width, l.queries > 0, l.keys > 0, l.width > 0, l.batch > 0, l.heads > 0,
              l.keyBatch == l.batch || l.keyBatch == 1,
              l.keyHeads == l.heads || l.keyHeads == 1 || (enableGQA && l.heads % l.keyHeads == 0) else { return nil }
        l.causal = causal
        l.scale = scale
        if let mask {
            // Read as broadcast to [B, H, L, S], else the math path says why not.
            let target = Dims(l.batch, l.heads, l.queries, l.keys), ms = mask.info.shape
            guard ms.count <= 4, (try? Shapes.broadcast(ms, target)) == target else { return nil }
            let strides = Shapes.broadcastStrides(shape: ms, strides: mask.info.strides, to: target)
            l.mask = (strides[0], strides[1], strides[2], strides[3])
        }
        return l
    }

    /// Runs and records the fused op.
    static func fused(_ q: Tensor, _ k: Tensor, _ v: Tensor, _ attnMask: Tensor?, layout: AttentionLayout) -> Tensor {
        let e = engine
        var layout = layout
        // A float mask in the type the kernel computes in (a float32 mask beside a float64
        // query is allowed); its strides are then those of the copy.
        var mask = Tensor.null
        if let attnMask {
            let kernelType = q.dtype.kernelType
            mask = attnMask.dtype == .bool || attnMask.dtype == kernelType ? attnMask : e.memory.convert(attnMask, to: kernelType)
            if !mask.isSame(attnMask) {
                layout = fusedLayout(q, k, v, mask, causal: layout.causal, scale: layout.scale, enableGQA: true)!
            }
        }
        let (out, stats) = e.memory.attention(q, k, v, mask: mask, layout: layout)
        var record = Record(.scaledDotProductAttention, result: out, a: q, b: k)
        record.c = v
        record.i0 = layout.causal ? 1 : 0
        record.s0 = PackedTensor.pack(mask)
        record.s1 = PackedTensor.pack(stats)
        return e.pointee.recordIfNeeded(record)
    }

    /// PyTorch's math composite (`_scaled_dot_product_attention_math`) in recorded ops.
    static func math(_ query: Tensor, _ key: Tensor, _ value: Tensor, _ attnMask: Tensor?, dropoutP: Double, isCausal: Bool,
                     scale: Double?, enableGQA: Bool) throws(TapeGradError) -> Tensor {
        let negative = (scale ?? 0) < 0
        let factor = (scale.map { Swift.abs($0) } ?? 1 / Double(query.shape[query.rank - 1]).squareRoot()).squareRoot()
        let q = query.mul(negative ? -factor : factor)
        var mask = try attnMask.map { m throws(TapeGradError) in m.dtype == .bool ? try additiveMask(m, dtype: query.dtype) : m }
        if isCausal {
            let L = query.shape[query.rank - 2], S = key.shape[key.rank - 2]
            mask = try additiveMask(try Tensor.ones([L, S], dtype: .bool).tril(), dtype: query.dtype)
        }
        let k = enableGQA ? try groupedHeads(key, like: query) : key, v = enableGQA ? try groupedHeads(value, like: query) : value
        var attn = try q.matmul(try k.transpose(-2, -1).mul(factor))
        if let mask { attn = try attn.add_(mask) }
        attn = try attn.safeSoftmax(dim: -1)
        if dropoutP > 0 { attn = try dropout(attn, p: dropoutP, training: true) }
        return try attn.matmul(v)
    }

    /// PyTorch's `convert_boolean_attn_mask`: 0 where `mask` is true, −∞ elsewhere.
    static func additiveMask(_ mask: Tensor, dtype: DType) throws(TapeGradError) -> Tensor {
        try Tensor.zeros(mask.shape, dtype: dtype).maskedFill(mask.logicalNot(), -.infinity)
    }

    /// Key or value heads repeated to the query's (`repeat_interleave` along dimension −3).
    static func groupedHeads(_ t: Tensor, like query: Tensor) throws(TapeGradError) -> Tensor {
        let heads = query.shape[query.rank - 3], kh = t.shape[t.rank - 3]
        guard kh != heads else { return t }
        var shape = t.shape
        shape.insert(heads / kh, at: t.rank - 2)
        var merged = t.shape
        merged[t.rank - 3] = heads
        return try t.unsqueeze(t.rank - 2).expand(shape).reshape(merged)
    }
}

enum AttentionBackward {
    /// The fused backward; under createGraph its gradients are recorded as PyTorch's
    /// `NotImplemented` node, which a further backward refuses as PyTorch does.
    static func attention(_ r: Record, _ g: Tensor) throws(TapeGradError) -> Gradients {
        let e = engine
        let stats = PackedTensor.unpack(r.s1), mask = PackedTensor.unpack(r.s0)
        guard e.pointee.isAlive(stats), mask.isNull || e.pointee.isAlive(mask) else { throw .runtime(Autograd.secondBackwardMessage) }
        let layout = Self.layout(r, scale: e.memory.base(stats, as: Double.self)[stats.info.shape[0] - 1])
        let grads = e.memory.attentionBackward(r, g, layout: layout)
        guard e.pointee.gradEnabled else { return grads }
        func recorded(_ t: Tensor) -> Tensor {
            guard !t.isNull else { return t }
            var record = Record(.attentionBackward, result: t, a: r.a, b: r.b)
            record.c = r.c
            return e.pointee.recordIfNeeded(record)
        }
        return Gradients(a: recorded(grads.a), b: recorded(grads.b), c: recorded(grads.c))
    }

    /// The layout the forward ran with, from the record's operands.
    static func layout(_ r: Record, scale: Double) -> AttentionLayout {
        let mask = PackedTensor.unpack(r.s0)
        let q = r.a, k = r.b, v = r.c
        return AttentionChecks.fusedLayout(q, k, v, mask.isNull ? nil : mask, causal: r.i0 == 1, scale: scale, enableGQA: true)!
    }

    /// PyTorch has no derivative for the fused backward.
    static func notImplemented(_ r: Record, _ g: Tensor) throws(TapeGradError) -> Gradients {
        throw .runtime("derivative for aten::_scaled_dot_product_flash_attention_for_cpu_backward is not implemented")
    }
}
