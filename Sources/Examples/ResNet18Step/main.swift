// Seed 002's training step on torchvision's ResNet-18: a random image batch and random labels,
// `loss = (prediction - labels).sum()`, backward, and a step of SGD(lr=0.01, momentum=0.9).
// Prints the optimizer as PyTorch does, the loss of each step, and closes with
// `N steps, X ms per step` (the mean over the steps after the first, which warms the pool).
import ArgumentParser
import ExampleSupport
import TapeGrad

@main
struct ResNet18Step: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resnet18-step",
        abstract: "Times training steps of ResNet-18 (seed 002's loop).")

    @Option(help: "Images per batch.")
    var batch = 1

    @Option(help: "Height and width of the images.")
    var size = 64

    @Option(help: "Training steps to run and time.")
    var steps = 3

    @Option(help: "A safetensors file with torchvision's state dict to start from (else a random initialisation).")
    var weights: String?

    @Option(help: "OpenBLAS threads (with more than 1, OpenBLAS allocates on every matrix product).")
    var blasThreads = 1

    func validate() throws {
        guard batch > 0, size >= 32, steps > 0, blasThreads > 0 else {
            throw ValidationError("--batch, --steps and --blas-threads must be positive and --size at least 32")
        }
    }

    func run() throws {
        blasThreadCount = blasThreads
        manualSeed(0)
        let model = resnet18()
        if let weights { try model.loadSafeTensors(weights) }
        let data = Tensor.rand([batch, 3, size, size])
        let labels = Tensor.rand([batch, 1000])
        let optimizer = try SGD(model.parameters(), lr: 1e-2, momentum: 0.9)
        let clock = ContinuousClock()
        var timed = 0.0
        var progress = ProgressLine()   // on a terminal, a status line updated in place; otherwise nothing
        for step in 1...steps {
            let start = clock.now
            let loss = try withStep { () throws(TapeGradError) -> Double in
                let prediction = try model(data)
                let loss = try prediction.sub(labels).sum()
                try loss.backward()
                try optimizer.step()
                optimizer.zeroGrad()
                return try loss.item()
            }
            let milliseconds = (clock.now - start).seconds * 1e3
            if step > 1 || steps == 1 { timed += milliseconds }
            if step == 1 { progress.print("\(optimizer)") }
            progress.print("step \(step): loss \(loss)")
            progress.update("step \(step)/\(steps), \(fixed(milliseconds, 1)) ms", force: true)
        }
        progress.clear()
        let mean = timed / Double(max(steps - 1, 1))
        print("\(steps) steps, \(fixed(mean, 1)) ms per step")
    }
}
