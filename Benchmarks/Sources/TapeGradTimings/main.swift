// Times TapeGrad's workloads for the comparison script: each subcommand prints one line,
// `NAME MICROSECONDS` (mean per iteration after warm-up), nothing else.
import ArgumentParser
import Foundation
import BenchmarkWorkloads
import TapeGrad

@main
struct TapeGradTimings: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tapegrad-timings",
        abstract: "Times TapeGrad workloads (release build, one OpenBLAS thread).",
        subcommands: [TwoLayer.self, Seed000.self, Chain.self, Add.self, ResNet18.self, GPT2.self, GPT2Files.self])
}

/// Mean seconds per call of `body` over `iterations` calls after `warmup` calls.
func time(iterations: Int, warmup: Int = 3, _ body: () throws -> Void) rethrows -> Double {
    for _ in 0..<warmup { try body() }
    let clock = ContinuousClock()
    let start = clock.now
    for _ in 0..<iterations { try body() }
    return (clock.now - start).seconds / Double(iterations)
}

extension Duration {
    /// The duration in seconds.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}

extension TwoLayerStep.Update: ExpressibleByArgument {}

func report(_ name: String, _ seconds: Double) {
    print(name, seconds * 1e6)
}

struct TwoLayer: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "two-layer")
    @Option var iterations = 200
    @Option var update = TwoLayerStep.Update.seed
    func run() throws {
        blasThreadCount = 1
        var net = TwoLayerStep()
        net.update = update
        report("two-layer-\(net.update.rawValue)", try time(iterations: iterations) { try net.step() })
    }
}

struct Seed000: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "seed000")
    @Option var iterations = 200_000
    func run() throws {
        let graph = Seed000Graph()
        report("seed000", try time(iterations: iterations) { try graph.run() })
    }
}

struct Chain: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "chain")
    @Option var length = 1_000
    @Option var iterations = 0
    func run() throws {
        let chain = OpChain(length: length)
        let n = iterations > 0 ? iterations : max(5, 2_000_000 / length)
        let seconds = try time(iterations: n) { try chain.run() }
        report("chain-\(length)-per-op", seconds / Double(length))
    }
}

struct Add: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "add")
    @Option var iterations = 2_000
    func run() throws {
        let add = LargeAdd()
        report("add-1M", time(iterations: iterations) { add.run() })
    }
}

/// Seed 002's training step on ResNet-18: random images `[batch, 3, size, size]` and labels
/// `[batch, 1000]`, `loss = (prediction - labels).sum()`, backward, SGD(lr: 0.01, momentum: 0.9).
/// The first step fills the pool; the second may still allocate (the momentum buffers SGD made
/// in the first step took pool buffers that the step's own tensors need again), and prints
/// `resnet18-second-step-bytes N`; the timed steps after it must allocate nothing (jemalloc's
/// per-thread counter stays put), or the run fails.
struct ResNet18: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "resnet18")
    @Option var batch = 1
    @Option var size = 64
    @Option var iterations = 10
    @Flag(help: "Also print forward, backward and optimizer milliseconds per timed step to stderr.")
    var phases = false

    func run() throws {
        blasThreadCount = 1
        manualSeed(0)
        let model = resnet18()
        let data = Tensor.rand([batch, 3, size, size])
        let labels = Tensor.rand([batch, 1000])
        let optimizer = try SGD(model.parameters(), lr: 1e-2, momentum: 0.9)
        let clock = ContinuousClock()
        var spent = [Duration](repeating: .zero, count: 3)
        var lap = clock.now
        func mark(_ phase: Int) {
            let now = clock.now
            spent[phase] += now - lap
            lap = now
        }
        func step() throws {
            try withStep { () throws(TapeGradError) in
                lap = clock.now
                let loss = try model(data).sub(labels).sum()
                _ = try loss.item()
                mark(0)
                try loss.backward()
                mark(1)
                try optimizer.step()
                optimizer.zeroGrad()
                mark(2)
            }
        }
        try step()
        let beforeSecond = MemoryReport.threadAllocatedBytes
        try step()
        let second = MemoryReport.threadAllocatedBytes - beforeSecond
        spent = [Duration](repeating: .zero, count: 3)
        let before = MemoryReport.threadAllocatedBytes
        let seconds = try time(iterations: iterations, warmup: 0, step)
        let allocated = MemoryReport.threadAllocatedBytes - before
        guard allocated == 0 else {
            throw ValidationError("resnet18: \(allocated) bytes allocated in \(iterations) timed steps (expected 0)")
        }
        if phases {
            let ms = spent.map { $0.seconds * 1e3 }
            let n = Double(iterations)
            FileHandle.standardError.write(String(format: "forward %.1f ms, backward %.1f ms, optimizer %.1f ms per step\n",
                                                  ms[0] / n, ms[1] / n, ms[2] / n).data(using: .utf8)!)
        }
        print("resnet18-second-step-bytes", second)
        report("resnet18-\(batch)x3x\(size)x\(size)", seconds)
    }
}

/// A GPT-2's sizes (GPT-2 124M's by default), shared by `gpt2` and `gpt2-files`.
struct GPT2Sizes: ParsableArguments {
    @Option var layers = 12
    @Option var heads = 12
    @Option var embd = 768
    @Option var vocab = 50257
    @Option var ctx = 1024

    var config: GPTConfig { GPTConfig(blockSize: ctx, vocabSize: vocab, layers: layers, heads: heads, embedding: embd) }
}

/// A GPT-2 training step on B×T random tokens: forward with the loss, zero_grad, backward,
/// AdamW (lr 1e-4, no weight decay), as llm.c's loop. Prints `gpt2-second-step-bytes N`, then
/// `gpt2-LxC-BxT MICROSECONDS` (mean of the timed steps); timed steps that allocate fail the run.
struct GPT2: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "gpt2")
    @OptionGroup var sizes: GPT2Sizes
    @Option var batch = 4
    @Option var seq = 64
    @Option var iterations = 3

    func run() throws {
        blasThreadCount = 1
        manualSeed(0)
        let model = try GPT(sizes.config)
        var generator = RandomGenerator(seed: 1)
        let tokens = try Tensor(values: (0...(batch * seq)).map { _ in Double(generator.next() % UInt64(sizes.vocab)) }, shape: [batch * seq + 1], dtype: .int64)
        let inputs = try tokens.slice(dim: 0, end: batch * seq).view(batch, seq)
        let targets = try tokens.slice(dim: 0, start: 1).view(batch, seq)
        let optimizer = try AdamW(model.parameters(), lr: 1e-4, weightDecay: 0)
        func step() throws {
            try withStep { () throws(TapeGradError) in
                let (_, loss) = try model.forward(inputs, targets: targets)
                optimizer.zeroGrad()
                try loss.backward()
                try optimizer.step()
                _ = try loss.item()
            }
        }
        try step()
        let beforeSecond = MemoryReport.threadAllocatedBytes
        try step()
        let second = MemoryReport.threadAllocatedBytes - beforeSecond
        let before = MemoryReport.threadAllocatedBytes
        let seconds = try time(iterations: iterations, warmup: 0, step)
        let allocated = MemoryReport.threadAllocatedBytes - before
        guard allocated == 0 else {
            throw ValidationError("gpt2: \(allocated) bytes allocated in \(iterations) timed steps (expected 0)")
        }
        print("gpt2-second-step-bytes", second)
        report("gpt2-\(sizes.layers)x\(sizes.embd)-\(batch)x\(seq)", seconds)
    }
}

/// Writes llm.c's files for a randomly initialised GPT-2 of the given sizes into a directory:
/// `model.bin` (TapeGrad's `saveLLMC`) and `tokens.bin` (random tokens, llm.c's header), for
/// llm.c's timing harness.
struct GPT2Files: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "gpt2-files")
    @Argument var directory: String
    @OptionGroup var sizes: GPT2Sizes
    @Option var tokens = 100_000

    func run() throws {
        manualSeed(0)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let model = try GPT(sizes.config)
        try model.saveLLMC(to: directory + "/model.bin")
        var header = [Int32](repeating: 0, count: 256)
        header[0] = 20240520
        header[1] = 1
        header[2] = Int32(tokens)
        var data = header.withUnsafeBytes { Data($0) }
        var generator = RandomGenerator(seed: 2)
        let ids = (0..<tokens).map { _ in UInt16(generator.next() % UInt64(sizes.vocab)) }
        ids.withUnsafeBytes { data.append(contentsOf: $0) }
        try data.write(to: URL(fileURLWithPath: directory + "/tokens.bin"))
    }
}
