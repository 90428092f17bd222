// Runs every case of a PyTorch reference file (ops-reference.json's format) against TapeGrad:
// one line per failing case, then `N passed, M failed`; exits non-zero if anything failed.
import ArgumentParser
import Foundation
import TapeGradConformance

@main
struct TapegradConformance: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tapegrad-conformance",
        abstract: "Checks TapeGrad's ops and gradients against a PyTorch reference file.")

    @Argument(help: "A reference file in the format of ops-reference.json.")
    var file: String

    func run() throws {
        let suite = try ConformanceSuite(contentsOf: URL(fileURLWithPath: file))
        var passed = 0, failed = 0
        for testCase in suite.cases {
            let result = TapeGradConformance.run(testCase)
            if let reason = result.reason {
                failed += 1
                print("FAIL \(testCase.name): \(reason)")
            } else {
                passed += 1
            }
        }
        print("\(passed) passed, \(failed) failed")
        if failed > 0 { throw ExitCode.failure }
    }
}
