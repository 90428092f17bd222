// A multilayer perceptron classifier and its training step, written with TapeGrad's ops
// (`crossEntropy` for the loss, `SGD` for the update).
import TapeGrad

/// Fully connected layers with ReLU between them: `sizes` `[784, 128, 10]` is
/// `Linear(784, 128) → ReLU → Linear(128, 10)`. The parameters are leaves made outside any
/// step, so they persist across training steps.
public struct MLP: Sendable {
    /// The width of each layer, input first.
    public let sizes: [Int]
    /// One `[in, out]` weight per layer.
    public let weights: [Tensor]
    /// One `[out]` bias per layer.
    public let biases: [Tensor]

    /// Weights drawn from He (Kaiming) normal initialisation, `randn * sqrt(2 / in)`; biases zero.
    public init(sizes: [Int], generator: inout RandomGenerator) throws {
        guard sizes.count >= 2 else { fatalError("an MLP needs an input and an output size") }
        self.sizes = sizes
        var weights: [Tensor] = [], biases: [Tensor] = []
        for (fanIn, fanOut) in zip(sizes, sizes.dropFirst()) {
            let w = Tensor.randn([fanIn, fanOut], using: &generator) * (2 / Double(fanIn)).squareRoot()
            weights.append(try w.requiresGrad_(true))
            biases.append(Tensor.zeros([fanOut], requiresGrad: true))
        }
        self.weights = weights
        self.biases = biases
    }

    /// Every parameter: weights and biases, layer by layer.
    public var parameters: [Tensor] { zip(weights, biases).flatMap { [$0, $1] } }

    /// The logits for a `[batch, sizes[0]]` input.
    public func callAsFunction(_ input: Tensor) throws -> Tensor {
        var x = input
        for layer in weights.indices {
            x = try x.mm(weights[layer]) + biases[layer]
            if layer < weights.count - 1 { x = try x.relu() }
        }
        return x
    }
}

/// How many rows of `logits` have their largest value at the row's label.
public func correctPredictions(_ logits: Tensor, _ labels: [Int]) -> Int {
    let values = logits.scalars()
    let classes = logits.shape[1]
    var correct = 0
    for (row, label) in labels.enumerated() {
        var best = 0
        for c in 1..<classes where values[row * classes + c] > values[row * classes + best] { best = c }
        if best == label { correct += 1 }
    }
    return correct
}

/// What one training step measured.
public struct StepResult: Sendable {
    /// The batch's mean loss.
    public var loss: Double
    /// Examples the model classified correctly before the update.
    public var correct: Int
    /// Examples in the batch.
    public var count: Int
}

/// One iteration of training, in its own step: everything it makes (the batch's tensors, the
/// tape, the gradients' scratch) goes back to the pool when it returns.
public func trainingStep(_ model: MLP, _ optimizer: SGD, _ batch: Batch) throws -> StepResult {
    try withStep {
        let logits = try model(try batch.inputs())
        let loss = try crossEntropy(logits, batch.labels)
        try loss.backward()
        try optimizer.step()
        optimizer.zeroGrad()   // set to none: the next backward stores its gradients without an add
        return StepResult(loss: try loss.item(), correct: correctPredictions(logits, batch.labels), count: batch.count)
    }
}

/// The mean loss and the accuracy of `model` on `data`, without recording (`torch.no_grad()`).
public func evaluate(_ model: MLP, on data: Dataset, batchSize: Int = 1000) throws -> (loss: Double, accuracy: Double) {
    var lossSum = 0.0, correct = 0
    try noGrad {
        for indices in data.orderedBatches(size: batchSize) {
            try withStep {
                let batch = data.batch(indices)
                let logits = try model(try batch.inputs())
                lossSum += try crossEntropy(logits, batch.labels).item() * Double(batch.count)
                correct += correctPredictions(logits, batch.labels)
            }
        }
    }
    let n = max(data.count, 1)
    return (lossSum / Double(n), Double(correct) / Double(n))
}
