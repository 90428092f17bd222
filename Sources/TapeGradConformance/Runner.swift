// Runs one case of a reference file against TapeGrad, in float64, inside its own step, and
// compares the output and the gradients with PyTorch's.
import TapeGrad

/// The outcome of one case.
public enum ConformanceResult: Sendable, Equatable, CustomStringConvertible {
    /// Output and every gradient within tolerance.
    case pass
    /// Something differs or threw; the reason is one line (which value, index, expected, actual).
    case fail(String)
    /// The case uses an op that has no entry in the table: a failure, never a skip.
    case unknownOp(String)

    public var passed: Bool { self == .pass }

    /// Why the case did not pass; nil when it passed.
    public var reason: String? {
        switch self {
        case .pass: nil
        case .fail(let reason): reason
        case .unknownOp(let op): "unknown op \(op)"
        }
    }

    public var description: String { reason.map { "fail: \($0)" } ?? "pass" }
}

/// The absolute part of the tolerance.
public let conformanceAbsoluteTolerance = 1e-8
/// The relative part of the tolerance (relative to the expected value).
public let conformanceRelativeTolerance = 1e-6

/// The tolerance of a comparison: |actual − expected| ≤ `absolute` + `relative`·|expected|.
public struct ConformanceTolerance: Sendable, Equatable {
    public var absolute: Double
    public var relative: Double

    public init(absolute: Double, relative: Double) {
        self.absolute = absolute
        self.relative = relative
    }

    /// float64 work: 1e-8 + 1e-6·|expected| (ops-reference.json's).
    public static let float64 = ConformanceTolerance(absolute: conformanceAbsoluteTolerance, relative: conformanceRelativeTolerance)
    /// float32 work (the differential reference's float32 cases): 1e-5 + 1e-4·|expected|.
    public static let float32 = ConformanceTolerance(absolute: 1e-5, relative: 1e-4)

    /// float16 work: 1e-3 + 4e-3·|expected|, about four units in the last place.
    public static let float16 = ConformanceTolerance(absolute: 1e-3, relative: 4e-3)
    /// bfloat16 work: 8e-3 + 3.2e-2·|expected|, about four units in the last place.
    public static let bfloat16 = ConformanceTolerance(absolute: 8e-3, relative: 3.2e-2)

    /// The tolerance for work in `dtype`.
    public static func of(_ dtype: DType) -> ConformanceTolerance {
        switch dtype {
        case .float64: .float64
        case .float32: .float32
        case .float16: .float16
        case .bfloat16: .bfloat16
        case .bool, .int64, .int32, .int16, .int8, .uint8: .exact
        }
    }

    /// Integers and bools: equal values only.
    public static let exact = ConformanceTolerance(absolute: 0, relative: 0)
}

/// Whether `actual` is within |actual − expected| ≤ 1e-8 + 1e-6·|expected| (NaN matches NaN).
public func conformanceClose(_ actual: Double, _ expected: Double) -> Bool {
    conformanceClose(actual, expected, tolerance: .float64)
}

/// Whether `actual` is within the tolerance of `expected`; NaN matches NaN, an infinity only
/// itself.
public func conformanceClose(_ actual: Double, _ expected: Double, tolerance: ConformanceTolerance) -> Bool {
    if expected.isNaN || actual.isNaN { return expected.isNaN && actual.isNaN }
    if expected.isInfinite || actual.isInfinite { return expected == actual }
    return Swift.abs(actual - expected) <= tolerance.absolute + tolerance.relative * Swift.abs(expected)
}

/// The op names a case needs that are in no table, or nil when every op is known.
func unknownOp(of testCase: ConformanceCase) -> String? {
    guard let program = testCase.program else {
        return conformanceOps[testCase.op] == nil ? testCase.op : nil
    }
    for step in program {
        switch step.operands.count {
        case 0 where step.op == "mul_sum_last_two": continue
        case 1 where conformanceGraphUnaryOps[step.op] != nil: continue
        case 2 where conformanceGraphBinaryOps[step.op] != nil: continue
        default:
            let known = step.op == "mul_sum_last_two" || conformanceGraphUnaryOps[step.op] != nil
                || conformanceGraphBinaryOps[step.op] != nil
            return known ? "\(step.op) with \(step.operands.count) operands" : step.op
        }
    }
    return nil
}

/// Runs one case: builds its inputs (float64), applies its op or program, runs backward, and
/// compares the output and each input's gradient with the expected ones. Everything runs in a
/// `withStep` so the case's tensors are released when it returns.
public func run(_ testCase: ConformanceCase) -> ConformanceResult {
    if let op = unknownOp(of: testCase) { return .unknownOp(op) }
    do {
        return try withStep { () throws -> ConformanceResult in
            let inputs = try testCase.inputs.map {
                try Tensor(values: $0.values, shape: $0.shape, dtype: .float64, requiresGrad: $0.requiresGrad)
            }
            let output: Tensor
            if let program = testCase.program {
                output = try evaluate(program, inputs)
            } else {
                output = try conformanceOps[testCase.op].unsafelyUnwrapped(inputs, testCase.kwargs)
            }
            var mismatches: [(label: String, text: String)] = []
            if let problem = compare("output", actual: output, expected: testCase.output) {
                mismatches.append(("output", problem))
            }

            let leaves = inputs.filter { $0.requiresGrad }
            if !leaves.isEmpty {
                guard output.requiresGrad else {
                    return .fail("output does not require grad, but \(leaves.count) input(s) do")
                }
                if testCase.isProgram {
                    try output.backward()
                } else {
                    guard let upstream = testCase.upstream else { return .fail("case has no upstream gradient") }
                    let seed = try Tensor(values: upstream.values, shape: upstream.shape, dtype: .float64)
                    try output.backward(gradient: seed)
                }
            }
            guard leaves.count == testCase.grads.count else {
                return .fail("\(leaves.count) inputs require grad but the case lists \(testCase.grads.count) gradients")
            }
            for (k, (leaf, expected)) in zip(leaves, testCase.grads).enumerated() {
                let actual = leaf.grad
                switch (actual, expected) {
                case (nil, nil): break
                case (let actual?, nil):
                    mismatches.append(("grad \(k)", "grad \(k): expected none (input not reached), actual one of shape \(actual.shape)"))
                case (nil, let expected?):
                    mismatches.append(("grad \(k)", "grad \(k): expected one of shape \(expected.shape), actual none"))
                case (let actual?, let expected?):
                    if let problem = compare("grad \(k)", actual: actual, expected: expected) {
                        mismatches.append(("grad \(k)", problem))
                    }
                }
            }
            return result(of: mismatches)
        }
    } catch {
        return .fail("error: \(error)")
    }
}

/// Pass when nothing differs; else the first mismatch's line, naming the others.
func result(of mismatches: [(label: String, text: String)]) -> ConformanceResult {
    guard let first = mismatches.first else { return .pass }
    if mismatches.count == 1 { return .fail(first.text) }
    let others = mismatches.dropFirst().map(\.label).joined(separator: ", ")
    return .fail("\(first.text); also differ: \(others)")
}

/// Evaluates a graph program over `inputs`; its last value is the scalar output.
private func evaluate(_ program: [ConformanceStep], _ inputs: [Tensor]) throws -> Tensor {
    var values = inputs
    func value(_ i: Int) throws -> Tensor {
        guard values.indices.contains(i) else {
            throw ConformanceInputError(description: "program refers to value \(i) of \(values.count)")
        }
        return values[i]
    }
    for step in program {
        switch step.operands.count {
        case 0:  // mul_sum_last_two
            if values.count >= 2 {
                values.append(try values[values.count - 1].mul(values[values.count - 2]).sum())
            } else {
                values.append(try value(values.count - 1).sum())
            }
        case 1:
            values.append(try conformanceGraphUnaryOps[step.op].unsafelyUnwrapped(try value(step.operands[0])))
        default:
            values.append(try conformanceGraphBinaryOps[step.op].unsafelyUnwrapped(
                try value(step.operands[0]), try value(step.operands[1])))
        }
    }
    return try value(values.count - 1)
}

/// Compares a tensor with an expected one: dtype (float64 unless given), shape, then every
/// value within the dtype's tolerance. Returns nil when they match, else one line naming the
/// first differing value.
func compare(_ what: String, actual: Tensor, expected: ConformanceTensor, dtype: DType = .float64) -> String? {
    guard actual.dtype == dtype else { return "\(what): dtype \(actual.dtype), expected \(dtype)" }
    return compare(what, shape: actual.shape, values: actual.scalars(), expected: expected, tolerance: .of(dtype))
}

/// Compares a shape and row-major values with an expected tensor.
func compare(_ what: String, shape: [Int], values: [Double], expected: ConformanceTensor,
             tolerance: ConformanceTolerance) -> String? {
    guard shape == expected.shape else { return "\(what): shape \(shape), expected \(expected.shape)" }
    guard values.count == expected.values.count else {
        return "\(what): \(values.count) values, expected \(expected.values.count)"
    }
    var firstBad: Int? = nil
    var badCount = 0
    for i in values.indices where !conformanceClose(values[i], expected.values[i], tolerance: tolerance) {
        if firstBad == nil { firstBad = i }
        badCount += 1
    }
    guard let i = firstBad else { return nil }
    let index = multiIndex(i, shape: shape)
    let others = badCount > 1 ? " (\(badCount) of \(values.count) values differ)" : ""
    return "\(what) at \(index): expected \(expected.values[i]), actual \(values[i])\(others)"
}

/// A row-major flat index as a multi-index, e.g. `[1, 2]`.
private func multiIndex(_ flat: Int, shape: [Int]) -> String {
    var rest = flat
    var index = [Int](repeating: 0, count: shape.count)
    for d in stride(from: shape.count - 1, through: 0, by: -1) where shape[d] > 0 {
        index[d] = rest % shape[d]
        rest /= shape[d]
    }
    return "[\(index.map(String.init).joined(separator: ", "))]"
}
