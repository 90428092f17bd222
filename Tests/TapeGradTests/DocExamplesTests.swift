import Testing
import TapeGrad

// The custom Module and custom Optimizer examples of docs/pytorch-mapping.md, as written
// there (renamed Block → DocBlock, SimpleAdagrad → DocAdagrad): they must compile and train.

/// `fc2(dropout(relu(fc1(x)))) * gain`: two built-in layers as children, one parameter and
/// one buffer of its own.
final class DocBlock: Module {
    var isTraining = true             // required: train() and eval() set it
    var fc1: Linear                   // a child; a `var` can be replaced: block.fc1 = Linear(16, 64)
    let fc2: Linear
    @Parameter var gain: Tensor       // a parameter: a leaf that requires grad
    @Buffer var calls: Tensor         // a buffer: no gradient, saved in the state dict
    let p: Double

    init(_ features: Int, hidden: Int, p: Double = 0.1) {
        fc1 = Linear(features, hidden)
        fc2 = Linear(hidden, features)
        gain = Tensor.ones([features])
        calls = Tensor.zeros([], dtype: .float64)
        self.p = p
        Init.kaimingNormal_(fc1.weight)   // instead of PyTorch's default for Linear
        Init.constant_(fc1.bias!, 0)
    }

    func forward(_ input: Tensor) throws(TapeGradError) -> Tensor {
        if isTraining { try calls.add_(1) }   // in place: a buffer doesn't require grad
        let h = try fc1(input).relu()
        return try fc2(try dropout(h, p: p, training: isTraining)).mul(gain)
    }
}

/// Adagrad without its decay options (`torch.optim.Adagrad(params, lr=0.01, eps=1e-10)`):
/// `sum += g²`, `p -= lr · g / (√sum + eps)`.
final class DocAdagrad: Optimizer {
    let parameters: [Tensor]
    var lr: Double
    var eps: Double
    private let sums: [Tensor]            // state: one tensor per parameter

    init(_ parameters: [Tensor], lr: Double = 0.01, eps: Double = 1e-10) {
        self.parameters = parameters
        self.lr = lr
        self.eps = eps
        sums = parameters.map { $0.zerosLike() }   // made here, outside any step: persistent
    }

    func step() throws(TapeGradError) {
        try noGrad { () throws(TapeGradError) in
            for (p, sum) in zip(parameters, sums) {
                guard let g = p.grad else { continue }   // no gradient: skipped, as PyTorch does
                try sum.add_(g * g)
                try p.sub_(try g.div(sum.sqrt() + eps), alpha: lr)
            }
        }
    }

    var description: String { "Adagrad (lr: \(lr), eps: \(eps))" }
}

@Suite struct DocExamplesTests {
    @Test func customModuleAndOptimizerTrain() throws {
        manualSeed(0)
        let block = DocBlock(16, hidden: 64)
        #expect(block.stateDict().keys == ["gain", "calls", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"])
        let optimizer = DocAdagrad(block.parameters(), lr: 0.05)
        let x = Tensor.randn(8, 16)
        var losses: [Double] = []
        for _ in 0..<30 {
            try withStep {
                let loss = try mseLoss(try block(x), x)
                losses.append(try loss.item())
                try loss.backward()
                try optimizer.step()
                optimizer.zeroGrad()
            }
        }
        #expect(losses.last! < losses.first!)
        #expect(try block.calls.item() == 30)
        block.eval()
        #expect(!block.isTraining)
    }
}
