// RMSprop and Adagrad (`torch.optim.RMSprop`, `torch.optim.Adagrad`), updating each
// parameter's buffer and its state in place, in PyTorch's order of operations.

/// RMSprop (`torch.optim.RMSprop`): `s = α·s + (1 − α)·g²`, the step `g / (√s + eps)` (with
/// `centered`, `√(s − ḡ²)` where `ḡ` averages the gradients the same way), optionally through
/// a momentum buffer `b = μ·b + step`; weight decay adds `weightDecay·p` to the gradient.
public final class RMSprop: GroupedOptimizer<RMSpropOptions>, Optimizer {
    /// RMSprop's options of a parameter group.
    public typealias Options = RMSpropOptions
    /// Per parameter: the squared-gradient average, the gradient average, the momentum buffer.
    private var squareAverages: [Tensor], gradientAverages: [Tensor], buffers: [Tensor]
    /// Steps taken per parameter (PyTorch's `step`, kept for its state dict).
    private var steps: [Int]

    /// An optimizer of `parameters` (one group); throws PyTorch's errors for invalid options.
    public convenience init(
        _ parameters: [Tensor], lr: Double = 0.01, alpha: Double = 0.99, eps: Double = 1e-8, weightDecay: Double = 0,
        momentum: Double = 0, centered: Bool = false, maximize: Bool = false
    ) throws(TapeGradError) {
        try self.init(groups: [ParameterGroup(parameters)], lr: lr, alpha: alpha, eps: eps, weightDecay: weightDecay,
                      momentum: momentum, centered: centered, maximize: maximize)
    }

    /// An optimizer of parameter groups, each with these options changed by its overrides.
    public init(
        groups: [ParameterGroup<RMSpropOptions>], lr: Double = 0.01, alpha: Double = 0.99, eps: Double = 1e-8, weightDecay: Double = 0,
        momentum: Double = 0, centered: Bool = false, maximize: Bool = false
    ) throws(TapeGradError) {
        let defaults = RMSpropOptions(lr: lr, alpha: alpha, eps: eps, weightDecay: weightDecay, momentum: momentum,
                                      centered: centered, maximize: maximize)
        let grouped = try ParameterGroups(groups, defaults: defaults)
        squareAverages = [Tensor](repeating: .null, count: grouped.parameters.count)
        gradientAverages = squareAverages
        buffers = squareAverages
        steps = [Int](repeating: 0, count: grouped.parameters.count)
        super.init(grouped)
    }

    override func parametersAdded() {
        let added = parameters.count - steps.count
        steps += [Int](repeating: 0, count: added)
        squareAverages += [Tensor](repeating: .null, count: added)
        gradientAverages += [Tensor](repeating: .null, count: added)
        buffers += [Tensor](repeating: .null, count: added)
    }

    /// Updates every parameter that has a gradient.
    public func step() throws(TapeGradError) {
        let e = engine
        groups.forEachUpdate { i, u, o in
            if squareAverages[i].isNull { squareAverages[i] = u.makeState() }
            // At the first step, or for a state loaded without them or options changed since:
            // the buffers the options need start at zero.
            if o.centered && gradientAverages[i].isNull { gradientAverages[i] = u.makeState() }
            if o.momentum > 0 && buffers[i].isNull { buffers[i] = u.makeState() }
            steps[i] += 1
            u.inKernelType(squareAverages[i], o.centered ? gradientAverages[i] : .null, o.momentum > 0 ? buffers[i] : .null) { u, s, gAvg, b in
                u.parameter.dtype.withFloatElement(RMSpropUpdate(
                    p: e.pointee.rawBase(u.parameter), g: UnsafeRawPointer(e.pointee.rawBase(u.grad)), s: e.pointee.rawBase(s),
                    gAvg: gAvg.isNull ? nil : e.pointee.rawBase(gAvg), b: b.isNull ? nil : e.pointee.rawBase(b), count: u.count, options: o))
            }
        }
    }

    /// `state.I.step`, `square_avg` (and `grad_avg`, `momentum_buffer` when used), then each
    /// group's options, as PyTorch's `state_dict()`.
    public func stateDict() -> StateDict {
        OptimizerStateIO.entries(steps: steps, states: [("square_avg", squareAverages), ("grad_avg", gradientAverages), ("momentum_buffer", buffers)],
                                 groups: groups)
    }

    /// Restores the averages, buffers, steps and options of `stateDict`.
    public func loadStateDict(_ stateDict: StateDict) throws(TapeGradError) {
        let (states, steps, options) = try OptimizerStateIO.read(stateDict, parameters: parameters, names: ["square_avg", "grad_avg", "momentum_buffer"])
        try groups.load(options)
        self.steps = steps
        squareAverages = states["square_avg"]!
        gradientAverages = states["grad_avg"]!
        buffers = states["momentum_buffer"]!
    }

    /// PyTorch's printout.
    public var description: String { groups.describe("RMSprop") }
}

/// The options of an RMSprop parameter group (PyTorch's defaults).
public struct RMSpropOptions: OptimizerOptions, Sendable {
    /// The learning rate.
    public var lr = 0.01
    /// The decay of the squared-gradient average.
    public var alpha = 0.99
    /// Added to the denominator.
    public var eps = 1e-8
    /// The L2 penalty added to the gradient.
    public var weightDecay = 0.0
    /// The momentum factor (0: none).
    public var momentum = 0.0
    /// Whether to normalise by the estimated variance instead of the second moment.
    public var centered = false
    /// Whether to maximise the objective instead.
    public var maximize = false

    /// PyTorch's defaults (the property values above).
    public static var pytorchDefaults: Self { Self() }

    /// The options by PyTorch's names.
    public static var fields: [OptimizerField<Self>] {
        [.number("lr", \.lr), .number("alpha", \.alpha), .number("eps", \.eps), .number("weight_decay", \.weightDecay),
         .number("momentum", \.momentum), .flag("centered", \.centered), .flag("maximize", \.maximize)]
    }

    /// What PyTorch also prints.
    public static var printedConstants: [(String, String)] { [("capturable", "False"), ("differentiable", "False"), ("foreach", "None")] }

    /// PyTorch's checks.
    public func validate() throws(TapeGradError) {
        try OptimizerFormat.requireNonNegative(lr, "learning rate")
        try OptimizerFormat.requireNonNegative(eps, "epsilon value")
        try OptimizerFormat.requireNonNegative(momentum, "momentum value")
        try OptimizerFormat.requireNonNegative(weightDecay, "weight_decay value")
        try OptimizerFormat.requireNonNegative(alpha, "alpha value")
    }
}

/// One RMSprop step for one parameter, in its element type.
private struct RMSpropUpdate: FloatComputation {
    let p: UnsafeMutableRawPointer, g: UnsafeRawPointer, s: UnsafeMutableRawPointer
    let gAvg: UnsafeMutableRawPointer?, b: UnsafeMutableRawPointer?, count: Int
    let options: RMSpropOptions

    func run<T: FloatElement>(_: T.Type) {
        let p = p.assumingMemoryBound(to: T.self), g = g.assumingMemoryBound(to: T.self), s = s.assumingMemoryBound(to: T.self)
        let gAvg = gAvg?.assumingMemoryBound(to: T.self), b = b?.assumingMemoryBound(to: T.self)
        let o = options
        let alpha = T(o.alpha), decay = T(o.weightDecay), eps = T(o.eps), lr = T(o.lr), mu = T(o.momentum)
        let sign: T = o.maximize ? -1 : 1
        for i in 0..<count {
            var d = sign * g[i]
            if decay != 0 { d += decay * p[i] }
            s[i] = s[i] * alpha + (1 - alpha) * d * d
            var average: T
            if let gAvg {
                gAvg[i] += (d - gAvg[i]) * (1 - alpha)
                average = (s[i] - gAvg[i] * gAvg[i]).squareRoot()
            } else {
                average = s[i].squareRoot()
            }
            average += eps
            if let b {
                b[i] = b[i] * mu + d / average
                p[i] -= lr * b[i]
            } else {
                p[i] -= lr * (d / average)
            }
        }
    }
}

/// Adagrad (`torch.optim.Adagrad`): the squared gradients add up in `sum` (starting at
/// `initialAccumulatorValue`), and `p −= clr · g / (√sum + eps)` with
/// `clr = lr / (1 + (t − 1)·lrDecay)`; weight decay adds `weightDecay·p` to the gradient.
public final class Adagrad: GroupedOptimizer<AdagradOptions>, Optimizer {
    /// Adagrad's options of a parameter group.
    public typealias Options = AdagradOptions
    /// Per parameter: steps taken and the sum of squared gradients (made with the parameter's
    /// group, as PyTorch's).
    private var steps: [Int] = [], sums: [Tensor] = []

    /// An optimizer of `parameters` (one group); throws PyTorch's errors for invalid options.
    public convenience init(
        _ parameters: [Tensor], lr: Double = 0.01, lrDecay: Double = 0, weightDecay: Double = 0,
        initialAccumulatorValue: Double = 0, eps: Double = 1e-10, maximize: Bool = false
    ) throws(TapeGradError) {
        try self.init(groups: [ParameterGroup(parameters)], lr: lr, lrDecay: lrDecay, weightDecay: weightDecay,
                      initialAccumulatorValue: initialAccumulatorValue, eps: eps, maximize: maximize)
    }

    /// An optimizer of parameter groups, each with these options changed by its overrides.
    public init(
        groups: [ParameterGroup<AdagradOptions>], lr: Double = 0.01, lrDecay: Double = 0, weightDecay: Double = 0,
        initialAccumulatorValue: Double = 0, eps: Double = 1e-10, maximize: Bool = false
    ) throws(TapeGradError) {
        let defaults = AdagradOptions(lr: lr, lrDecay: lrDecay, weightDecay: weightDecay,
                                      initialAccumulatorValue: initialAccumulatorValue, eps: eps, maximize: maximize)
        super.init(try ParameterGroups(groups, defaults: defaults))
        makeSums(from: initialAccumulatorValue)
    }

    // As PyTorch's: the sums made with the optimizer start at its `initialAccumulatorValue`
    // (whatever a group says), those of a group added later at zero.
    override func parametersAdded() { makeSums(from: 0) }

    private func makeSums(from value: Double) {
        let parameters = groups.parameters
        for i in steps.count..<parameters.count {
            let state = engine.pointee.makeTensor(shape: parameters[i].info.shape, dtype: parameters[i].dtype, persistent: true, fresh: true)
            state.fillStorage(value)
            steps.append(0)
            sums.append(state)
        }
    }

    /// Updates every parameter that has a gradient.
    public func step() throws(TapeGradError) {
        let e = engine
        groups.forEachUpdate { i, u, o in
            steps[i] += 1
            let clr = o.lr / (1 + Double(steps[i] - 1) * o.lrDecay)
            u.inKernelType(sums[i]) { u, sum, _, _ in
                u.parameter.dtype.withFloatElement(AdagradUpdate(
                    p: e.pointee.rawBase(u.parameter), g: UnsafeRawPointer(e.pointee.rawBase(u.grad)), sum: e.pointee.rawBase(sum),
                    count: u.count, clr: clr, eps: o.eps, weightDecay: o.weightDecay, maximize: o.maximize))
            }
        }
    }

    /// `state.I.step` and `sum`, then each group's options, as PyTorch's `state_dict()`.
    public func stateDict() -> StateDict {
        // Every parameter has its sum from the start (PyTorch's state lists each).
        OptimizerStateIO.entries(steps: steps, states: [("sum", sums)], groups: groups, everyParameter: true)
    }

    /// Restores the sums, steps and options of `stateDict`.
    public func loadStateDict(_ stateDict: StateDict) throws(TapeGradError) {
        let (states, steps, options) = try OptimizerStateIO.read(stateDict, parameters: parameters, names: ["sum"])
        try groups.load(options)
        self.steps = steps
        for i in 0..<parameters.count where !states["sum"]![i].isNull { sums[i] = states["sum"]![i] }
    }

    /// PyTorch's printout.
    public var description: String { groups.describe("Adagrad") }
}

/// The options of an Adagrad parameter group (PyTorch's defaults).
public struct AdagradOptions: OptimizerOptions, Sendable {
    /// The learning rate.
    public var lr = 0.01
    /// The decay of the learning rate per step.
    public var lrDecay = 0.0
    /// The L2 penalty added to the gradient.
    public var weightDecay = 0.0
    /// The sums' starting value: the optimizer's is read when it is made (PyTorch's rule).
    public var initialAccumulatorValue = 0.0
    /// Added to the denominator.
    public var eps = 1e-10
    /// Whether to maximise the objective instead.
    public var maximize = false

    /// PyTorch's defaults (the property values above).
    public static var pytorchDefaults: Self { Self() }

    /// The options by PyTorch's names.
    public static var fields: [OptimizerField<Self>] {
        [.number("lr", \.lr), .number("lr_decay", \.lrDecay), .number("weight_decay", \.weightDecay),
         .number("initial_accumulator_value", \.initialAccumulatorValue), .number("eps", \.eps), .flag("maximize", \.maximize)]
    }

    /// What PyTorch also prints.
    public static var printedConstants: [(String, String)] { [("differentiable", "False"), ("foreach", "None"), ("fused", "None")] }

    /// PyTorch's checks.
    public func validate() throws(TapeGradError) {
        try OptimizerFormat.requireNonNegative(lr, "learning rate")
        try OptimizerFormat.requireNonNegative(lrDecay, "lr_decay value")
        try OptimizerFormat.requireNonNegative(weightDecay, "weight_decay value")
        try OptimizerFormat.requireNonNegative(initialAccumulatorValue, "initial_accumulator_value value")
        try OptimizerFormat.requireNonNegative(eps, "epsilon value")
    }
}

/// One Adagrad step for one parameter, in its element type.
private struct AdagradUpdate: FloatComputation {
    let p: UnsafeMutableRawPointer, g: UnsafeRawPointer, sum: UnsafeMutableRawPointer, count: Int
    let clr: Double, eps: Double, weightDecay: Double, maximize: Bool

    func run<T: FloatElement>(_: T.Type) {
        let p = p.assumingMemoryBound(to: T.self), g = g.assumingMemoryBound(to: T.self), sum = sum.assumingMemoryBound(to: T.self)
        let decay = T(weightDecay), eps = T(self.eps), clr = T(self.clr)
        let sign: T = maximize ? -1 : 1
        for i in 0..<count {
            var d = sign * g[i]
            if decay != 0 { d += decay * p[i] }
            sum[i] += d * d
            p[i] -= clr * (d / (sum[i].squareRoot() + eps))
        }
    }
}
