// Seed 004's training loop: a two-layer ReLU network fitted to random data with plain
// gradient descent, weights updated under `noGrad` and gradients zeroed by hand.
import ArgumentParser
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

    func validate() throws {
        guard iterations > 0 else { throw ValidationError("--iterations must be positive") }
        guard printEvery >= 0 else { throw ValidationError("--print-every must be 0 or more") }
    }

    func run() throws {
        let (n, dIn, h, dOut) = (64, 1000, 100, 10)
        let learningRate = 1e-6
        manualSeed(seed)
        let x = Tensor.randn(n, dIn)
        let y = Tensor.randn(n, dOut)
        let w1 = Tensor.randn(dIn, h, requiresGrad: true)
        let w2 = Tensor.randn(h, dOut, requiresGrad: true)

        let clock = ContinuousClock()
        var afterFirst = clock.now
        for t in 0..<iterations {
            try withStep {
                let yPred = try x.mm(w1).relu().mm(w2)
                let loss = (yPred - y).pow(2).sum()
                if printEvery > 0 && t % printEvery == 0 { print(t, try loss.item()) }
                try loss.backward()
                try noGrad {
                    try w1.sub_(learningRate * w1.grad!)
                    try w2.sub_(learningRate * w2.grad!)
                    try w1.grad!.zero_()
                    try w2.grad!.zero_()
                }
            }
            if t == 0 { afterFirst = clock.now }
        }
        let elapsed = clock.now - afterFirst
        let timed = max(iterations - 1, 1)
        let micros = Double(elapsed.components.seconds) * 1e6 + Double(elapsed.components.attoseconds) * 1e-12
        print("\(iterations) iterations, \(formatMicros(micros / Double(timed))) µs per iteration")
    }

    private func formatMicros(_ value: Double) -> String {
        let tenths = (value * 10).rounded()
        return "\(Int(tenths) / 10).\(Int(tenths) % 10)"
    }
}
