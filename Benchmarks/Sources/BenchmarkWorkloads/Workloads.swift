import TapeGrad

/// Seed 004's two-layer network, one training step per `step()`.
public struct TwoLayerStep {
    /// How the weights are updated and the gradients reset.
    public enum Update: String, Sendable {
        /// Seed 004's spelling: `w -= lr * w.grad` and `w.grad.zero_()`.
        case seed
        /// An optimizer's spelling: `w.sub_(w.grad, alpha: lr)` and `w.grad = nil` (PyTorch's
        /// `zero_grad(set_to_none=True)`, its default).
        case optimizer
    }

    let x, y, w1, w2: Tensor
    let learningRate = 1e-6
    public var update = Update.seed

    /// Made outside any step, so the data and weights persist.
    public init(n: Int = 64, dIn: Int = 1000, h: Int = 100, dOut: Int = 10, seed: UInt64 = 0) {
        var generator = RandomGenerator(seed: seed)
        x = Tensor.randn([n, dIn], using: &generator)
        y = Tensor.randn([n, dOut], using: &generator)
        w1 = Tensor.randn([dIn, h], requiresGrad: true, using: &generator)
        w2 = Tensor.randn([h, dOut], requiresGrad: true, using: &generator)
    }

    /// One iteration: forward, loss, backward, SGD update under noGrad, gradients zeroed.
    @discardableResult
    public func step() throws -> Double {
        try withStep {
            let yPred = try x.mm(w1).relu().mm(w2)
            let loss = (yPred - y).pow(2).sum()
            let value = try loss.item()
            try loss.backward()
            try noGrad {
                switch update {
                case .seed:
                    try w1.sub_(learningRate * w1.grad!)
                    try w2.sub_(learningRate * w2.grad!)
                    try w1.grad!.zero_()
                    try w2.grad!.zero_()
                case .optimizer:
                    try w1.sub_(w1.grad!, alpha: learningRate)
                    try w2.sub_(w2.grad!, alpha: learningRate)
                    w1.grad = nil
                    w2.grad = nil
                }
            }
            return value
        }
    }
}

/// Seed 000's graph on a 2×2 leaf: `y = x + 2; z = y * y * 3; out = z.mean(); out.backward()`.
public struct Seed000Graph {
    let x = Tensor.ones(2, 2, requiresGrad: true)

    public init() {}

    /// One forward and backward pass.
    public func run() throws {
        try withStep {
            let y = x + 2
            let z = y * y * 3
            let out = try z.mean()
            try out.backward()
        }
    }
}

/// A chain of small ops on 16 elements: `length` recorded ops alternating
/// `h * 1.0001 + 0.001` (two ops) and `tanh` (one), then `sum().backward()`.
public struct OpChain {
    let x: Tensor
    public let length: Int

    public init(length: Int, seed: UInt64 = 0) {
        var generator = RandomGenerator(seed: seed)
        x = Tensor.randn([16], requiresGrad: true, using: &generator)
        self.length = length
    }

    /// One forward and backward pass over the chain.
    public func run() throws {
        try withStep {
            var h = x
            var recorded = 0
            while recorded < length {
                switch recorded % 3 {
                case 0: h = h * 1.0001
                case 1: h = h + 0.001
                default: h = h.tanh()
                }
                recorded += 1
            }
            try h.sum().backward()
        }
    }
}

/// A 1M-element elementwise add, to compare with memory bandwidth.
public struct LargeAdd {
    let a = Tensor.ones(1 << 20), b = Tensor.ones(1 << 20)

    public init() {}

    /// One add, released at once.
    public func run() {
        withStep { _ = a + b }
    }
}
