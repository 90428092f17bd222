// A multilayer perceptron classifier, its loss and its optimizer, written with TapeGrad's ops.
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
        precondition(sizes.count >= 2, "an MLP needs an input and an output size")
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
            if layer < weights.count - 1 { x = x.relu() }
        }
        return x
    }
}

/// Softmax cross-entropy averaged over the batch (PyTorch's `F.cross_entropy` with class
/// probabilities as targets), from `logits` `[batch, classes]` and one-hot `targets`.
///
/// Written with TapeGrad's elementwise ops and reductions, and numerically stable: each row's
/// maximum is subtracted before `exp` (log-sum-exp), so large logits do not overflow. The
/// maximum is detached: log-softmax does not depend on it, so no gradient needs to flow
/// through it.
public func softmaxCrossEntropy(_ logits: Tensor, _ targets: Tensor) throws -> Tensor {
    let shifted = logits - (try logits.amax(dim: 1, keepDim: true)).detach()
    let logSumExp = try shifted.exp().sum(dim: 1, keepDim: true).log()
    let logProbabilities = shifted - logSumExp
    return -(targets * logProbabilities).sum() / Double(logits.shape[0])
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

/// Stochastic gradient descent with momentum (PyTorch's `torch.optim.SGD` with `momentum`,
/// no dampening): `v = momentum * v + grad; p -= learningRate * v`.
public struct SGD: Sendable {
    public let parameters: [Tensor]
    public var learningRate: Double
    public var momentum: Double
    /// One velocity per parameter, made with the optimizer so they persist across steps.
    private let velocities: [Tensor]

    public init(parameters: [Tensor], learningRate: Double, momentum: Double = 0) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.momentum = momentum
        velocities = momentum == 0 ? [] : parameters.map { $0.zerosLike() }
    }

    /// Updates every parameter that has a gradient and drops the gradient
    /// (`optimizer.step(); optimizer.zero_grad(set_to_none=True)`).
    public func step() throws {
        try noGrad {
            for (i, p) in parameters.enumerated() {
                guard let g = p.grad else { continue }
                if momentum == 0 {
                    try p.sub_(g, alpha: learningRate)
                } else {
                    try velocities[i].mul_(momentum)
                    try velocities[i].add_(g)
                    try p.sub_(velocities[i], alpha: learningRate)
                }
                p.grad = nil
            }
        }
    }
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
        let loss = try softmaxCrossEntropy(logits, try batch.targets())
        try loss.backward()
        try optimizer.step()
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
                lossSum += try softmaxCrossEntropy(logits, try batch.targets()).item() * Double(batch.count)
                correct += correctPredictions(logits, batch.labels)
            }
        }
    }
    let n = max(data.count, 1)
    return (lossSum / Double(n), Double(correct) / Double(n))
}
