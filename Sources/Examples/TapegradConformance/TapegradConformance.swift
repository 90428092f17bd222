// Runs every case of a PyTorch reference file (ops-reference.json's format, or the differential
// reference's, told apart by its "format") against TapeGrad,
// or with `--resnet18 DIR` compares TapeGrad's ResNet-18 with PyTorch's results in DIR, or with
// `--gpt2 DIR` its GPT-2 with PyTorch's (scripts/make-gpt2-fixture.py): one
// line per failing check, then `N passed, M failed`; exits non-zero if anything failed.
import ArgumentParser
import Foundation
import TapeGradConformance

@main
struct TapegradConformance: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tapegrad-conformance",
        abstract: "Checks TapeGrad's ops and gradients against a PyTorch reference file, or its ResNet-18 against PyTorch's.")

    @Argument(help: "A reference file in the format of ops-reference.json or of differential-reference.json.")
    var file: String?

    @Option(name: .customLong("resnet18"), help: "A directory with weights.safetensors, input.safetensors and expected.json.")
    var resnet18: String?

    @Option(name: .customLong("gpt2"), help: "A directory written by scripts/make-gpt2-fixture.py.")
    var gpt2: String?

    func validate() throws {
        if [file, resnet18, gpt2].compactMap({ $0 }).count != 1 {
            throw ValidationError("give one of a reference file, --resnet18 DIR or --gpt2 DIR")
        }
    }

    func run() throws {
        var passed = 0, failed = 0
        if let directory = resnet18 {
            for check in try checkResNet18(directory: directory) {
                if check.passed {
                    passed += 1
                } else {
                    failed += 1
                    print("FAIL \(check.name): expected \(check.expected), actual \(check.actual)")
                }
            }
        } else if let directory = gpt2 {
            for check in try checkGPT2(directory: directory) {
                if check.passed {
                    passed += 1
                } else {
                    failed += 1
                    print("FAIL \(check.name): difference \(check.difference), tolerance \(check.tolerance)")
                }
            }
        } else if let file {
            let data = try Data(contentsOf: URL(fileURLWithPath: file))
            let results = DifferentialSuite.isDifferential(data)
                ? try DifferentialSuite(data: data).runAll()
                : try ConformanceSuite(data: data).runAll()
            for (name, result) in results {
                if let reason = result.reason {
                    failed += 1
                    print("FAIL \(name): \(reason)")
                } else {
                    passed += 1
                }
            }
        }
        print("\(passed) passed, \(failed) failed")
        if failed > 0 { throw ExitCode.failure }
    }
}
