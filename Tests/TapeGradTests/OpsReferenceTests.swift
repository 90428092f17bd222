import Foundation
import Testing
import TapeGradConformance

/// The cases of `Resources/ops-reference.json` (PyTorch 2.15, float64; a copy of
/// `../shared/reference/ops-reference.json`), run through `TapeGradConformance`.
enum OpsReference {
    static let suite = referenceResource("ops-reference") { url in try ConformanceSuite(contentsOf: url) }

    /// Every case TapeGrad can run today: the single-op cases of the ops in the table, and
    /// every composed graph.
    static let implementedCaseNames: [String] = suite.cases
        .filter { $0.isProgram || conformanceOps[$0.op] != nil }
        .map(\.name)

    /// The ops of the reference that TapeGrad does not have yet. When one is added to the
    /// library, add its row to `conformanceOps` and remove it from here.
    static let notYetImplemented: Set<String> = []
}

@Suite struct OpsReferenceTests {
    // Bodies stay synchronous: TapeGrad's engine belongs to the thread, and a test that
    // suspended could resume on another one.

    @Test(arguments: OpsReference.implementedCaseNames)
    func matchesPyTorch(_ name: String) throws {
        let testCase = try #require(OpsReference.suite[name])
        let result = TapeGradConformance.run(testCase)
        #expect(result == .pass, "\(name): \(result.reason ?? "")")
    }

    @Test func unknownOpsAreExactlyTheNotYetImplementedOnes() {
        var unknown: Set<String> = []
        var unknownCases = 0
        for testCase in OpsReference.suite.cases {
            if case .unknownOp(let op) = TapeGradConformance.run(testCase) {
                unknown.insert(op)
                unknownCases += 1
            }
        }
        let expected = OpsReference.notYetImplemented
        let newlyUnknown = unknown.subtracting(expected).sorted()
        let nowKnown = expected.subtracting(unknown).sorted()
        #expect(newlyUnknown.isEmpty, "ops reported unknown that should be in the table (broken entry?): \(newlyUnknown)")
        #expect(nowKnown.isEmpty, "ops now in the table; remove them from notYetImplemented: \(nowKnown)")
        #expect(unknown == expected)
        // Every case is either checked by matchesPyTorch or reported as an unknown op.
        #expect(OpsReference.implementedCaseNames.count + unknownCases == OpsReference.suite.cases.count)
        #expect(!OpsReference.implementedCaseNames.isEmpty)
    }
}

/// A vendored reference file of the test bundle, read by `load`; a missing or unreadable file
/// stops the tests with a message.
func referenceResource<Suite>(_ name: String, _ load: (URL) throws -> Suite) -> Suite {
    guard let url = Bundle.module.url(forResource: name, withExtension: "json")
        ?? Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Resources")
    else { fatalError("\(name).json is missing from the test bundle") }
    do {
        return try load(url)
    } catch {
        fatalError("cannot read \(name).json: \(error)")
    }
}
