import Foundation

// GPT-2 checkpoints in the three layouts people have: nanoGPT's names in safetensors
// (`transformer.wte.weight`, Linear weights `[out, in]`, `lm_head.weight` absent or equal to
// `wte`), Hugging Face's `model.safetensors` (names without `transformer.`, Conv1D weights
// `[in, out]`, sizes in a `config.json` beside it), and llm.c's `.bin` (a 256-int32 header
// 20240326, version 3, then float32 tensors in its fixed order with the vocabulary padded).
// Every format is read into nanoGPT's names and layout, checked tensor by tensor against the
// sizes it implies, and copied into a `GPT`.

/// Where a GPT's weights come from (`GPT.load` tells them apart by their content).
public enum GPTCheckpointFormat: String, Sendable {
    /// safetensors with nanoGPT's names and `nn.Linear` layout.
    case nanoGPT
    /// Hugging Face's GPT-2 `model.safetensors` (Conv1D layout) with `config.json` beside it.
    case huggingFace
    /// llm.c's `gpt2_124M.bin`-style checkpoint.
    case llmc
}

extension GPT {
    /// The names of a block's tensors in llm.c's order (each for all layers in turn).
    static let blockTensors = ["ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias", "attn.c_proj.weight",
                               "attn.c_proj.bias", "ln_2.weight", "ln_2.bias", "mlp.c_fc.weight", "mlp.c_fc.bias",
                               "mlp.c_proj.weight", "mlp.c_proj.bias"]
    /// Hugging Face's Conv1D weights, stored `[in, out]`.
    static let conv1DWeights = ["attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight"]

    /// A GPT with the weights of a checkpoint: llm.c's `.bin`, or safetensors with nanoGPT's or
    /// Hugging Face's names. Layers, width, vocabulary and context come from the tensors'
    /// shapes; the heads from llm.c's header, a Hugging Face `config.json` beside the file, the
    /// file's metadata (`n_head`, as `save(to:)` writes it), or `heads`. A tensor that is
    /// missing, unexpected or of the wrong shape is an error that names it and the shape
    /// expected.
    public static func load(contentsOf path: String, heads: Int? = nil, dtype: DType = .float32) throws(TapeGradError) -> GPT {
        try loadCheckpoint(contentsOf: path, heads: heads, dtype: dtype).model
    }

    /// `load(contentsOf:heads:dtype:)`, also telling which format the file was.
    public static func loadCheckpoint(contentsOf path: String, heads: Int? = nil, dtype: DType = .float32) throws(TapeGradError) -> (model: GPT, format: GPTCheckpointFormat) {
        guard let data = FileManager.default.contents(atPath: path) else { throw .runtime("No such file or directory: \(path)") }
        if data.count >= 4 && data.withUnsafeBytes({ $0.loadUnaligned(as: Int32.self) }) == 20240326 {
            return (try loadLLMC(data, path: path, dtype: dtype), .llmc)
        }
        let (tensors, metadata) = try SafeTensors.loadWithMetadata(data: data)
        let isNano = tensors.entries.contains { $0.name.hasPrefix("transformer.") }
        var config: [String: Any] = [:]
        if !isNano {
            let json = URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("config.json").path
            if let bytes = FileManager.default.contents(atPath: json), let object = try? JSONSerialization.jsonObject(with: bytes) as? [String: Any] {
                config = object
            }
        }
        let given = heads ?? (config["n_head"] as? Int) ?? metadata["n_head"].flatMap { Int($0) }
        guard let given else {
            throw .runtime("GPT checkpoint \(path): the number of attention heads is in neither the file nor a config.json beside it: pass heads (gpt-train --heads N)")
        }
        // Everything in nanoGPT's names and layout.
        var weights: [String: Tensor] = [:]
        for entry in tensors.entries {
            if isNano { weights[entry.name] = entry.tensor; continue }
            // Hugging Face's causal-mask buffers are not weights.
            if entry.name.hasSuffix(".attn.bias") || entry.name.hasSuffix(".attn.masked_bias") { continue }
            let name = entry.name.hasPrefix("lm_head.") ? entry.name : "transformer." + entry.name
            let isConv1D = conv1DWeights.contains { entry.name.hasSuffix($0) } && entry.tensor.rank == 2
            weights[name] = isConv1D ? try entry.tensor.t() : entry.tensor
        }
        let model = try fromWeights(weights, heads: given, path: path, layout: isNano ? "nn.Linear layout [out, in]" : "Conv1D layout [in, out]",
                                    dtype: dtype, transposed: !isNano)
        return (model, isNano ? .nanoGPT : .huggingFace)
    }

    /// A GPT of the sizes `weights` imply (nanoGPT's names, `[out, in]` layout), checked and
    /// copied in.
    static func fromWeights(_ weights: [String: Tensor], heads: Int, path: String, layout: String, dtype: DType,
                            transposed: Bool) throws(TapeGradError) -> GPT {
        func shape(_ name: String) throws(TapeGradError) -> [Int] {
            guard let t = weights[name] else { throw .runtime("GPT checkpoint \(path): no tensor \(name)") }
            return t.shape
        }
        let wte = try shape("transformer.wte.weight"), wpe = try shape("transformer.wpe.weight")
        guard wte.count == 2, wpe.count == 2, wte[1] == wpe[1] else {
            throw .runtime("GPT checkpoint \(path): transformer.wte.weight \(wte.bracketed) and transformer.wpe.weight \(wpe.bracketed) must be [vocab, C] and [context, C]")
        }
        var layers = 0
        while weights["transformer.h.\(layers).ln_1.weight"] != nil { layers += 1 }
        let config = GPTConfig(blockSize: wpe[0], vocabSize: wte[0], layers: layers, heads: heads, embedding: wte[1],
                               bias: weights["transformer.h.0.attn.c_attn.bias"] != nil)
        guard layers > 0 else { throw .runtime("GPT checkpoint \(path): no tensor transformer.h.0.ln_1.weight (no blocks)") }
        guard heads > 0, config.embedding % heads == 0 else {
            throw .runtime("GPT checkpoint \(path): the width \(config.embedding) is not a multiple of \(heads) heads")
        }
        let model = try GPT(config, dtype: dtype)
        let expected = model.stateDict().entries.filter { $0.name != "lm_head.weight" }
        var names = Set(weights.keys)
        names.remove("lm_head.weight")
        for entry in expected {
            guard let source = weights[entry.name] else { throw .runtime("GPT checkpoint \(path): no tensor \(entry.name) (expected shape \(storedShape(entry, transposed).bracketed))") }
            guard source.shape == entry.tensor.shape else {
                throw .runtime("GPT checkpoint \(path): \(entry.name) has shape \(storedShape(source, entry.name, transposed).bracketed), expected \(storedShape(entry, transposed).bracketed) (\(layout))")
            }
            names.remove(entry.name)
        }
        if let unexpected = names.sorted().first {
            throw .runtime("GPT checkpoint \(path): unexpected tensor \(unexpected) (a GPT of \(layers) layers, width \(config.embedding), vocabulary \(config.vocabSize) and context \(config.blockSize) has none)")
        }
        if let head = weights["lm_head.weight"], head.shape != wte {
            throw .runtime("GPT checkpoint \(path): lm_head.weight has shape \(head.shape.bracketed), expected \(wte.bracketed) (tied to transformer.wte.weight)")
        }
        for entry in expected { memory.copyValues(from: weights[entry.name]!, into: entry.tensor) }
        return model
    }

    /// The shape a checkpoint stores for a state-dict entry (Conv1D weights transposed).
    private static func storedShape(_ entry: StateDictEntry, _ transposed: Bool) -> [Int] {
        storedShape(entry.tensor, entry.name, transposed)
    }

    private static func storedShape(_ t: Tensor, _ name: String, _ transposed: Bool) -> [Int] {
        transposed && conv1DWeights.contains(where: { name.hasSuffix($0) }) ? t.shape.reversed() : t.shape
    }

    /// llm.c's checkpoint: header `[20240326, 3, maxT, V, L, NH, C, Vp]`, then float32 `wte`
    /// `[Vp, C]` (rows past V unused), `wpe`, each block tensor for all layers, `ln_f`.
    static func loadLLMC(_ data: Data, path: String, dtype: DType) throws(TapeGradError) -> GPT {
        guard data.count >= 1024 else { throw .runtime("llm.c checkpoint \(path): \(data.count) bytes, shorter than its 1024-byte header") }
        let header = data.withUnsafeBytes { raw in (0..<8).map { Int(raw.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self)) } }
        guard header[1] == 3 else {
            throw .runtime("llm.c checkpoint \(path): version \(header[1]); TapeGrad reads version 3 (float32)")
        }
        let (maxT, V, L, NH, C, Vp) = (header[2], header[3], header[4], header[5], header[6], header[7])
        // (Each size below 2²⁴, so that no product of them overflows before the file's length
        // is compared with what they imply.)
        let limit = 1 << 24
        guard maxT > 0, V > 0, L > 0, NH > 0, C > 0, Vp >= V, C % NH == 0,
              maxT < limit, Vp < limit, L < limit, C < limit else {
            throw .runtime("llm.c checkpoint \(path): header sizes maxT \(maxT), V \(V), L \(L), NH \(NH), C \(C), Vp \(Vp) do not describe a GPT-2")
        }
        // The tensors' shapes in file order.
        var shapes: [(name: String, shape: [Int])] = [("transformer.wte.weight", [Vp, C]), ("transformer.wpe.weight", [maxT, C])]
        let blockShapes: [String: [Int]] = [
            "ln_1.weight": [C], "ln_1.bias": [C], "attn.c_attn.weight": [3 * C, C], "attn.c_attn.bias": [3 * C],
            "attn.c_proj.weight": [C, C], "attn.c_proj.bias": [C], "ln_2.weight": [C], "ln_2.bias": [C],
            "mlp.c_fc.weight": [4 * C, C], "mlp.c_fc.bias": [4 * C], "mlp.c_proj.weight": [C, 4 * C], "mlp.c_proj.bias": [C],
        ]
        for name in blockTensors { for l in 0..<L { shapes.append(("transformer.h.\(l).\(name)", blockShapes[name]!)) } }
        shapes += [("transformer.ln_f.weight", [C]), ("transformer.ln_f.bias", [C])]
        let floats = shapes.reduce(0) { $0 + $1.shape.reduce(1, *) }
        guard data.count == 1024 + 4 * floats else {
            throw .runtime("llm.c checkpoint \(path): \(data.count) bytes, expected \(1024 + 4 * floats) for maxT \(maxT), V \(V) (padded \(Vp)), L \(L), C \(C)")
        }
        var weights: [String: Tensor] = [:]
        var offset = 1024
        data.withUnsafeBytes { raw in
            for (name, shape) in shapes {
                let count = shape.reduce(1, *)
                let tensor = engine.pointee.makeTensor(shape: Dims(shape), dtype: .float32)
                engine.pointee.rawBase(tensor).copyMemory(from: raw.baseAddress! + offset, byteCount: 4 * count)
                offset += 4 * count
                weights[name] = tensor
            }
        }
        weights["transformer.wte.weight"] = trapping { try weights["transformer.wte.weight"]!.slice(dim: 0, end: V) }
        return try fromWeights(weights, heads: NH, path: path, layout: "nn.Linear layout [out, in]", dtype: dtype, transposed: false)
    }

    /// Writes the weights as safetensors with nanoGPT's names (without `lm_head.weight`, which
    /// is `transformer.wte.weight`) and the sizes in the metadata (`n_head`, …), so `load`
    /// needs no `heads`.
    public func save(to path: String) throws(TapeGradError) {
        let entries = stateDict().entries.filter { $0.name != "lm_head.weight" }
        try SafeTensors.save(StateDict(entries), to: path, metadata: [
            "format": "pt", "n_head": String(config.heads), "n_layer": String(config.layers),
            "n_embd": String(config.embedding), "vocab_size": String(config.vocabSize), "block_size": String(config.blockSize),
        ])
    }

    /// Writes llm.c's checkpoint (version 3, float32, the vocabulary padded to a multiple of
    /// 128 with zero rows), which llm.c's `train_gpt2` reads.
    public func saveLLMC(to path: String) throws(TapeGradError) {
        let C = config.embedding, V = config.vocabSize, Vp = (V + 127) / 128 * 128
        var header = [Int32](repeating: 0, count: 256)
        for (i, value) in [20240326, 3, config.blockSize, V, config.layers, config.heads, C, Vp].enumerated() { header[i] = Int32(value) }
        var data = header.withUnsafeBytes { Data($0) }
        let sd = stateDict()
        func append(_ name: String) {
            let values = noGrad { sd[name]!.to(.float32).contiguous() }
            let count = values.count
            data.append(Data(bytes: engine.pointee.rawBase(values), count: 4 * count))
        }
        append("transformer.wte.weight")
        data.append(Data(count: 4 * (Vp - V) * C))
        append("transformer.wpe.weight")
        for name in GPT.blockTensors { for l in 0..<config.layers { append("transformer.h.\(l).\(name)") } }
        append("transformer.ln_f.weight")
        append("transformer.ln_f.bias")
        guard FileManager.default.createFile(atPath: path, contents: data) else { throw .runtime("cannot write \(path)") }
    }
}
