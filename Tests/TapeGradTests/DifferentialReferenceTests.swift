import Foundation
import Testing
import TapeGradConformance

/// The cases of `Resources/differential-reference.json` (PyTorch 2.15; written by
/// scripts/make-differential-reference.py): random shapes, float64 with Hessian-vector
/// products, float32, and bad inputs with PyTorch's exact errors, run through
/// `TapeGradConformance` as CI's `tapegrad-conformance` does.
enum DifferentialReference {
    static let suite = referenceResource("differential-reference") { url in try DifferentialSuite(contentsOf: url) }

    static let caseNames: [String] = suite.cases.map(\.name)
}

@Suite struct DifferentialReferenceTests {
    // Bodies stay synchronous: TapeGrad's engine belongs to the thread.

    @Test(arguments: DifferentialReference.caseNames)
    func matchesPyTorch(_ name: String) throws {
        let testCase = try #require(DifferentialReference.suite[name])
        let result = TapeGradConformance.run(testCase)
        #expect(result == .pass, "\(name): \(result.reason ?? "")")
    }

    /// Every op of the table has float64 cases (with an HVP when it has a derivative) and
    /// float32 cases, and some with
    /// 0-dim and size-0 inputs are among them; the error cases cover many ops.
    @Test func coversEveryOpOfTheTable() {
        let cases = DifferentialReference.suite.cases
        for op in conformanceOps.keys.sorted() {
            let mine = cases.filter { $0.op == op }
            // Ops without a derivative (floor division, bitwise ops) have value cases only.
            let differentiable = mine.contains { $0.error == nil && !($0.grads ?? []).isEmpty }
            #expect(!differentiable || mine.contains { $0.dtype == "float64" && $0.hvp != nil }, "\(op): no float64 case with an HVP")
            #expect(mine.contains { $0.dtype == "float32" && $0.error == nil }, "\(op): no float32 case")
        }
        #expect(cases.contains { $0.inputs.contains { $0.shape.isEmpty } })
        #expect(cases.contains { $0.inputs.contains { $0.shape.contains(0) } })
        #expect(Set(cases.filter { $0.error != nil }.map(\.op)).count >= 30)
    }

    /// The check is not vacuous: a wrong HVP value, a wrong float32 gradient and a wrong error
    /// text each make their case fail.
    @Test func perturbedExpectationsFail() throws {
        let cases = DifferentialReference.suite.cases
        var hvpCase = try #require(cases.first { $0.op == "tanh" && $0.hvp?.grads.first?.values.isEmpty == false })
        hvpCase.hvp!.grads[0].values[0] += 1e-4
        #expect(!TapeGradConformance.run(hvpCase).passed)

        var f32Case = try #require(cases.first { $0.op == "mul" && $0.dtype == "float32" && $0.grads?.first?.values.isEmpty == false })
        f32Case.grads![0].values[0] += 1e-2
        #expect(!TapeGradConformance.run(f32Case).passed)

        var errorCase = try #require(cases.first { $0.error != nil })
        errorCase.error!.message += "."
        #expect(!TapeGradConformance.run(errorCase).passed)
        errorCase.error!.message.removeLast()
        errorCase.error!.type = "ValueError" == errorCase.error!.type ? "RuntimeError" : "ValueError"
        #expect(!TapeGradConformance.run(errorCase).passed)
    }
}
