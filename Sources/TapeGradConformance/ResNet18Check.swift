// Checks TapeGrad's ResNet-18 against PyTorch's (`../shared/reference/resnet18/`, see its
// README): torchvision's weights and one input are loaded from safetensors files, and the
// parameter count, the eval-mode and train-mode outputs, the loss, every parameter's gradient
// (sum and L2 norm), and the parameters and batch-norm buffers after one and two steps of
// SGD(lr=0.01, momentum=0.9) are compared with `expected.json`.
import Foundation
import TapeGrad

/// One compared quantity of the ResNet-18 check.
public struct ResNet18Check: Sendable {
    /// What was compared, e.g. `grads.conv1.weight.norm`.
    public var name: String
    /// PyTorch's value.
    public var expected: Double
    /// TapeGrad's value.
    public var actual: Double
    /// Whether they agree within the tolerance.
    public var passed: Bool
}

/// Sums and norms of float32 work differ from PyTorch's in the last digits: values agree when
/// |actual − expected| ≤ `resnet18RelativeTolerance`·max(|expected|, `scale`), where `scale`
/// is the size of the quantity the value was computed from (a tensor's norm for its sum).
/// The parameters after the second step are ill-conditioned and have wider tolerances (see
/// `checkResNet18`).
public let resnet18RelativeTolerance = 1e-3

/// Runs the ResNet-18 comparison against the reference directory `directory`
/// (`weights.safetensors`, `input.safetensors`, `expected.json`). Throws when a file is
/// missing or malformed; mismatches are results, not errors.
public func checkResNet18(directory: String) throws -> [ResNet18Check] {
    let url = URL(fileURLWithPath: directory)
    let expectedData = try Data(contentsOf: url.appendingPathComponent("expected.json"))
    guard let expected = try JSONSerialization.jsonObject(with: expectedData) as? [String: Any] else {
        throw ConformanceInputError(description: "expected.json is not a JSON object")
    }
    var checks: [ResNet18Check] = []
    func check(_ name: String, _ actual: Double, _ expectedValue: Any?, scale: Double = 0, tolerance: Double? = nil) {
        guard let e = (expectedValue as? NSNumber)?.doubleValue else {
            checks.append(ResNet18Check(name: name, expected: .nan, actual: actual, passed: false))
            return
        }
        let allowed = tolerance ?? resnet18RelativeTolerance * Swift.max(Swift.abs(e), scale)
        let passed = Swift.abs(actual - e) <= allowed || (actual.isNaN && e.isNaN)
        checks.append(ResNet18Check(name: name, expected: e, actual: actual, passed: passed))
    }
    func checkList(_ name: String, _ actual: [Double], _ expectedValue: Any?, scale: Double) {
        let values = (expectedValue as? [Any])?.compactMap { ($0 as? NSNumber)?.doubleValue } ?? []
        for i in 0..<Swift.max(values.count, 1) {
            check("\(name)[\(i)]", i < actual.count ? actual[i] : .nan, i < values.count ? values[i] : nil, scale: scale)
        }
    }
    func dictionary(_ key: String) -> [String: Any] { expected[key] as? [String: Any] ?? [:] }
    func norm(_ t: Tensor) -> Double { t.scalars().reduce(0) { $0 + $1 * $1 }.squareRoot() }
    func sum(_ t: Tensor) -> Double { t.scalars().reduce(0, +) }
    /// Sums and norms of each named tensor against `expected[key]`.
    func checkTensors(_ key: String, _ tensors: [(name: String, tensor: Tensor?)],
                      sumTolerance: Double? = nil, normTolerance: Double? = nil) {
        let reference = dictionary(key)
        for (name, tensor) in tensors {
            guard let entry = reference[name] as? [String: Any], let tensor else {
                checks.append(ResNet18Check(name: "\(key).\(name)", expected: .nan, actual: .nan, passed: false))
                continue
            }
            let n = norm(tensor)
            let expectedNorm = (entry["norm"] as? NSNumber)?.doubleValue
            if let sumTolerance, let expectedNorm {
                check("\(key).\(name).sum", sum(tensor), entry["sum"], tolerance: sumTolerance * expectedNorm)
            } else {
                check("\(key).\(name).sum", sum(tensor), entry["sum"], scale: expectedNorm ?? n * 1e-3)
            }
            if let expectedNorm {
                check("\(key).\(name).norm", n, entry["norm"], tolerance: normTolerance.map { $0 * expectedNorm })
            }
        }
        for name in reference.keys where !tensors.contains(where: { $0.name == name }) {
            checks.append(ResNet18Check(name: "\(key).\(name) (not in TapeGrad's model)", expected: .nan, actual: .nan, passed: false))
        }
    }

    manualSeed(0)
    let model = resnet18()
    check("parameter_count", Double(model.parameterCount), expected["parameter_count"])
    try model.loadSafeTensors(url.appendingPathComponent("weights.safetensors").path)
    let inputs = try SafeTensors.load(contentsOf: url.appendingPathComponent("input.safetensors").path)
    guard let data = inputs["data"], let labels = inputs["labels"] else {
        throw ConformanceInputError(description: "input.safetensors lacks data or labels")
    }

    // Evaluation mode: running statistics, nothing recorded.
    model.eval()
    try withStep {
        let output = try noGrad { try model(data) }
        let row = output.scalars()
        checkList("eval_output_first_row_first_10", Array(row.prefix(10)), expected["eval_output_first_row_first_10"], scale: 1e-1)
        check("eval_output_sum", sum(output), expected["eval_output_sum"], scale: norm(output))
    }

    // Training mode: batch statistics; a step of SGD with momentum, twice.
    model.train()
    let parameters = model.namedParameters()
    let optimizer = try SGD(model.parameters(), lr: 0.01, momentum: 0.9)
    try withStep {
        let output = try model(data)
        checkList("train_output_first_row_first_10", Array(output.scalars().prefix(10)), expected["train_output_first_row_first_10"], scale: 1e-1)
        check("train_output_sum", sum(output), expected["train_output_sum"], scale: norm(output))
        let loss = try output.sub(labels).sum()
        check("loss", try loss.item(), expected["loss"])
        try loss.backward()
    }
    checkTensors("grads", parameters.map { ($0.name, $0.tensor.grad) })
    try optimizer.step()
    checkTensors("params_after_one_step", parameters.map { ($0.name, Optional($0.tensor)) })
    optimizer.zeroGrad()
    try withStep {
        let loss = try model(data).sub(labels).sum()
        check("loss_second_step", try loss.item(), expected["loss_second_step"])
        try loss.backward()
    }
    try optimizer.step()
    // The second step is ill-conditioned in float32: PyTorch's own float64 run of these two
    // steps differs from its float32 reference by up to 11% of a parameter's norm in the sums
    // and 0.33% in the norms. These values are compared with twice that spread.
    checkTensors("params_after_two_steps", parameters.map { ($0.name, Optional($0.tensor)) },
                 sumTolerance: 0.25, normTolerance: 1e-2)
    checkTensors("buffers_after_two_steps", model.namedBuffers().map { ($0.name, Optional($0.tensor)) })
    return checks
}
