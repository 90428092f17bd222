// Trains a GPT-2: from scratch on a text file, byte by byte, or from a checkpoint (nanoGPT or
// Hugging Face safetensors, llm.c's .bin) on a token file in llm.c's format. Batches are llm.c's
// loader without shuffling; the defaults are llm.c's loop (AdamW lr 1e-4, betas 0.9/0.999,
// eps 1e-8, no weight decay, no clipping, constant rate).
import ArgumentParser
import ExampleSupport
import Foundation
import TapeGrad

@main
struct GPTTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gpt-train",
        abstract: "Trains a GPT-2 from scratch on a text file (bytes) or from a checkpoint on an llm.c token file.")

    @Option(help: "A text file to train on, one token per byte (vocabulary 256).")
    var text: String?

    @Option(help: "An llm.c token file (256 int32 header 20240520, version 1, count; then uint16 tokens).")
    var tokens: String?

    @Option(help: "A checkpoint to start from: nanoGPT or Hugging Face safetensors, or llm.c's .bin.")
    var weights: String?

    @Option(help: "Attention heads of a checkpoint that does not say (no config.json beside it, no metadata).")
    var heads: Int?

    @Option(help: "Transformer blocks of a model from scratch.")
    var layers = 4

    @Option(help: "Embedding width of a model from scratch.")
    var embd = 128

    @Option(help: "Context length (positions) of a model from scratch.")
    var ctx = 128

    @Option(help: "Sequences per batch.")
    var batch = 4

    @Option(help: "Tokens per sequence (at most the model's context).")
    var seq: Int?

    @Option(help: "Training steps.")
    var steps = 20

    @Option(help: "Peak learning rate.")
    var lr = 1e-4

    @Option(help: "AdamW's decoupled weight decay.")
    var weightDecay = 0.0

    @Option(help: "AdamW's β₁.")
    var beta1 = 0.9

    @Option(help: "AdamW's β₂.")
    var beta2 = 0.999

    @Option(help: "AdamW's ε.")
    var eps = 1e-8

    @Option(help: "Clip the gradients' total norm to this (0: no clipping).")
    var clip = 0.0

    @Option(help: "Steps of linear warmup from lr/warmup to lr.")
    var warmup = 0

    @Option(help: "Learning rate after warmup: constant, or cosine down to 0 at the last step.")
    var schedule: Schedule = .constant

    enum Schedule: String, ExpressibleByArgument, CaseIterable {
        case constant, cosine
    }

    @Option(help: "Seed of the initialisation and of sampling.")
    var seed: UInt64 = 1337

    @Option(help: "Threads for matrix products (OpenBLAS; with more than 1 it allocates on every product).")
    var threads = 1

    @Option(help: "Write the loss curve to this SVG file.")
    var svg: String?

    @Option(help: "Save the trained weights to this safetensors file (nanoGPT's names).")
    var save: String?

    @Option(help: "Generate this many tokens after training.")
    var sample = 0

    @Option(help: "Sampling temperature.")
    var temperature = 1.0

    @Option(help: "Sample only among the k most likely tokens (0: all).")
    var topK = 0

    @Flag(help: "Print TapeGrad's memory report at the end.")
    var memoryReport = false

    func validate() throws {
        guard (text == nil) != (tokens == nil) else { throw ValidationError("give one of --text FILE or --tokens FILE") }
        guard batch > 0, steps > 0, threads > 0, layers > 0, embd > 0, ctx > 0 else {
            throw ValidationError("--batch, --steps, --threads, --layers, --embd and --ctx must be positive")
        }
        guard warmup >= 0, clip >= 0, temperature > 0, topK >= 0, sample >= 0 else {
            throw ValidationError("--warmup, --clip, --top-k and --sample must not be negative, --temperature must be positive")
        }
    }

    func run() throws {
        blasThreadCount = threads
        manualSeed(seed)
        let data = try text.map(Self.readBytes) ?? Self.readTokens(tokens!)
        let model: GPT
        if let weights {
            model = try GPT.load(contentsOf: weights, heads: heads)
        } else {
            model = try GPT(GPTConfig(blockSize: ctx, vocabSize: 256, layers: layers, heads: heads ?? 4, embedding: embd))
        }
        let config = model.config
        let T = seq ?? Swift.min(config.blockSize, 64)
        guard T > 0, T <= config.blockSize else { throw ValidationError("--seq \(T) must be between 1 and the model's context, \(config.blockSize)") }
        guard data.count >= batch * T + 1 else {
            throw ValidationError("the data has \(data.count) tokens; a batch of \(batch)×\(T) needs \(batch * T + 1)")
        }
        if let bad = data.first(where: { $0 < 0 || Int($0) >= config.vocabSize }) {
            throw ValidationError("token \(bad) is outside the model's vocabulary of \(config.vocabSize)")
        }
        print("GPT: \(config.layers) layers, \(config.heads) heads, width \(config.embedding), vocabulary \(config.vocabSize), context \(config.blockSize); \(model.parameterCount) parameters")
        print("data: \(data.count) tokens; batches of \(batch)×\(T)")

        let stream = try Tensor(values: data.map(Double.init), shape: [data.count], dtype: .int64)
        let optimizer = try AdamW(model.parameters(), lr: lr, betas: (beta1, beta2), eps: eps, weightDecay: weightDecay)
        let scheduler = try Self.scheduler(optimizer, warmup: warmup, schedule: schedule, steps: steps)
        let parameters = model.parameters()

        let clock = ContinuousClock()
        var losses: [Double] = []
        var totalAfterFirst = Duration.zero
        var progress = ProgressLine()
        var position = 0
        for step in 0..<steps {
            // llm.c's loader: consecutive batches, back to the start when the next would not fit.
            if position + batch * T + 1 > data.count { position = 0 }
            let start = clock.now
            let loss = try withStep { () throws -> Double in
                let inputs = try stream.slice(dim: 0, start: position, end: position + batch * T).view(batch, T)
                let targets = try stream.slice(dim: 0, start: position + 1, end: position + batch * T + 1).view(batch, T)
                let (_, loss) = try model.forward(inputs, targets: targets)
                optimizer.zeroGrad()
                try loss.backward()
                if clip > 0 { _ = try clipGradNorm_(parameters, maxNorm: clip) }
                try optimizer.step()
                return try loss.item()
            }
            scheduler?.step()
            position += batch * T
            let elapsed = clock.now - start
            if step > 0 { totalAfterFirst += elapsed }
            if step == 0 { MemoryReport.resetPeak() }
            losses.append(loss)
            progress.print("step \(step): loss \(fixed(loss, 4)) (\(fixed(elapsed.milliseconds, 1)) ms)")
            progress.update("step \(step + 1)/\(steps)  loss \(fixed(loss, 4))  lr \(significant(optimizer.lr, 3))")
        }
        progress.clear()
        if let svg {
            let curve = Curve(label: "training loss", color: "#1f77b4", points: losses.enumerated().map { (x: Double($0.offset), y: $0.element) })
            let document = CurvesSVG.render([CurvesSVG.Panel(title: "GPT training loss", xLabel: "step", curves: [curve])])
            try document.write(toFile: svg, atomically: true, encoding: .utf8)
        }
        if let save { try model.save(to: save) }
        if sample > 0 { try generate(model, prompt: data[0], count: sample, byteLevel: text != nil) }
        if memoryReport { print(MemoryReport.current()) }
        let mean = steps > 1 ? totalAfterFirst.milliseconds / Double(steps - 1) : 0
        print("\(steps) steps, \(fixed(mean, 1)) ms per step")
    }

    /// Warmup (`LinearLR` from 1/warmup) then constant or cosine (`CosineAnnealingLR` to 0 at
    /// the last step), as one `SequentialLR`; nil for a constant rate without warmup.
    static func scheduler(_ optimizer: AdamW, warmup: Int, schedule: Schedule, steps: Int) throws -> LRScheduler? {
        var parts: [LRScheduler] = []
        if warmup > 0 { parts.append(try LinearLR(optimizer, startFactor: 1 / Double(warmup), endFactor: 1, totalIters: Swift.max(warmup - 1, 1))) }
        if schedule == .cosine { parts.append(try CosineAnnealingLR(optimizer, tMax: Swift.max(steps - 1 - warmup, 1))) }
        if parts.isEmpty { return nil }
        if parts.count == 1 && warmup == 0 { return parts[0] }
        if parts.count == 1 { return parts[0] }
        return try SequentialLR(optimizer, schedulers: parts, milestones: [warmup])
    }

    /// The bytes of a file, one token each.
    static func readBytes(_ path: String) throws -> [Int32] {
        guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read \(path)") }
        return data.map { Int32($0) }
    }

    /// llm.c's token file: a 256-int32 header `[20240520, 1, count]`, then `count` uint16 tokens.
    static func readTokens(_ path: String) throws -> [Int32] {
        guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read \(path)") }
        guard data.count >= 1024 else { throw ValidationError("\(path): \(data.count) bytes, shorter than llm.c's 1024-byte header") }
        return try data.withUnsafeBytes { raw in
            let magic = raw.loadUnaligned(fromByteOffset: 0, as: Int32.self), version = raw.loadUnaligned(fromByteOffset: 4, as: Int32.self)
            let count = Int(raw.loadUnaligned(fromByteOffset: 8, as: Int32.self))
            guard magic == 20240520 else { throw ValidationError("\(path) is not an llm.c token file (magic \(magic), expected 20240520)") }
            guard version == 1 else { throw ValidationError("\(path): token file version \(version), expected 1") }
            guard count >= 0, data.count == 1024 + 2 * count else {
                throw ValidationError("\(path): the header says \(count) tokens, the file holds \((data.count - 1024) / 2)")
            }
            return (0..<count).map { Int32(raw.loadUnaligned(fromByteOffset: 1024 + 2 * $0, as: UInt16.self)) }
        }
    }

    /// Samples `count` tokens after `prompt` (temperature, top-k) and prints them: as text for
    /// a byte-level model, else as token ids.
    func generate(_ model: GPT, prompt: Int32, count: Int, byteLevel: Bool) throws {
        model.eval()
        var tokens = [Int(prompt)]
        var generator = RandomGenerator(seed: seed)
        for _ in 0..<count {
            let next = try withStep { () throws -> Int in
                try noGrad { () throws -> Int in
                    let context = Array(tokens.suffix(model.config.blockSize))
                    let ids = try Tensor(values: context.map(Double.init), shape: [1, context.count], dtype: .int64)
                    let logits = try model(ids).select(dim: 1, index: context.count - 1).select(dim: 0, index: 0)
                    var scaled = logits.scalars().map { $0 / temperature }
                    if topK > 0 && topK < scaled.count {
                        let cutoff = scaled.sorted(by: >)[topK - 1]
                        scaled = scaled.map { $0 < cutoff ? -.infinity : $0 }
                    }
                    let top = scaled.max() ?? 0
                    let weights = scaled.map { Foundation.exp($0 - top) }
                    var u = generator.nextUniform() * weights.reduce(0, +)
                    for (i, w) in weights.enumerated() {
                        u -= w
                        if u < 0 { return i }
                    }
                    return weights.count - 1
                }
            }
            tokens.append(next)
        }
        model.train()
        if byteLevel {
            print(String(decoding: tokens.map { UInt8($0) }, as: UTF8.self))
        } else {
            print(tokens.map(String.init).joined(separator: " "))
        }
    }
}

extension Duration {
    var milliseconds: Double { Double(components.seconds) * 1e3 + Double(components.attoseconds) * 1e-15 }
}
