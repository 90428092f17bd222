// RMSprop and Adagrad (`torch.optim.RMSprop`, `torch.optim.Adagrad`), updating each
// parameter's buffer and its state in place, in PyTorch's order of operations.

/// RMSprop (`torch.optim.RMSprop`): `s = α·s + (1 − α)·g²`, the step `g / (√s + eps)` (with
/// `centered`, `√(s − ḡ²)` where `ḡ` averages the gradients the same way), optionally through
/// a momentum buffer `b = μ·b + step`; weight decay adds `weightDecay·p` to the gradient.
public final class RMSprop: Optimizer {
    /// The parameters updated.
    public let parameters: [Tensor]
    /// The learning rate.
    public var lr: Double
    /// The decay of the squared-gradient average.
    public var alpha: Double
    /// Added to the denominator.
    public var eps: Double
    /// The L2 penalty added to the gradient.
    public var weightDecay: Double
    /// The momentum factor (0: none).
    public var momentum: Double
    /// Whether to normalise by the estimated variance instead of the second moment.
    public var centered: Bool
    /// Whether to maximise the objective instead.
    public var maximize: Bool
    /// Per parameter: the squared-gradient average, the gradient average, the momentum buffer.
    private var squareAverages: [Tensor], gradientAverages: [Tensor], buffers: [Tensor]
    /// Steps taken per parameter (PyTorch's `step`, kept for its state dict).
    private var steps: [Int]

    /// An optimizer of `parameters`; throws PyTorch's errors for invalid options.
    public init(
        _ parameters: [Tensor], lr: Double = 0.01, alpha: Double = 0.99, eps: Double = 1e-8, weightDecay: Double = 0,
        momentum: Double = 0, centered: Bool = false, maximize: Bool = false
    ) throws(TapeGradError) {
        try OptimizerFormat.requireNonNegative(lr, "learning rate")
        try OptimizerFormat.requireNonNegative(eps, "epsilon value")
        try OptimizerFormat.requireNonNegative(momentum, "momentum value")
        try OptimizerFormat.requireNonNegative(weightDecay, "weight_decay value")
        try OptimizerFormat.requireNonNegative(alpha, "alpha value")
        self.parameters = parameters
        self.lr = lr
        self.alpha = alpha
        self.eps = eps
        self.weightDecay = weightDecay
        self.momentum = momentum
        self.centered = centered
        self.maximize = maximize
        squareAverages = [Tensor](repeating: .null, count: parameters.count)
        gradientAverages = squareAverages
        buffers = squareAverages
        steps = [Int](repeating: 0, count: parameters.count)
    }

    /// Updates every parameter that has a gradient.
    public func step() throws(TapeGradError) {
        let e = engine
        for i in 0..<parameters.count {
            guard let u = ParameterUpdate(parameters[i]) else { continue }
            if squareAverages[i].isNull {
                squareAverages[i] = u.makeState()
                if centered { gradientAverages[i] = u.makeState() }
                if momentum > 0 { buffers[i] = u.makeState() }
            }
            // A state loaded without them, or options changed since: the missing buffers start at zero.
            if centered && gradientAverages[i].isNull { gradientAverages[i] = u.makeState() }
            if momentum > 0 && buffers[i].isNull { buffers[i] = u.makeState() }
            steps[i] += 1
            u.inKernelType(squareAverages[i], gradientAverages[i], buffers[i]) { u, s, gAvg, b in
                u.parameter.dtype.withFloatElement(RMSpropUpdate(
                    p: e.pointee.rawBase(u.parameter), g: UnsafeRawPointer(e.pointee.rawBase(u.grad)), s: e.pointee.rawBase(s),
                    gAvg: gAvg.isNull ? nil : e.pointee.rawBase(gAvg), b: b.isNull ? nil : e.pointee.rawBase(b), count: u.count,
                    lr: lr, alpha: alpha, eps: eps, weightDecay: weightDecay, momentum: momentum, maximize: maximize))
            }
            e.pointee.bumpVersion(u.parameter)
        }
    }

    /// `state.I.step`, `square_avg` (and `grad_avg`, `momentum_buffer` when used), then the
    /// options, as PyTorch's `state_dict()`.
    public func stateDict() -> StateDict {
        let n = OptimizerStateIO.number
        return OptimizerStateIO.entries(steps: steps, states: [("square_avg", squareAverages), ("grad_avg", gradientAverages), ("momentum_buffer", buffers)], options: [
            ("lr", n(lr)), ("alpha", n(alpha)), ("eps", n(eps)), ("weight_decay", n(weightDecay)), ("momentum", n(momentum)),
            ("centered", n(centered ? 1 : 0)), ("maximize", n(maximize ? 1 : 0)),
        ])
    }

    /// Restores the averages, buffers, steps and options of `stateDict`.
    public func loadStateDict(_ stateDict: StateDict) throws(TapeGradError) {
        let (states, steps, options) = try OptimizerStateIO.read(stateDict, parameters: parameters, names: ["square_avg", "grad_avg", "momentum_buffer"])
        self.steps = steps
        squareAverages = states["square_avg"]!
        gradientAverages = states["grad_avg"]!
        buffers = states["momentum_buffer"]!
        try options.update("lr", &lr)
        try options.update("alpha", &alpha)
        try options.update("eps", &eps)
        try options.update("weight_decay", &weightDecay)
        try options.update("momentum", &momentum)
        try options.update("centered", &centered)
        try options.update("maximize", &maximize)
    }

    /// PyTorch's printout.
    public var description: String {
        OptimizerFormat.describe("RMSprop", [
            ("lr", lr.messageText), ("alpha", "\(alpha)"), ("eps", "\(eps)"),
            ("weight_decay", weightDecay.messageText), ("momentum", momentum.messageText),
            ("centered", OptimizerFormat.bool(centered)), ("maximize", OptimizerFormat.bool(maximize)),
            ("capturable", "False"), ("differentiable", "False"), ("foreach", "None"),
        ])
    }
}

/// One RMSprop step for one parameter, in its element type.
private struct RMSpropUpdate: FloatComputation {
    let p: UnsafeMutableRawPointer, g: UnsafeRawPointer, s: UnsafeMutableRawPointer
    let gAvg: UnsafeMutableRawPointer?, b: UnsafeMutableRawPointer?, count: Int
    let lr: Double, alpha: Double, eps: Double, weightDecay: Double, momentum: Double, maximize: Bool

    func run<T: FloatElement>(_: T.Type) {
        let p = p.assumingMemoryBound(to: T.self), g = g.assumingMemoryBound(to: T.self), s = s.assumingMemoryBound(to: T.self)
        let gAvg = gAvg?.assumingMemoryBound(to: T.self), b = b?.assumingMemoryBound(to: T.self)
        let alpha = T(self.alpha), decay = T(weightDecay), eps = T(self.eps), lr = T(self.lr), mu = T(momentum)
        let sign: T = maximize ? -1 : 1
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
public final class Adagrad: Optimizer {
    /// The parameters updated.
    public let parameters: [Tensor]
    /// The learning rate.
    public var lr: Double
    /// The decay of the learning rate per step.
    public var lrDecay: Double
    /// The L2 penalty added to the gradient.
    public var weightDecay: Double
    /// The sums' starting value.
    public let initialAccumulatorValue: Double
    /// Added to the denominator.
    public var eps: Double
    /// Whether to maximise the objective instead.
    public var maximize: Bool
    /// Per parameter: steps taken and the sum of squared gradients (made at construction, as
    /// PyTorch's).
    private var steps: [Int], sums: [Tensor]

    /// An optimizer of `parameters`; throws PyTorch's errors for invalid options.
    public init(
        _ parameters: [Tensor], lr: Double = 0.01, lrDecay: Double = 0, weightDecay: Double = 0,
        initialAccumulatorValue: Double = 0, eps: Double = 1e-10, maximize: Bool = false
    ) throws(TapeGradError) {
        try OptimizerFormat.requireNonNegative(lr, "learning rate")
        try OptimizerFormat.requireNonNegative(lrDecay, "lr_decay value")
        try OptimizerFormat.requireNonNegative(weightDecay, "weight_decay value")
        try OptimizerFormat.requireNonNegative(initialAccumulatorValue, "initial_accumulator_value value")
        try OptimizerFormat.requireNonNegative(eps, "epsilon value")
        self.parameters = parameters
        self.lr = lr
        self.lrDecay = lrDecay
        self.weightDecay = weightDecay
        self.initialAccumulatorValue = initialAccumulatorValue
        self.eps = eps
        self.maximize = maximize
        steps = [Int](repeating: 0, count: parameters.count)
        sums = parameters.map { p in
            let state = engine.pointee.makeTensor(shape: p.info.shape, dtype: p.dtype, persistent: true, fresh: true)
            state.fillStorage(initialAccumulatorValue)
            return state
        }
    }

    /// Updates every parameter that has a gradient.
    public func step() throws(TapeGradError) {
        let e = engine
        for i in 0..<parameters.count {
            guard let u = ParameterUpdate(parameters[i]) else { continue }
            steps[i] += 1
            let clr = lr / (1 + Double(steps[i] - 1) * lrDecay)
            u.inKernelType(sums[i]) { u, sum, _, _ in
                u.parameter.dtype.withFloatElement(AdagradUpdate(
                    p: e.pointee.rawBase(u.parameter), g: UnsafeRawPointer(e.pointee.rawBase(u.grad)), sum: e.pointee.rawBase(sum),
                    count: u.count, clr: clr, eps: eps, weightDecay: weightDecay, maximize: maximize))
            }
            e.pointee.bumpVersion(u.parameter)
        }
    }

    /// `state.I.step` and `sum`, then the options, as PyTorch's `state_dict()`.
    public func stateDict() -> StateDict {
        let n = OptimizerStateIO.number
        // Every parameter has its sum from the start (PyTorch's state lists each).
        return OptimizerStateIO.entries(steps: steps, states: [("sum", sums)], options: [
            ("lr", n(lr)), ("lr_decay", n(lrDecay)), ("weight_decay", n(weightDecay)),
            ("initial_accumulator_value", n(initialAccumulatorValue)), ("eps", n(eps)), ("maximize", n(maximize ? 1 : 0)),
        ], everyParameter: true)
    }

    /// Restores the sums, steps and options of `stateDict`.
    public func loadStateDict(_ stateDict: StateDict) throws(TapeGradError) {
        let (states, steps, options) = try OptimizerStateIO.read(stateDict, parameters: parameters, names: ["sum"])
        self.steps = steps
        for i in 0..<parameters.count where !states["sum"]![i].isNull { sums[i] = states["sum"]![i] }
        try options.update("lr", &lr)
        try options.update("lr_decay", &lrDecay)
        try options.update("weight_decay", &weightDecay)
        try options.update("eps", &eps)
        try options.update("maximize", &maximize)
    }

    /// PyTorch's printout.
    public var description: String {
        OptimizerFormat.describe("Adagrad", [
            ("lr", lr.messageText), ("lr_decay", lrDecay.messageText), ("eps", "\(eps)"),
            ("weight_decay", weightDecay.messageText),
            ("initial_accumulator_value", initialAccumulatorValue.messageText),
            ("maximize", OptimizerFormat.bool(maximize)), ("differentiable", "False"), ("foreach", "None"), ("fused", "None"),
        ])
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
