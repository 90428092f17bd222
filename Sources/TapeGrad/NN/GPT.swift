// GPT-2 as nanoGPT and llm.c build it: token and position embeddings, pre-norm blocks of
// causal self-attention and a GELU (tanh) MLP, a final layer norm, and a head tied to the token
// embedding. Module and state-dict names are nanoGPT's (`transformer.wte.weight`,
// `transformer.h.0.attn.c_attn.weight`, …, `lm_head.weight`), Linear weights `[out, in]`.
// Initialisation as nanoGPT's: normal(0, 0.02) weights, zero biases, and the residual
// projections at 0.02/√(2·layers).

/// The sizes of a GPT (nanoGPT's `GPTConfig`; the defaults are GPT-2 124M's).
public struct GPTConfig: Equatable, Sendable {
    /// The longest sequence (positions in `wpe`).
    public var blockSize: Int
    /// The vocabulary (rows of `wte`).
    public var vocabSize: Int
    /// Transformer blocks.
    public var layers: Int
    /// Attention heads per block.
    public var heads: Int
    /// The embedding width.
    public var embedding: Int
    /// Whether linear layers and layer norms have biases.
    public var bias: Bool
    /// Dropout after the embeddings, in attention and on each residual branch (training only).
    public var dropout: Double

    /// A configuration; `embedding` must be a multiple of `heads`.
    public init(blockSize: Int = 1024, vocabSize: Int = 50257, layers: Int = 12, heads: Int = 12, embedding: Int = 768,
                bias: Bool = true, dropout: Double = 0) {
        self.blockSize = blockSize
        self.vocabSize = vocabSize
        self.layers = layers
        self.heads = heads
        self.embedding = embedding
        self.bias = bias
        self.dropout = dropout
    }

    /// GPT-2 124M: 12 layers, 12 heads, 768 wide, 50257 tokens, 1024 positions.
    public static let gpt2 = GPTConfig()
}

/// Multi-head causal self-attention (nanoGPT's `CausalSelfAttention`): one projection to
/// queries, keys and values (`c_attn`), fused causal attention, and an output projection
/// (`c_proj`).
public final class CausalSelfAttention: Module {
    /// `[3·C, C]`: queries, keys and values.
    public let cAttn: Linear
    /// `[C, C]`: the output projection.
    public let cProj: Linear
    /// Attention heads.
    public let heads: Int
    /// Dropout on the attention probabilities and the output (training only).
    public let dropout: Double
    /// Whether in training mode.
    public var isTraining = true

    /// Attention over `config.embedding` features in `config.heads` heads; throws when the
    /// width is not a positive multiple of the heads.
    public init(_ config: GPTConfig, dtype: DType = .float32) throws(TapeGradError) {
        try GPT.check(config)
        cAttn = Linear(config.embedding, 3 * config.embedding, bias: config.bias, dtype: dtype)
        cProj = Linear(config.embedding, config.embedding, bias: config.bias, dtype: dtype)
        heads = config.heads
        dropout = config.dropout
    }

    /// `c_attn` and `c_proj`.
    public var children: [(name: String, module: any Module)] { [("c_attn", cAttn), ("c_proj", cProj)] }

    /// `[B, T, C]` to `[B, T, C]`, each position attending to itself and those before it.
    public func forward(_ x: Tensor) throws(TapeGradError) -> Tensor {
        let shape = x.info.shape
        guard shape.count == 3 else { throw .runtime("CausalSelfAttention expects [B, T, C], got \(x.shape.bracketed)") }
        let (B, T, C) = (shape[0], shape[1], shape[2])
        let qkv = try cAttn(x)
        // Each third of the last dimension viewed as [B, heads, T, C / heads] (no copy).
        func split(_ i: Int) throws(TapeGradError) -> Tensor {
            try qkv.slice(dim: 2, start: i * C, end: (i + 1) * C).reshaped(Dims(B, T, heads, C / heads)).transpose(1, 2)
        }
        let y = try scaledDotProductAttention(try split(0), try split(1), try split(2),
                                              dropoutP: isTraining ? dropout : 0, isCausal: true)
        // The fused output is laid out [B, T, heads, C / heads]: this is a view.
        let merged = try y.transpose(1, 2).contiguous().reshaped(Dims(B, T, C))
        return try GPT.dropout(try cProj(merged), dropout, isTraining)
    }
}

/// The feed-forward part of a block (nanoGPT's `MLP`): `c_fc` to 4·C, GELU (tanh, as GPT-2),
/// `c_proj` back to C.
public final class GPTMLP: Module {
    /// `[4·C, C]`.
    public let cFc: Linear
    /// `[C, 4·C]`.
    public let cProj: Linear
    /// Dropout on the output (training only).
    public let dropout: Double
    /// Whether in training mode.
    public var isTraining = true

    /// The MLP of a block of `config.embedding` features.
    public init(_ config: GPTConfig, dtype: DType = .float32) {
        cFc = Linear(config.embedding, 4 * config.embedding, bias: config.bias, dtype: dtype)
        cProj = Linear(4 * config.embedding, config.embedding, bias: config.bias, dtype: dtype)
        dropout = config.dropout
    }

    /// `c_fc` and `c_proj` (the GELU has no parameters).
    public var children: [(name: String, module: any Module)] { [("c_fc", cFc), ("c_proj", cProj)] }

    /// `c_proj(gelu(c_fc(x)))`.
    public func forward(_ x: Tensor) throws(TapeGradError) -> Tensor {
        try GPT.dropout(try cProj(try gelu(try cFc(x), approximate: "tanh")), dropout, isTraining)
    }
}

/// A pre-norm transformer block (nanoGPT's `Block`): `x + attn(ln_1(x))`, then `x + mlp(ln_2(x))`.
public final class GPTBlock: Module {
    /// Layer norm before attention.
    public let ln1: LayerNorm
    /// Causal self-attention.
    public let attn: CausalSelfAttention
    /// Layer norm before the MLP.
    public let ln2: LayerNorm
    /// The feed-forward part.
    public let mlp: GPTMLP
    /// Whether in training mode.
    public var isTraining = true

    /// A block of `config.embedding` features.
    public init(_ config: GPTConfig, dtype: DType = .float32) throws(TapeGradError) {
        ln1 = LayerNorm(config.embedding, bias: config.bias, dtype: dtype)
        attn = try CausalSelfAttention(config, dtype: dtype)
        ln2 = LayerNorm(config.embedding, bias: config.bias, dtype: dtype)
        mlp = GPTMLP(config, dtype: dtype)
    }

    /// `ln_1`, `attn`, `ln_2`, `mlp`.
    public var children: [(name: String, module: any Module)] { [("ln_1", ln1), ("attn", attn), ("ln_2", ln2), ("mlp", mlp)] }

    /// Both residual branches.
    public func forward(_ x: Tensor) throws(TapeGradError) -> Tensor {
        let h = try x.add(try attn(try ln1(x)))
        return try h.add(try mlp(try ln2(h)))
    }
}

/// A GPT-2 language model (nanoGPT's `GPT`): token ids `[B, T]` to logits `[B, T, vocab]`.
/// Its state dict has nanoGPT's names, `lm_head.weight` included (the same tensor as
/// `transformer.wte.weight`); `namedParameters()` lists the tied weight once.
public final class GPT: Module {
    /// The sizes.
    public let config: GPTConfig
    /// Token embedding `[vocab, C]` (`transformer.wte`).
    public let wte: Embedding
    /// Position embedding `[blockSize, C]` (`transformer.wpe`).
    public let wpe: Embedding
    /// The blocks (`transformer.h`).
    public let blocks: [GPTBlock]
    /// The final layer norm (`transformer.ln_f`).
    public let lnF: LayerNorm
    /// `wte`, `wpe`, `h` and `ln_f` under nanoGPT's names.
    public let transformer: ModuleDict
    /// The head, `[vocab, C]`, its weight the token embedding's.
    public let lmHead: Linear
    /// Positions 0..<blockSize (int64), sliced for each forward.
    private let positions: Tensor
    /// Whether in training mode.
    public var isTraining = true

    /// A randomly initialised GPT (nanoGPT's initialisation, from TapeGrad's generator:
    /// `manualSeed` makes it reproducible).
    public init(_ config: GPTConfig, dtype: DType = .float32) throws(TapeGradError) {
        try GPT.check(config)
        self.config = config
        wte = try Embedding(config.vocabSize, config.embedding, dtype: dtype)
        wpe = try Embedding(config.blockSize, config.embedding, dtype: dtype)
        var blocks: [GPTBlock] = []
        for _ in 0..<config.layers { blocks.append(try GPTBlock(config, dtype: dtype)) }
        self.blocks = blocks
        lnF = LayerNorm(config.embedding, bias: config.bias, dtype: dtype)
        transformer = ModuleDict([("wte", wte), ("wpe", wpe), ("h", ModuleList(blocks)), ("ln_f", lnF)])
        lmHead = Linear(weight: wte.weight)
        positions = memory.copyDetached(noGrad { trapping { try Tensor.arange(0, config.blockSize, dtype: .int64) } })
        initializeWeights()
    }

    /// nanoGPT's assertion on the sizes (heads checked before the division by them).
    static func check(_ config: GPTConfig) throws(TapeGradError) {
        guard config.heads > 0, config.embedding > 0, config.embedding % config.heads == 0, config.layers > 0,
              config.vocabSize > 0, config.blockSize > 0, config.dropout >= 0, config.dropout <= 1 else {
            throw TapeGradError(.assertionError, "GPTConfig: the embedding width must be a positive multiple of the heads, every size positive and the dropout in [0, 1]")
        }
    }

    /// nanoGPT's `_init_weights` and its scaled residual projections.
    private func initializeWeights() {
        let residual = 0.02 / Double(2 * config.layers).squareRoot()
        func linear(_ layer: Linear, std: Double) {
            Init.normal_(layer.weight, std: std)
            if let bias = layer.bias { Init.constant_(bias, 0) }
        }
        for block in blocks {
            linear(block.attn.cAttn, std: 0.02)
            linear(block.attn.cProj, std: residual)
            linear(block.mlp.cFc, std: 0.02)
            linear(block.mlp.cProj, std: residual)
        }
        Init.normal_(wte.weight, std: 0.02)
        Init.normal_(wpe.weight, std: 0.02)
    }

    /// `transformer` and `lm_head`.
    public var children: [(name: String, module: any Module)] { [("transformer", transformer), ("lm_head", lmHead)] }

    /// The logits `[B, T, vocab]` of token ids `[B, T]` (int64 or int32), `T ≤ blockSize`.
    public func forward(_ idx: Tensor) throws(TapeGradError) -> Tensor {
        try lmHead(try hidden(idx))
    }

    /// The logits and the mean cross-entropy of predicting `targets` `[B, T]` (an id of −1 is
    /// ignored, as nanoGPT's).
    public func forward(_ idx: Tensor, targets: Tensor) throws(TapeGradError) -> (logits: Tensor, loss: Tensor) {
        let logits = try forward(idx)
        let shape = logits.info.shape
        let rows = shape[0] * shape[1]
        let loss = try crossEntropy(logits.reshaped(Dims(rows, shape[2])), targets.reshaped(Dims(CollectionOfOne(rows))), ignoreIndex: -1)
        return (logits, loss)
    }

    /// The last hidden states `[B, T, C]` after `ln_f`.
    func hidden(_ idx: Tensor) throws(TapeGradError) -> Tensor {
        let shape = idx.info.shape
        guard shape.count == 2 else { throw .runtime("GPT expects token ids of shape [B, T], got \(idx.shape.bracketed)") }
        let t = shape[1]
        guard t <= config.blockSize else {
            throw TapeGradError(.assertionError, "Cannot forward sequence of length \(t), block size is only \(config.blockSize)")
        }
        let tokens = try wte(idx)
        let pos = try wpe(try positions.slice(dim: 0, start: 0, end: t))
        var x = try GPT.dropout(try tokens.add(pos), config.dropout, isTraining)
        for i in 0..<blocks.count { x = try blocks[i](x) }
        return try lnF(x)
    }

    /// Dropout in training when `p > 0`, else the input itself (no op recorded).
    static func dropout(_ x: Tensor, _ p: Double, _ training: Bool) throws(TapeGradError) -> Tensor {
        training && p > 0 ? try TapeGrad.dropout(x, p: p, training: true) : x
    }
}
