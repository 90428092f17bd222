import Foundation
import Testing
import TapeGrad

/// `stateDict()`/`loadStateDict` of every optimizer: training resumed from a saved model and
/// optimizer state (through a safetensors file) gives the same weights, bit for bit, as
/// training without a stop; PyTorch's names for the state.
@Suite struct OptimizerStateTests {
    static let makers: [(String, @Sendable ([Tensor]) throws -> any Optimizer)] = [
        ("AdamW", { try AdamW($0, lr: 0.05) }), ("Adam amsgrad", { try Adam($0, lr: 0.05, amsgrad: true) }),
        ("SGD", { try SGD($0, lr: 0.05, momentum: 0.9) }), ("RMSprop", { try RMSprop($0, lr: 0.01, momentum: 0.5, centered: true) }),
        ("Adagrad", { try Adagrad($0, lr: 0.1) }),
    ]

    static func train(_ model: Linear, _ optimizer: any Optimizer, steps: Int) throws {
        let x = try Tensor([[1.0, -2, 0.5], [0.3, 0.2, -1]])
        for _ in 0..<steps {
            try withStep {
                optimizer.zeroGrad()
                try model(x).tanh().pow(2).sum().backward()
                try optimizer.step()
            }
        }
    }

    @Test(arguments: 0..<makers.count)
    func resumedTrainingIsTheSame(_ index: Int) throws {
        let (name, make) = Self.makers[index]
        manualSeed(5)
        let straight = Linear(3, 2)
        manualSeed(5)
        let first = Linear(3, 2)
        try Self.train(straight, try make(straight.parameters()), steps: 5)
        let optimizer = try make(first.parameters())
        try Self.train(first, optimizer, steps: 3)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("tapegrad-opt-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        try SafeTensors.save(optimizer.stateDict(), to: file)
        let resumed = Linear(3, 2)
        try resumed.loadStateDict(first.stateDict())
        let again = try make(resumed.parameters())
        try again.loadStateDict(try SafeTensors.load(contentsOf: file))
        try Self.train(resumed, again, steps: 2)
        #expect(resumed.weight.scalars() == straight.weight.scalars(), "\(name)")
        #expect(resumed.bias!.scalars() == straight.bias!.scalars(), "\(name)")
    }

    @Test func pytorchNames() throws {
        let layer = Linear(3, 2)
        let adam = try AdamW(layer.parameters())
        try Self.train(layer, adam, steps: 1)
        #expect(adam.stateDict().keys == ["state.0.step", "state.0.exp_avg", "state.0.exp_avg_sq", "state.1.step", "state.1.exp_avg", "state.1.exp_avg_sq",
                                          "param_groups.0.lr", "param_groups.0.betas", "param_groups.0.eps", "param_groups.0.weight_decay",
                                          "param_groups.0.amsgrad", "param_groups.0.maximize", "param_groups.0.decoupled_weight_decay", "param_groups.0.params"])
        let sgd = try SGD(layer.parameters(), lr: 0.1)
        #expect(throws: TapeGradError(.valueError, "loaded state dict contains a parameter group that doesn't match the size of optimizer's group")) {
            try sgd.loadStateDict(StateDict([StateDictEntry(name: "state.5.momentum_buffer", tensor: Tensor.zeros([2]))]))
        }
    }
}
