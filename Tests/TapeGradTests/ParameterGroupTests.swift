import Testing
import TapeGrad

/// Optimizer parameter groups against PyTorch 2.15 (recorded by
/// scripts/record-parameter-groups.py): each optimizer with two groups of different options
/// trains the same float64 problem to PyTorch's weights; a two-group AdamW prints and saves as
/// PyTorch's; a warmup-then-cosine schedule sets each group's rate from its own base.
@Suite struct ParameterGroupTests {
    /// Weights after three steps: `w` (flattened) and `b`.
    static let expected: [String: ([Double], [Double])] = [
        "adamw": ([0.4858002755199492, -1.021784632549519, 1.9639863262878485, 1.4684023396624182, 0.219242898469389, -0.7177364252170119],
                 [-0.037122370914208946, -0.049951493792207334]),
        "sgd": ([0.5321686147194881, -1.0482455261093233, 1.889202329322568, 1.5067024637670887, 0.10750992575295244, -0.17882269627687106],
                 [-0.014700896411552611, 0.0534775594110376]),
        "rmsprop": ([0.5046162519614252, -1.038269676068499, 1.7436263680569788, 1.3931706433568545, -0.02136058202620829, -0.4753218482817661],
                 [0.015013952632395708, 0.14095018225064898]),
        "adagrad": ([0.49682430721479914, -1.0447362139871275, 1.7477751112852078, 1.3449513296597382, -0.019127172202887857, -0.4789984531892911],
                 [0.027097179665646565, 0.05075427930857064]),
    ]

    static func train(_ make: (Tensor, Tensor) throws -> any Optimizer) throws -> ([Double], [Double]) {
        let w = try Tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]], dtype: .float64, requiresGrad: true)
        let b = try Tensor([0.1, -0.2], dtype: .float64, requiresGrad: true)
        let x = try Tensor([[1.0, 2.0, -1.0], [0.5, -0.5, 3.0], [2.0, 1.0, 0.0], [-1.0, 0.5, 1.5]], dtype: .float64)
        let optimizer = try make(w, b)
        for _ in 0..<3 {
            try withStep {
                optimizer.zeroGrad()
                try (x.matmul(w.t()) + b).tanh().pow(2).sum().backward()
                try optimizer.step()
            }
        }
        return (w.scalars(), b.scalars())
    }

    static let makers: [(String, @Sendable (Tensor, Tensor) throws -> any Optimizer)] = [
        ("adamw", { w, b in try AdamW(groups: [ParameterGroup([w]) { $0.weightDecay = 0.1 }, ParameterGroup([b]) { $0.weightDecay = 0; $0.lr = 0.05 }], lr: 0.01) }),
        ("sgd", { w, b in try SGD(groups: [ParameterGroup([w]), ParameterGroup([b]) { $0.momentum = 0.5; $0.lr = 0.2 }], lr: 0.1, momentum: 0.9) }),
        ("rmsprop", { w, b in try RMSprop(groups: [ParameterGroup([w]) { $0.centered = true }, ParameterGroup([b]) { $0.momentum = 0.3 }], lr: 0.01) }),
        ("adagrad", { w, b in try Adagrad(groups: [ParameterGroup([w]) { $0.initialAccumulatorValue = 0.5 }, ParameterGroup([b]) { $0.lrDecay = 0.1 }], lr: 0.1) }),
    ]

    @Test(arguments: 0..<makers.count)
    func twoGroupsTrainAsPyTorch(_ index: Int) throws {
        let (name, make) = Self.makers[index]
        let (w, b) = try Self.train(make)
        let (ew, eb) = Self.expected[name]!
        for (a, e) in zip(w + b, ew + eb) { #expect(Swift.abs(a - e) <= 1e-12, "\(name): \(w) \(b)") }
    }

    @Test func printoutAndStateDict() throws {
        let w = Tensor.zeros([2, 3], requiresGrad: true), b = Tensor.zeros([2], requiresGrad: true)
        let optimizer = try AdamW(groups: [ParameterGroup([w]) { $0.weightDecay = 0.1 }, ParameterGroup([b]) { $0.weightDecay = 0; $0.lr = 0.05 }], lr: 0.01)
        #expect(optimizer.description == "AdamW (\nParameter Group 0\n    amsgrad: False\n    betas: (0.9, 0.999)\n    capturable: False\n    decoupled_weight_decay: True\n    differentiable: False\n    eps: 1e-08\n    foreach: None\n    fused: None\n    lr: 0.01\n    maximize: False\n    weight_decay: 0.1\n\nParameter Group 1\n    amsgrad: False\n    betas: (0.9, 0.999)\n    capturable: False\n    decoupled_weight_decay: True\n    differentiable: False\n    eps: 1e-08\n    foreach: None\n    fused: None\n    lr: 0.05\n    maximize: False\n    weight_decay: 0\n)")
        #expect(optimizer.paramGroups.count == 2 && optimizer.paramGroups[1].lr == 0.05 && optimizer.parameters.count == 2)
        let keys = optimizer.stateDict().keys
        #expect(keys.contains("param_groups.1.weight_decay") && keys.contains("param_groups.1.params") && keys.contains("param_groups.0.decoupled_weight_decay"))
        // Options restore per group; a state of another number of groups is PyTorch's error.
        let again = try AdamW(groups: [ParameterGroup([w]), ParameterGroup([b])])
        try again.loadStateDict(optimizer.stateDict())
        #expect(again.paramGroups[0].weightDecay == 0.1 && again.paramGroups[1].weightDecay == 0 && again.paramGroups[1].lr == 0.05)
        let single = try AdamW([w, b])
        #expect(throws: TapeGradError(.valueError, "loaded state dict has a different number of parameter groups")) {
            try single.loadStateDict(optimizer.stateDict())
        }
        // Options change through paramGroups, as `param_groups[1]["lr"] = …`.
        optimizer.paramGroups[1].lr = 0.5
        #expect(optimizer.learningRate(ofGroup: 1) == 0.5 && optimizer.lr == 0.01)
    }

    @Test func pytorchErrors() throws {
        let w = Tensor.zeros([2], requiresGrad: true)
        #expect(throws: TapeGradError(.valueError, "some parameters appear in more than one parameter group")) {
            try SGD(groups: [ParameterGroup([w]), ParameterGroup([w])], lr: 0.1)
        }
        #expect(throws: TapeGradError(.valueError, "optimizer got an empty parameter list")) { try SGD([], lr: 0.1) }
        #expect(throws: TapeGradError(.valueError, "can't optimize a non-leaf Tensor")) { try SGD([w * 2], lr: 0.1) }
        #expect(throws: TapeGradError(.valueError, "Invalid learning rate: -1")) {
            try SGD(groups: [ParameterGroup([w]) { $0.lr = -1 }], lr: 0.1)
        }
        let optimizer = try SGD([w], lr: 0.1)
        let v = Tensor.zeros([3], requiresGrad: true)
        try optimizer.addParamGroup(ParameterGroup([v]) { $0.momentum = 0.9 })
        #expect(optimizer.parameters.count == 2 && optimizer.paramGroups[1].momentum == 0.9 && optimizer.paramGroups[1].lr == 0.1)
        #expect(throws: TapeGradError(.valueError, "some parameters appear in more than one parameter group")) {
            try optimizer.addParamGroup(ParameterGroup([v]))
        }
    }

    /// `SequentialLR(LinearLR(start_factor=0.25, total_iters=3), CosineAnnealingLR(T_max=6, eta_min=0.01), milestones=[3])`
    /// over groups of rates 0.1 and 0.3.
    @Test func schedulesEachGroupFromItsBase() throws {
        let w = Tensor.zeros([2], requiresGrad: true), b = Tensor.zeros([2], requiresGrad: true)
        let optimizer = try SGD(groups: [ParameterGroup([w]), ParameterGroup([b]) { $0.lr = 0.3 }], lr: 0.1)
        let scheduler = try SequentialLR(optimizer, schedulers: [try LinearLR(optimizer, startFactor: 0.25, totalIters: 3),
                                                                 try CosineAnnealingLR(optimizer, tMax: 6, etaMin: 0.01)], milestones: [3])
        var rates = [[optimizer.learningRate(ofGroup: 0), optimizer.learningRate(ofGroup: 1)]]
        for _ in 0..<8 {
            try optimizer.step()
            scheduler.step()
            rates.append([optimizer.learningRate(ofGroup: 0), optimizer.learningRate(ofGroup: 1)])
        }
        let expected: [[Double]] = [
            [0.025, 0.075],
            [0.05, 0.15],
            [0.07500000000000001, 0.22499999999999998],
            [0.1, 0.3],
            [0.09397114317029975, 0.2805736835487436],
            [0.07750000000000001, 0.2275],
            [0.055000000000000014, 0.155],
            [0.032500000000000015, 0.08250000000000002],
            [0.01602885682970026, 0.029426316451256387]]
        for (r, e) in zip(rates.joined(), expected.joined()) { #expect(Swift.abs(r - e) <= 1e-12, "\(rates)") }
        #expect(scheduler.lastLRs == rates.last!)
    }
}
