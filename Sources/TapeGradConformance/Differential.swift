// The differential reference (`Tests/TapeGradTests/Resources/differential-reference.json`,
// written by scripts/make-differential-reference.py with PyTorch 2.15): the ops of the
// conformance table on random shapes (broadcast pairs, 0-dim and size-0 tensors), in float64
// with Hessian-vector products and in float32, and bad inputs with PyTorch's exact error.
//
//     { "generator": "...", "format": "tapegrad-differential-1", "tolerances": {...},
//       "known_differences": [{"case": NAME, "reason": "..."}], "cases": [CASE, ...] }
//
// A CASE has `name` (`OP#k`, `OP#f32-k`, `OP#err-k`), `op` (a key of `conformanceOps`),
// `dtype` ("float64" or "float32": the inputs' type, a `"dtype": "bool"` input aside),
// `inputs` and `kwargs` as in ops-reference.json, and either
//   * `output`, `upstream` (u) and `grads`: the gradient of out·u for each input that requires
//     grad, in order (zeros where PyTorch's is undefined), and for float64 cases `hvp`: `v`
//     (one tensor per such input) and `grads`, the gradient of Σᵢ <gradᵢ(out·u), vᵢ> with
//     respect to each of them (computed with create_graph=True; zeros where undefined); or
//   * `error`: `type` (the Python exception class) and `message` (its `str`), which the op's
//     thrown TapeGradError must equal exactly (`kind.rawValue` and `message`).
// `known_differences` lists the cases the generator left out because TapeGrad disagrees with
// PyTorch there, with the reason (informational: the runner does not read it).
import Foundation
import TapeGrad

/// The error PyTorch raises for a case's bad input.
public struct DifferentialError: Decodable, Sendable, Equatable {
    /// The Python exception class: `RuntimeError`, `IndexError`, `ValueError`, ...
    public var type: String
    /// `str(exception)`.
    public var message: String
}

/// A Hessian-vector product of a case: the vectors and the expected second-order gradients.
public struct DifferentialHVP: Decodable, Sendable {
    public var v: [ConformanceTensor]
    public var grads: [ConformanceTensor]
}

/// One case of the differential reference.
public struct DifferentialCase: Decodable, Sendable {
    public var name: String
    public var op: String
    /// "float64" or "float32".
    public var dtype: String
    public var inputs: [ConformanceTensor]
    public var kwargs: ConformanceKwargs
    public var upstream: ConformanceTensor?
    public var output: ConformanceTensor?
    public var grads: [ConformanceTensor]?
    public var hvp: DifferentialHVP?
    public var error: DifferentialError?

    enum CodingKeys: String, CodingKey {
        case name, op, dtype, inputs, kwargs, upstream, output, grads, hvp, error
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        op = try c.decode(String.self, forKey: .op)
        dtype = try c.decode(String.self, forKey: .dtype)
        inputs = try c.decode([ConformanceTensor].self, forKey: .inputs)
        kwargs = try c.decodeIfPresent(ConformanceKwargs.self, forKey: .kwargs) ?? [:]
        upstream = try c.decodeIfPresent(ConformanceTensor.self, forKey: .upstream)
        output = try c.decodeIfPresent(ConformanceTensor.self, forKey: .output)
        grads = try c.decodeIfPresent([ConformanceTensor].self, forKey: .grads)
        hvp = try c.decodeIfPresent(DifferentialHVP.self, forKey: .hvp)
        error = try c.decodeIfPresent(DifferentialError.self, forKey: .error)
    }
}

/// A case the generator left out, and why.
public struct DifferentialKnownDifference: Decodable, Sendable {
    public var `case`: String
    public var reason: String
}

/// The cases of a differential reference file.
public struct DifferentialSuite: Sendable {
    /// The `format` of the files this reads.
    public static let format = "tapegrad-differential-1"

    public var generator: String?
    public var cases: [DifferentialCase]
    public var knownDifferences: [DifferentialKnownDifference]

    private struct File: Decodable {
        var generator: String?
        var format: String
        var cases: [DifferentialCase]
        var known_differences: [DifferentialKnownDifference]?
    }

    private struct Header: Decodable {
        var format: String?
    }

    /// Whether `data` is a differential reference file (its `format` is ``format``), rather
    /// than one in ops-reference.json's format.
    public static func isDifferential(_ data: Data) -> Bool {
        (try? JSONDecoder().decode(Header.self, from: data))?.format == format
    }

    public init(contentsOf url: URL) throws {
        try self.init(data: Data(contentsOf: url))
    }

    public init(data: Data) throws {
        let file = try conformanceDecoder().decode(File.self, from: data)
        guard file.format == Self.format else {
            throw ConformanceInputError(description: "format \(file.format), expected \(Self.format)")
        }
        generator = file.generator
        cases = file.cases
        knownDifferences = file.known_differences ?? []
    }

    /// The case with the given name.
    public subscript(name: String) -> DifferentialCase? { cases.first { $0.name == name } }

    /// Runs every case, in order.
    public func runAll() -> [(name: String, result: ConformanceResult)] {
        cases.map { ($0.name, run($0)) }
    }
}

/// Runs one differential case inside its own step: the op on the inputs (in the case's dtype);
/// for an error case, the TapeGradError it must throw; else the output, the gradients of
/// out·upstream from `grad(of:withRespectTo:gradOutputs:createGraph:)`, and for an `hvp` the
/// gradients of Σᵢ <gradᵢ, vᵢ> from a second `grad(of:withRespectTo:)` through the first's
/// recorded graph. Values compare within the dtype's ``ConformanceTolerance``; an undefined
/// gradient (nil) compares as zeros.
public func run(_ testCase: DifferentialCase) -> ConformanceResult {
    guard let op = conformanceOps[testCase.op] else { return .unknownOp(testCase.op) }
    guard let dtype = DType(pytorchName: testCase.dtype), dtype.isFloatingPoint else {
        return .fail("unknown dtype \(testCase.dtype)")
    }
    do {
        return try withStep { () throws -> ConformanceResult in
            let inputs = try testCase.inputs.map { (input) throws -> Tensor in
                guard let inputType = try input.dtype.map({ (name) throws -> DType in
                    guard let type = DType(pytorchName: name) else { throw ConformanceFailure("input dtype \(name) is not one of TapeGrad's") }
                    return type
                }) else {
                    return try Tensor(values: input.values, shape: input.shape, dtype: dtype, requiresGrad: input.requiresGrad)
                }
                return try Tensor(values: input.values, shape: input.shape, dtype: inputType, requiresGrad: input.requiresGrad)
            }
            if let expected = testCase.error {
                return checkError(expected, { try op(inputs, testCase.kwargs) })
            }
            guard let expectedOutput = testCase.output, let expectedGrads = testCase.grads else {
                return .fail("case has neither an output with grads nor an error")
            }
            let output = try op(inputs, testCase.kwargs)
            var mismatches: [(label: String, text: String)] = []
            let outputDType: DType
            switch expectedOutput.dtype {
            case nil: outputDType = dtype
            case let name?:
                guard let type = DType(pytorchName: name) else { return .fail("output dtype \(name) is not one of TapeGrad's") }
                outputDType = type
            }
            if let problem = compare("output", actual: output, expected: expectedOutput, dtype: outputDType) {
                mismatches.append(("output", problem))
            }
            let leaves = inputs.filter(\.requiresGrad)
            guard leaves.count == expectedGrads.count else {
                return .fail("\(leaves.count) inputs require grad but the case lists \(expectedGrads.count) gradients")
            }
            guard !leaves.isEmpty else { return result(of: mismatches) }
            guard output.requiresGrad else {
                return .fail("output does not require grad, but \(leaves.count) input(s) do")
            }
            guard let upstream = testCase.upstream else { return .fail("case has no upstream gradient") }
            let u = try Tensor(values: upstream.values, shape: upstream.shape, dtype: dtype)
            let grads = try grad(of: output, withRespectTo: leaves, gradOutputs: u,
                                 createGraph: testCase.hvp != nil, allowUnused: true)
            mismatches += compareGradients("grad", grads, leaves, expectedGrads, dtype)

            if let hvp = testCase.hvp {
                guard hvp.v.count == leaves.count, hvp.grads.count == leaves.count else {
                    return .fail("hvp lists \(hvp.v.count) vectors and \(hvp.grads.count) gradients for \(leaves.count) inputs")
                }
                var s: Tensor? = nil
                for (g, v) in zip(grads, hvp.v) {
                    guard let g else { continue }
                    let term = try g.mul(try Tensor(values: v.values, shape: v.shape, dtype: dtype)).sum()
                    s = try s.map { try $0.add(term) } ?? term
                }
                var second = [Tensor?](repeating: nil, count: leaves.count)
                if let s, s.requiresGrad {
                    second = try grad(of: s, withRespectTo: leaves, allowUnused: true)
                }
                mismatches += compareGradients("hvp", second, leaves, hvp.grads, dtype)
            }
            return result(of: mismatches)
        }
    } catch let failure as ConformanceFailure {
        return .fail(failure.message)
    } catch {
        return .fail("error: \(error)")
    }
}

/// A case the runner cannot run as written (a dtype TapeGrad lacks).
struct ConformanceFailure: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

extension DType {
    /// The dtype PyTorch names `name` without `torch.` (`float32`, `int64`, `bool`).
    init?(pytorchName name: String) {
        guard let type = DType.allCases.first(where: { $0.description == "torch." + name }) else { return nil }
        self = type
    }
}

/// Gradient `k` against its expected value; nil compares as zeros of the input's shape.
private func compareGradients(_ what: String, _ actual: [Tensor?], _ leaves: [Tensor],
                              _ expected: [ConformanceTensor], _ dtype: DType) -> [(label: String, text: String)] {
    var mismatches: [(label: String, text: String)] = []
    for (k, (g, e)) in zip(actual, expected).enumerated() {
        let label = "\(what) \(k)"
        let problem: String?
        if let g {
            problem = compare(label, actual: g, expected: e, dtype: dtype)
        } else {
            let shape = leaves[k].shape
            problem = compare(label + " (undefined, as zeros)", shape: shape,
                              values: [Double](repeating: 0, count: shape.reduce(1, *)),
                              expected: e, tolerance: .of(dtype))
        }
        if let problem { mismatches.append((label, problem)) }
    }
    return mismatches
}

/// The op must throw PyTorch's error: the same exception class (`kind.rawValue`) and the same
/// message, character for character.
private func checkError(_ expected: DifferentialError, _ body: () throws -> Tensor) -> ConformanceResult {
    do {
        let output = try body()
        return .fail("expected \(expected.type): \(expected.message); the op returned a tensor of shape \(output.shape)")
    } catch let error as TapeGradError {
        var problems: [String] = []
        if error.kind.rawValue != expected.type {
            problems.append("type \(error.kind.rawValue), expected \(expected.type)")
        }
        if error.message != expected.message {
            problems.append("message \"\(error.message)\", expected \"\(expected.message)\"")
        }
        return problems.isEmpty ? .pass : .fail(problems.joined(separator: "; "))
    } catch {
        return .fail("expected \(expected.type): \(expected.message); threw \(type(of: error)): \(error)")
    }
}
