import Foundation
import Testing
@testable import TapeGrad
import TapeGradConformance

/// GPT-2 against PyTorch (Resources/gpt2-fixture, written by scripts/make-gpt2-fixture.py):
/// every checkpoint format, the logits, loss and gradients, and 10 AdamW steps; the module's
/// names and tied head; clear errors for wrong checkpoints; and a training step that
/// allocates nothing after the first.
@Suite struct GPTTests {
    static var fixture: String {
        guard let url = Bundle.module.url(forResource: "gpt2-fixture", withExtension: nil)
            ?? Bundle.module.url(forResource: "gpt2-fixture", withExtension: nil, subdirectory: "Resources")
        else { fatalError("gpt2-fixture is missing from the test bundle") }
        return url.path
    }

    @Test func matchesPyTorch() throws {
        let checks = try checkGPT2(directory: Self.fixture)
        #expect(checks.count > 90)
        for check in checks { #expect(check.passed, "\(check.name): \(check.difference)") }
    }

    /// nanoGPT's names and count: the tied head is in the state dict but not among the
    /// parameters (PyTorch's `named_parameters()` lists a shared tensor once).
    @Test func namesAndTiedHead() throws {
        let config = GPTConfig(blockSize: 16, vocabSize: 50, layers: 2, heads: 2, embedding: 8)
        let model = try GPT(config)
        let names = model.namedParameters().map(\.name)
        #expect(names.prefix(6) == ["transformer.wte.weight", "transformer.wpe.weight", "transformer.h.0.ln_1.weight",
                                     "transformer.h.0.ln_1.bias", "transformer.h.0.attn.c_attn.weight", "transformer.h.0.attn.c_attn.bias"])
        #expect(!names.contains("lm_head.weight") && model.stateDict().keys.last == "lm_head.weight")
        // nanoGPT's count: V·C + T·C + L·(12·C² + 13·C) + 2·C.
        let (V, T, L, C) = (50, 16, 2, 8)
        #expect(model.parameterCount == V * C + T * C + L * (12 * C * C + 13 * C) + 2 * C)
        #expect(model.lmHead.weight.isSame(model.wte.weight))
    }

    @Test func checkpointErrorsNameTheTensor() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tapegrad-gpt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let good = try SafeTensors.load(contentsOf: Self.fixture + "/model.safetensors")
        // Without heads, a nanoGPT file that does not say how many.
        #expect(throws: TapeGradError.self) { try GPT.load(contentsOf: Self.fixture + "/model.safetensors") }
        var entries = good.entries
        let i = entries.firstIndex { $0.name == "transformer.h.1.mlp.c_fc.weight" }!
        entries[i].tensor = Tensor.zeros([64, 256])
        let path = directory.appendingPathComponent("bad.safetensors").path
        try SafeTensors.save(StateDict(entries), to: path)
        #expect(throws: TapeGradError.runtime("GPT checkpoint \(path): transformer.h.1.mlp.c_fc.weight has shape [64, 256], expected [256, 64] (nn.Linear layout [out, in])")) {
            try GPT.load(contentsOf: path, heads: 4)
        }
        // Zero heads, from the caller or a config: errors, not a division by zero.
        #expect(throws: TapeGradError.self) { try GPT.load(contentsOf: Self.fixture + "/model.safetensors", heads: 0) }
        #expect(throws: TapeGradError.self) { try GPT(GPTConfig(layers: 1, heads: 0, embedding: 8)) }
        // Saved by TapeGrad, the heads travel in the metadata; the weights round-trip.
        let model = try GPT.load(contentsOf: Self.fixture + "/model.safetensors", heads: 4)
        let saved = directory.appendingPathComponent("saved.safetensors").path
        try model.save(to: saved)
        let again = try GPT.load(contentsOf: saved)
        #expect(again.config == model.config)
        #expect(again.stateDict()["transformer.h.1.attn.c_proj.weight"]!.scalars() == model.stateDict()["transformer.h.1.attn.c_proj.weight"]!.scalars())
        // And llm.c's format round-trips too.
        let bin = directory.appendingPathComponent("model.bin").path
        try model.saveLLMC(to: bin)
        let (fromBin, format) = try GPT.loadCheckpoint(contentsOf: bin)
        #expect(format == .llmc && fromBin.wte.weight.scalars() == model.wte.weight.scalars())
    }

    /// A damaged llm.c header (sizes whose products overflow) or a truncated file is an
    /// error, never a crash.
    @Test func damagedLLMCCheckpointsThrow() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tapegrad-llmc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        for header in [[20240326, 3, 1024, 50257, 12, 1, Int(Int32.max), 50304], [20240326, 3, 64, 256, 2, 4, 64, 256], [20240326, 5, 64, 256, 2, 4, 64, 256]] {
            var words = [Int32](repeating: 0, count: 256)
            for (i, value) in header.enumerated() { words[i] = Int32(value) }
            let path = directory.appendingPathComponent("bad.bin").path
            _ = FileManager.default.createFile(atPath: path, contents: words.withUnsafeBytes { Data($0) } + Data(count: 100))
            #expect(throws: TapeGradError.self) { try GPT.load(contentsOf: path) }
        }
    }

    /// A small GPT's training step (AdamW, clipping), on a fresh engine: nothing allocated
    /// after the first steps.
    @Test(.needsJemallocCounters) func trainingStepAllocatesNothingAfterTheFirst() throws {
        let allocated = Shared<[UInt64]>([])
        onNewThread {
            blasThreadCount = 1
            manualSeed(3)
            let model = try! GPT(GPTConfig(blockSize: 32, vocabSize: 64, layers: 2, heads: 4, embedding: 32))
            let data = try! Tensor(values: (0..<1000).map { Double(($0 * 7) % 64) }, shape: [1000], dtype: .int64)
            let optimizer = try! AdamW(model.parameters(), lr: 1e-3)
            let parameters = model.parameters()
            var bytes: [UInt64] = []
            bytes.reserveCapacity(8)
            for k in 0..<8 {
                let before = MemoryReport.threadAllocatedBytes
                try! withStep {
                    let inputs = try data.slice(dim: 0, start: 64 * k, end: 64 * k + 64).view(2, 32)
                    let targets = try data.slice(dim: 0, start: 64 * k + 1, end: 64 * k + 65).view(2, 32)
                    let (_, loss) = try model.forward(inputs, targets: targets)
                    optimizer.zeroGrad()
                    try loss.backward()
                    _ = try clipGradNorm_(parameters, maxNorm: 1)
                    try optimizer.step()
                }
                bytes.append(MemoryReport.threadAllocatedBytes - before)
            }
            allocated.value = bytes
        }
        #expect(Array(allocated.value.dropFirst(2)) == [0, 0, 0, 0, 0, 0], "bytes allocated per step: \(allocated.value)")
    }
}
