// `torch.nn.MultiheadAttention`: queries, keys and values projected by one packed
// `in_proj_weight` `[3E, E]`, split into heads, attended, and projected by `out_proj`. As
// PyTorch's `multi_head_attention_forward`: with `needWeights` the attention weights are
// computed explicitly (`bmm`, softmax) and returned, averaged over the heads unless told not
// to; without, the heads go through `scaledDotProductAttention`. Inputs are `[L, N, E]`
// (`[N, L, E]` with `batchFirst`), or unbatched `[L, E]`.

/// Multi-head attention (`torch.nn.MultiheadAttention(embed_dim, num_heads, dropout, bias,
/// batch_first)`; `kdim`/`vdim`, `add_bias_kv` and `add_zero_attn` are not supported yet).
public final class MultiheadAttention: Module {
    /// The model width `E`.
    public let embedDim: Int
    /// Attention heads (`E` must be a multiple).
    public let numHeads: Int
    /// Dropout on the attention weights (training only).
    public let dropout: Double
    /// Whether inputs are `[N, L, E]` rather than `[L, N, E]`.
    public let batchFirst: Bool
    /// `[3E, E]`: the query, key and value projections, packed.
    public let inProjWeight: Tensor
    /// `[3E]`, or nil without bias.
    public let inProjBias: Tensor?
    /// The output projection (`out_proj`).
    public let outProj: Linear
    /// Whether in training mode.
    public var isTraining = true

    /// PyTorch's initialisation: Xavier-uniform `in_proj_weight`, zero biases, `out_proj`'s
    /// weight as a `Linear`'s. Throws PyTorch's AssertionError when `embedDim` is not a
    /// multiple of `numHeads`.
    public init(_ embedDim: Int, _ numHeads: Int, dropout: Double = 0, bias: Bool = true, batchFirst: Bool = false,
                dtype: DType = .float32) throws(TapeGradError) {
        guard numHeads > 0, embedDim % numHeads == 0 else { throw TapeGradError(.assertionError, "embed_dim must be divisible by num_heads") }
        self.embedDim = embedDim
        self.numHeads = numHeads
        self.dropout = dropout
        self.batchFirst = batchFirst
        inProjWeight = ParameterFactory.make([3 * embedDim, embedDim], dtype: dtype, requiresGrad: true) { _ in 0 }
        Init.xavierUniform_(inProjWeight)
        inProjBias = bias ? ParameterFactory.make([3 * embedDim], dtype: dtype, requiresGrad: true) { _ in 0 } : nil
        outProj = Linear(embedDim, embedDim, bias: bias, dtype: dtype)
        if let b = outProj.bias { Init.constant_(b, 0) }
    }

    /// `in_proj_weight` and `in_proj_bias`.
    public var localParameters: [(name: String, tensor: Tensor)] {
        [("in_proj_weight", inProjWeight)] + (inProjBias.map { [("in_proj_bias", $0)] } ?? [])
    }

    /// `out_proj`.
    public var children: [(name: String, module: any Module)] { [("out_proj", outProj)] }

    /// Self-attention of `x` (query, key and value), without the weights.
    public func forward(_ x: Tensor) throws(TapeGradError) -> Tensor {
        try self(x, x, x, needWeights: false).output
    }

    /// The attention output and (with `needWeights`) the attention weights `[N, L, S]`
    /// (`[N, H, L, S]` without `averageAttnWeights`). `keyPaddingMask` `[N, S]` and
    /// `attnMask` `[L, S]` or `[N·H, L, S]` are bool (true: masked out) or float (added).
    public func callAsFunction(
        _ query: Tensor, _ key: Tensor, _ value: Tensor, keyPaddingMask: Tensor? = nil, needWeights: Bool = true,
        attnMask: Tensor? = nil, averageAttnWeights: Bool = true, isCausal: Bool = false
    ) throws(TapeGradError) -> (output: Tensor, weights: Tensor?) {
        let batched = query.rank == 3
        guard query.rank == 3 || query.rank == 2 else {
            throw TapeGradError(.assertionError, "query should be unbatched 2D or batched 3D tensor but received \(query.rank)-D query tensor")
        }
        // To PyTorch's inner layout [L, N, E].
        func inner(_ t: Tensor) throws(TapeGradError) -> Tensor {
            let t = batched ? t : try t.unsqueeze(1)
            return batched && batchFirst ? try t.transpose(0, 1) : t
        }
        if isCausal && attnMask == nil {
            throw .runtime("Need attn_mask if specifying the is_causal hint. You may use the Transformer module method `generate_square_subsequent_mask` to create this mask.")
        }
        // PyTorch keeps the causal hint (and drops the mask) only where SDPA can use it alone.
        let causalHint = isCausal && keyPaddingMask == nil && !needWeights
        let attnMask = causalHint ? nil : attnMask
        let q = try inner(query), k = try inner(key), v = try inner(value)
        let (L, N, E) = (q.shape[0], q.shape[1], q.shape[2]), S = k.shape[0]
        guard E == embedDim else { throw TapeGradError(.assertionError, "was expecting embedding dimension of \(embedDim), but got \(E)") }
        let H = numHeads, hd = E / H
        // The packed projection: one linear for self-attention, else a third of it each.
        let (qp, kp, vp): (Tensor, Tensor, Tensor)
        if query.isSame(key) && key.isSame(value) {
            let packed = try linear(q, weight: inProjWeight, bias: inProjBias)
            qp = try packed.slice(dim: 2, start: 0, end: E)
            kp = try packed.slice(dim: 2, start: E, end: 2 * E)
            vp = try packed.slice(dim: 2, start: 2 * E, end: 3 * E)
        } else {
            func part(_ x: Tensor, _ i: Int) throws(TapeGradError) -> Tensor {
                try linear(x, weight: try inProjWeight.slice(dim: 0, start: i * E, end: (i + 1) * E),
                           bias: try inProjBias?.slice(dim: 0, start: i * E, end: (i + 1) * E))
            }
            (qp, kp, vp) = (try part(q, 0), try part(k, 1), try part(v, 2))
        }
        // [L, N, E] → [N·H, L, hd].
        func heads(_ t: Tensor, _ length: Int) throws(TapeGradError) -> Tensor {
            try t.reshape(length, N * H, hd).transpose(0, 1)
        }
        let qh = try heads(qp, L), kh = try heads(kp, S), vh = try heads(vp, S)
        // The masks as one additive float mask of [N·H, L, S] (or [L, S]).
        var mask: Tensor? = nil
        if let attnMask { mask = attnMask.dtype == .bool ? try AttentionChecks.additiveMask(attnMask.logicalNot(), dtype: q.dtype) : attnMask }
        if let keyPaddingMask {
            let padding = keyPaddingMask.dtype == .bool ? try AttentionChecks.additiveMask(keyPaddingMask.logicalNot(), dtype: q.dtype) : keyPaddingMask
            let expanded = try padding.reshape(N, 1, 1, S).expand(N, H, 1, S).reshape(N * H, 1, S)
            mask = try mask.map { m throws(TapeGradError) in try m.add(expanded) } ?? expanded
        }
        let p = isTraining ? dropout : 0
        let attended: Tensor, weights: Tensor?
        if needWeights {
            var scores = try (qh * (1 / Double(hd)).squareRoot()).bmm(try kh.transpose(-2, -1))
            if let mask { scores = try scores.add(mask) }
            var w = try scores.softmax(dim: -1)
            if p > 0 { w = try TapeGrad.dropout(w, p: p, training: true) }
            attended = try w.bmm(vh)
            let perHead = try w.reshape(N, H, L, S)
            weights = averageAttnWeights ? try perHead.mean(dims: [1]) : perHead
        } else {
            let m = try mask.map { m throws(TapeGradError) in m.rank == 3 ? try m.reshape(N, H, -1, S) : m }
            let y = try scaledDotProductAttention(try qh.reshape(N, H, L, hd), try kh.reshape(N, H, S, hd), try vh.reshape(N, H, S, hd),
                                                  attnMask: m, dropoutP: p, isCausal: causalHint)
            attended = try y.reshape(N * H, L, hd)
            weights = nil
        }
        let merged = try attended.transpose(0, 1).contiguous().reshape(L * N, E)
        var output = try outProj(merged).reshape(L, N, E)
        if batchFirst && batched { output = try output.transpose(0, 1) }
        if !batched {
            output = try output.squeeze(1)
            return (output, try weights.map { w throws(TapeGradError) in try w.squeeze(0) })
        }
        return (output, weights)
    }
}

extension Init {
    /// Uniform on ±gain·√(6 / (fan_in + fan_out)) (`xavier_uniform_`).
    public static func xavierUniform_(_ tensor: Tensor, gain: Double = 1) {
        let shape = tensor.shape
        let receptive = shape.dropFirst(2).reduce(1, *)
        let fanIn = (shape.count > 1 ? shape[1] : 1) * receptive, fanOut = (shape.first ?? 1) * receptive
        let bound = gain * (6.0 / Double(Swift.max(fanIn + fanOut, 1))).squareRoot()
        uniform_(tensor, -bound, bound)
    }
}
