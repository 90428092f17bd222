// Seed 004's training loop: a two-layer ReLU network fitted to random data with plain
// gradient descent, weights updated under `noGrad` and gradients zeroed by hand.
import ArgumentParser
import ExampleSupport
import TapeGrad

@main
struct TwoLayerNet: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "two-layer-net",
        abstract: "Trains seed 004's two-layer network (N=64, D_in=1000, H=100, D_out=10) and times it.")

    @Option(help: "Training iterations.")
    var iterations = 500

    @Option(help: "Print `iteration loss` every this many iterations (0: print nothing inside the loop).")
    var printEvery = 1

    @Option(help: "Seed of the random data and weights.")
    var seed: UInt64 = 0

    @Option(help: "Which ReLU to use: builtin (Tensor.relu) or custom (seed 004's MyReLU, a custom Function).")
    var relu: ReLUKind = .builtin

    enum ReLUKind: String, ExpressibleByArgument, CaseIterable {
        case builtin, custom
    }

    @Option(help: "OpenBLAS threads (with more than 1, OpenBLAS allocates on every matrix product).")
    var blasThreads = 1

    @Flag(help: "Print TapeGrad's memory report (arena, pool by size class, tape, peak bytes of a step) at the end.")
    var memoryReport = false

    func validate() throws {
        guard iterations > 0 else { throw ValidationError("--iterations must be positive") }
        guard printEvery >= 0 else { throw ValidationError("--print-every must be 0 or more") }
        guard blasThreads > 0 else { throw ValidationError("--blas-threads must be positive") }
    }

    func run() throws {
        let (n, dIn, h, dOut) = (64, 1000, 100, 10)
        let learningRate = 1e-6
        blasThreadCount = blasThreads
        manualSeed(seed)
        let x = Tensor.randn(n, dIn)
        let y = Tensor.randn(n, dOut)
        let w1 = Tensor.randn(dIn, h, requiresGrad: true)
        let w2 = Tensor.randn(h, dOut, requiresGrad: true)

        let clock = ContinuousClock()
        var afterFirst = clock.now
        var progress = ProgressLine()   // on a terminal, a status line updated in place; otherwise nothing
        var rate = StepRate()
        for t in 0..<iterations {
            try withStep {
                let hidden = try x.mm(w1)
                let activated = relu == .builtin ? try hidden.relu() : try MyReLU.apply(hidden)
                let yPred = try activated.mm(w2)
                let loss = (yPred - y).pow(2).sum()
                if printEvery > 0 && t % printEvery == 0 { progress.clear(); print(t, try loss.item()) }
                if progress.isDue() {
                    let status = "iteration \(t)/\(iterations)  loss \(significant(try loss.item()))  \(fixed(rate.perSecond, 1)) iterations/s"
                    progress.update(status)
                }
                try loss.backward()
                try noGrad {
                    try w1.sub_(learningRate * w1.grad!)
                    try w2.sub_(learningRate * w2.grad!)
                    try w1.grad!.zero_()
                    try w2.grad!.zero_()
                }
            }
            if progress.isTerminal { rate.tick() }
            if t == 0 {
                afterFirst = clock.now
                MemoryReport.resetPeak()
            }
        }
        let micros = (clock.now - afterFirst).seconds * 1e6 / Double(max(iterations - 1, 1))
        progress.clear()
        if memoryReport { print(MemoryReport.current()) }
        print("\(iterations) iterations, \(fixed(micros, 1)) µs per iteration")
    }
}

/// Seed 004's ReLU written as a custom autograd function: forward clamps at zero and saves its
/// input; backward passes the gradient where the input was not negative.
enum MyReLU: Function {
    static func forward(_ ctx: FunctionContext, _ input: Tensor) throws -> Tensor {
        ctx.saveForBackward(input)
        return input.clamp(min: 0)
    }

    static func backward(_ ctx: FunctionContext, _ gradOutput: Tensor) throws -> Tensor? {
        let input = ctx.savedTensors[0]
        let gradInput = gradOutput.clone()
        gradInput[mask: input < 0] = 0
        return gradInput
    }
}
