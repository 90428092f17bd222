// Times TapeGrad's workloads for the comparison script: each subcommand prints one line,
// `NAME MICROSECONDS` (mean per iteration after warm-up), nothing else.
import ArgumentParser
import BenchmarkWorkloads
import TapeGrad

@main
struct TapeGradTimings: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tapegrad-timings",
        abstract: "Times TapeGrad workloads (release build, one OpenBLAS thread).",
        subcommands: [TwoLayer.self, Seed000.self, Chain.self, Add.self])
}

/// Mean seconds per call of `body` over `iterations` calls after `warmup` calls.
func time(iterations: Int, warmup: Int = 3, _ body: () throws -> Void) rethrows -> Double {
    for _ in 0..<warmup { try body() }
    let clock = ContinuousClock()
    let start = clock.now
    for _ in 0..<iterations { try body() }
    let elapsed = clock.now - start
    return (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18) / Double(iterations)
}

func report(_ name: String, _ seconds: Double) {
    print(name, seconds * 1e6)
}

struct TwoLayer: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "two-layer")
    @Option var iterations = 200
    @Option var update = "seed"
    func run() throws {
        blasThreadCount = 1
        var net = TwoLayerStep()
        net.update = TwoLayerStep.Update(rawValue: update) ?? .seed
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
