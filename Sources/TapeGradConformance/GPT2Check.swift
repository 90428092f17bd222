// Checks TapeGrad's GPT-2 against PyTorch's (a directory written by scripts/make-gpt2-fixture.py):
// the model is loaded from each checkpoint format (nanoGPT safetensors, Hugging Face's with its
// config.json, llm.c's .bin) and must give the same weights; then, from the nanoGPT file, the
// logits, the loss and every parameter's gradient are compared with PyTorch's, and the losses
// of 10 AdamW steps on the same batch (llm.c's test_gpt2.c).
import Foundation
import TapeGrad

/// One compared quantity of the GPT-2 check: a tensor's largest difference relative to the
/// norm of PyTorch's tensor, or a loss's absolute difference.
public struct GPT2Check: Sendable {
    /// What was compared, e.g. `grad.transformer.h.0.attn.c_attn.weight`.
    public var name: String
    /// The difference measured.
    public var difference: Double
    /// The largest difference allowed.
    public var tolerance: Double
    /// Whether the difference is within the tolerance.
    public var passed: Bool { difference <= tolerance }
}

/// Logits and gradients: each element within 1e-4 of the norm of PyTorch's tensor; losses
/// within 1e-4.
public let gpt2Tolerance = 1e-4

/// Runs the GPT-2 comparison on a fixture directory. Throws when a file is missing or
/// malformed; mismatches are results.
public func checkGPT2(directory: String) throws -> [GPT2Check] {
    let url = URL(fileURLWithPath: directory)
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    let fixtureData = try Data(contentsOf: url.appendingPathComponent("fixture.json"))
    guard let fixture = try JSONSerialization.jsonObject(with: fixtureData) as? [String: Any],
          let optimizer = fixture["optimizer"] as? [String: Any], let heads = fixture["heads"] as? Int else {
        throw ConformanceInputError(description: "fixture.json has no heads or optimizer")
    }
    let reference = try SafeTensors.load(contentsOf: path("reference.safetensors"))
    func required(_ name: String) throws -> Tensor {
        guard let t = reference[name] else { throw ConformanceInputError(description: "reference.safetensors has no \(name)") }
        return t
    }
    var checks: [GPT2Check] = []
    /// max |actual − expected| / ‖expected‖.
    func compare(_ name: String, _ actual: Tensor?, _ expected: Tensor) {
        let e = expected.scalars()
        guard let actual, actual.shape == expected.shape else {
            checks.append(GPT2Check(name: "\(name) (shape \(actual?.shape ?? []) vs \(expected.shape))", difference: .infinity, tolerance: gpt2Tolerance))
            return
        }
        let a = actual.scalars()
        let norm = Swift.max(e.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-12)
        var worst = 0.0
        for i in 0..<e.count { worst = Swift.max(worst, Swift.abs(a[i] - e[i]) / norm) }
        checks.append(GPT2Check(name: name, difference: worst.isNaN ? .infinity : worst, tolerance: gpt2Tolerance))
    }

    return try withStep { () throws -> [GPT2Check] in
        // The three formats give the same model.
        let model = try GPT.load(contentsOf: path("model.safetensors"), heads: heads)
        let weights = model.stateDict()
        for (file, label) in [("hf/model.safetensors", "huggingFace"), ("model.bin", "llmc")] {
            let other = try GPT.load(contentsOf: path(file))
            for entry in other.stateDict().entries { compare("\(label).\(entry.name)", entry.tensor, weights[entry.name]!) }
        }
        let inputs = try required("inputs"), targets = try required("targets")
        let (logits, loss) = try model.forward(inputs, targets: targets)
        compare("logits", logits, try required("logits"))
        let expectedLoss = try required("loss").item()
        checks.append(GPT2Check(name: "loss", difference: Swift.abs(try loss.item() - expectedLoss), tolerance: gpt2Tolerance))
        try loss.backward()
        for (name, parameter) in model.namedParameters() { compare("grad.\(name)", parameter.grad, try required("grad.\(name)")) }

        // 10 AdamW steps on the same batch; each loss before its update.
        model.zeroGrad()
        let betas = (optimizer["betas"] as? [Double]) ?? [0.9, 0.999]
        let adam = try AdamW(model.parameters(), lr: optimizer["lr"] as? Double ?? 1e-4, betas: (betas[0], betas[1]),
                             eps: optimizer["eps"] as? Double ?? 1e-8, weightDecay: optimizer["weight_decay"] as? Double ?? 0.01)
        let expectedLosses = try required("losses").scalars()
        for k in 0..<expectedLosses.count {
            let value = try withStep { () throws -> Double in
                adam.zeroGrad()
                let (_, stepLoss) = try model.forward(inputs, targets: targets)
                try stepLoss.backward()
                try adam.step()
                return try stepLoss.item()
            }
            checks.append(GPT2Check(name: "losses[\(k)]", difference: Swift.abs(value - expectedLosses[k]), tolerance: gpt2Tolerance))
        }
        return checks
    }
}
