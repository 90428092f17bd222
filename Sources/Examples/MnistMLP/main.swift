// Trains a multilayer perceptron classifier: on MNIST-format IDX files (MNIST, Fashion-MNIST),
// or on interleaved spirals that need no data (--synthetic). Each iteration runs in a step
// (`trainingStep` in ExampleSupport/Classifier.swift), so memory stays flat after the first.
import ArgumentParser
import ExampleSupport
import Foundation
import TapeGrad

@main
struct MnistMLP: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mnist-mlp",
        abstract: "Trains an MLP classifier (784-128-10, ReLU, softmax cross-entropy, SGD with momentum) on MNIST-format files or on synthetic spirals.",
        discussion: """
            MNIST and Fashion-MNIST come as four IDX files (decompress the .gz files first):
              mnist-mlp --train-images train-images-idx3-ubyte --train-labels train-labels-idx1-ubyte \\
                        --test-images t10k-images-idx3-ubyte --test-labels t10k-labels-idx1-ubyte
            Without data, --synthetic trains on interleaved 2-D spirals (2-128-3).
            """)

    @Option(help: ArgumentHelp("IDX image file to train on (magic number 0x00000803).", valueName: "file"))
    var trainImages: String?
    @Option(help: ArgumentHelp("IDX label file to train on (magic number 0x00000801).", valueName: "file"))
    var trainLabels: String?
    @Option(help: ArgumentHelp("IDX image file to test on.", valueName: "file"))
    var testImages: String?
    @Option(help: ArgumentHelp("IDX label file to test on.", valueName: "file"))
    var testLabels: String?

    @Flag(help: "Train on interleaved spirals (2-D points, one arm per class) instead of files.")
    var synthetic = false
    @Option(help: "Spiral arms (classes) with --synthetic.")
    var spiralClasses = 3

    @Option(help: "Passes over the training set (default: 5, or 60 with --synthetic).")
    var epochs: Int?
    @Option(help: "Examples per training step.")
    var batchSize = 64
    @Option(help: "Learning rate of SGD (default: 0.05, or 0.1 with --synthetic).")
    var learningRate: Double?
    @Option(help: "Momentum of SGD.")
    var momentum = 0.9
    @Option(help: "Width of the hidden layer.")
    var hidden = 128
    @Option(help: "Seed of the weights, the shuffling and the spirals.")
    var seed: UInt64 = 0
    @Option(help: "When output is not a terminal, print a line every this many steps (0: only once per epoch).")
    var printEvery = 100
    @Option(help: ArgumentHelp("Write the loss and accuracy curves to this SVG file.", valueName: "file"))
    var svg: String?

    func validate() throws {
        let files = [trainImages, trainLabels, testImages, testLabels]
        if synthetic {
            guard files.allSatisfy({ $0 == nil }) else { throw ValidationError("--synthetic takes no data files") }
            guard spiralClasses >= 2 else { throw ValidationError("--spiral-classes must be at least 2") }
        } else {
            guard files.allSatisfy({ $0 != nil }) else {
                throw ValidationError("give all of --train-images, --train-labels, --test-images and --test-labels, or --synthetic")
            }
        }
        guard (epochs ?? 1) > 0 else { throw ValidationError("--epochs must be positive") }
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive") }
        guard (learningRate ?? 1) > 0 else { throw ValidationError("--learning-rate must be positive") }
        guard hidden > 0 else { throw ValidationError("--hidden must be positive") }
        guard printEvery >= 0 else { throw ValidationError("--print-every must be 0 or more") }
    }

    func run() throws {
        let (train, test) = try loadData()
        let epochs = epochs ?? (synthetic ? 60 : 5)
        let learningRate = learningRate ?? (synthetic ? 0.1 : 0.05)
        var generator = RandomGenerator(seed: seed)
        let model = try MLP(sizes: [train.dimension, hidden, train.classes], generator: &generator)
        let optimizer = try SGD(model.parameters, lr: learningRate, momentum: momentum)
        let sizes = model.sizes.map(String.init).joined(separator: "-")
        print("\(synthetic ? "spirals" : "IDX data"): \(train.count) training and \(test.count) test examples; MLP \(sizes), \(epochs) epoch\(epochs == 1 ? "" : "s") of \(train.batchCount(size: batchSize)) steps")

        var progress = ProgressLine()
        var rate = StepRate()
        var lossCurve: [(x: Double, y: Double)] = []
        var trainAccuracyCurve: [(x: Double, y: Double)] = []
        var testAccuracyCurve: [(x: Double, y: Double)] = [(0, try evaluate(model, on: test).accuracy)]
        let curveInterval = max(1, epochs * train.batchCount(size: batchSize) / 400)
        var step = 0
        var window = (loss: 0.0, correct: 0, count: 0, steps: 0)        // since the last printed line
        var curveWindow = (loss: 0.0, correct: 0, count: 0, steps: 0)   // since the last curve point
        for epoch in 1...epochs {
            let batches = train.shuffledBatches(size: batchSize, using: &generator)
            var epochTotals = (loss: 0.0, correct: 0, count: 0)
            for (i, indices) in batches.enumerated() {
                let result = try trainingStep(model, optimizer, train.batch(indices))
                step += 1
                rate.tick()
                guard result.loss.isFinite else {
                    progress.clear()
                    throw ValidationError("the loss diverged to \(result.loss) at step \(step): try a smaller --learning-rate")
                }
                epochTotals.loss += result.loss * Double(result.count)
                epochTotals.correct += result.correct
                epochTotals.count += result.count
                window = (window.loss + result.loss, window.correct + result.correct, window.count + result.count, window.steps + 1)
                curveWindow = (curveWindow.loss + result.loss, curveWindow.correct + result.correct, curveWindow.count + result.count, curveWindow.steps + 1)
                if curveWindow.steps == curveInterval {
                    lossCurve.append((Double(step), curveWindow.loss / Double(curveWindow.steps)))
                    trainAccuracyCurve.append((Double(step), Double(curveWindow.correct) / Double(curveWindow.count)))
                    curveWindow = (0, 0, 0, 0)
                }
                let status = {
                    "epoch \(epoch)/\(epochs)  step \(i + 1)/\(batches.count)  loss \(fixed(window.loss / Double(window.steps), 4))  accuracy \(fixed(100 * Double(window.correct) / Double(window.count), 1))%  \(fixed(rate.perSecond, 1)) steps/s"
                }
                if progress.isTerminal {
                    if progress.isDue() {
                        progress.update(status())
                        window = (0, 0, 0, 0)
                    }
                } else if printEvery > 0 && step % printEvery == 0 {
                    print(status())
                    window = (0, 0, 0, 0)
                }
            }
            let testResult = try evaluate(model, on: test)
            testAccuracyCurve.append((Double(step), testResult.accuracy))
            progress.print("epoch \(epoch)/\(epochs): train loss \(fixed(epochTotals.loss / Double(epochTotals.count), 4)), train accuracy \(fixed(100 * Double(epochTotals.correct) / Double(epochTotals.count), 2))%, test loss \(fixed(testResult.loss, 4)), test accuracy \(fixed(100 * testResult.accuracy, 2))%")
        }
        let final = try evaluate(model, on: test)
        print("test accuracy: \(fixed(100 * final.accuracy, 2))% (\(Int((final.accuracy * Double(test.count)).rounded()))/\(test.count))")

        if let svg {
            let document = CurvesSVG.render([
                .init(title: "training loss (softmax cross-entropy)", xLabel: "step",
                      curves: [.init(label: "train", color: "#1f77b4", points: lossCurve)],
                      yRange: 0...max(lossCurve.map(\.y).max() ?? 1, 1e-3)),
                .init(title: "accuracy", xLabel: "step", curves: [
                    .init(label: "train", color: "#1f77b4", points: trainAccuracyCurve),
                    .init(label: "test", color: "#d62728", points: testAccuracyCurve, markers: true),
                ], yRange: 0...1, legendAtBottom: true),
            ])
            do {
                try document.write(toFile: svg, atomically: true, encoding: .utf8)
            } catch {
                throw ValidationError("cannot write \(svg): \(error.localizedDescription)")
            }
            print("curves written to \(svg)")
        }
    }

    /// The training and test sets, standardised with the training set's statistics.
    private func loadData() throws -> (Dataset, Dataset) {
        let train: Dataset, test: Dataset
        if synthetic {
            train = Spirals.make(classes: spiralClasses, pointsPerClass: 300, seed: seed)
            test = Spirals.make(classes: spiralClasses, pointsPerClass: 100, seed: seed &+ 1)
            return (train, test)
        }
        // A bad file throws an IDX.FileError: ArgumentParser prints "Error: " and its message
        // and exits with status 1.
        let (trainImages, trainLabels) = try IDX.readDataset(images: self.trainImages!, labels: self.trainLabels!)
        let (testImages, testLabels) = try IDX.readDataset(images: self.testImages!, labels: self.testLabels!)
        guard testImages.rows == trainImages.rows && testImages.columns == trainImages.columns else {
            throw IDX.FileError("the test images are \(testImages.rows)×\(testImages.columns) pixels but the training images are \(trainImages.rows)×\(trainImages.columns)")
        }
        guard trainImages.count > 0 && testImages.count > 0 else {
            throw IDX.FileError("the training and test sets must each hold at least one image")
        }
        let classes = max(Int(trainLabels.max() ?? 0), Int(testLabels.max() ?? 0)) + 1
        train = Dataset(images: trainImages, labels: trainLabels, minimumClasses: classes)
        test = Dataset(images: testImages, labels: testLabels, minimumClasses: classes)
        let (mean, standardDeviation) = train.featureStatistics
        return (train.standardized(mean: mean, standardDeviation: standardDeviation),
                test.standardized(mean: mean, standardDeviation: standardDeviation))
    }
}
