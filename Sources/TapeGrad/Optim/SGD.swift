// Stochastic gradient descent with momentum, dampening, Nesterov momentum and weight decay
// (`torch.optim.SGD`), updating each parameter's buffer in place.

/// Stochastic gradient descent (`torch.optim.SGD`). For each parameter with gradient `g`:
/// `g += weightDecay·p`; with momentum, `buf = g` at the first step, then
/// `buf = momentum·buf + (1 − dampening)·g`, and `g = buf` (or `g + momentum·buf` with
/// Nesterov); finally `p −= lr·g` (`+=` with `maximize`).
public final class SGD: GroupedOptimizer<SGDOptions>, Optimizer {
    /// SGD's options of a parameter group.
    public typealias Options = SGDOptions
    /// Momentum buffers, made at each parameter's first step (`.null` before).
    private var buffers: [Tensor]

    /// An optimizer of `parameters` (one group); throws PyTorch's errors for invalid options.
    public convenience init(
        _ parameters: [Tensor], lr: Double = 0.001, momentum: Double = 0, dampening: Double = 0,
        weightDecay: Double = 0, nesterov: Bool = false, maximize: Bool = false
    ) throws(TapeGradError) {
        try self.init(groups: [ParameterGroup(parameters)], lr: lr, momentum: momentum, dampening: dampening,
                      weightDecay: weightDecay, nesterov: nesterov, maximize: maximize)
    }

    /// An optimizer of parameter groups, each with these options changed by its overrides.
    public init(
        groups: [ParameterGroup<SGDOptions>], lr: Double = 0.001, momentum: Double = 0, dampening: Double = 0,
        weightDecay: Double = 0, nesterov: Bool = false, maximize: Bool = false
    ) throws(TapeGradError) {
        let defaults = SGDOptions(lr: lr, momentum: momentum, dampening: dampening, weightDecay: weightDecay, nesterov: nesterov, maximize: maximize)
        let grouped = try ParameterGroups(groups, defaults: defaults)
        buffers = [Tensor](repeating: .null, count: grouped.parameters.count)
        super.init(grouped)
    }

    override func parametersAdded() { buffers += [Tensor](repeating: .null, count: parameters.count - buffers.count) }

    /// Updates every parameter that has a gradient.
    public func step() throws(TapeGradError) {
        let e = engine
        groups.forEachUpdate { i, u, o in
            var first = false
            if o.momentum != 0 && buffers[i].isNull {
                buffers[i] = u.makeState()
                first = true
            }
            u.inKernelType(buffers[i]) { u, buffer, _, _ in
                u.parameter.dtype.withFloatElement(SGDUpdate(
                    p: e.pointee.rawBase(u.parameter), g: UnsafeRawPointer(e.pointee.rawBase(u.grad)),
                    buffer: buffer.isNull ? nil : e.pointee.rawBase(buffer), count: u.count, first: first, options: o))
            }
        }
    }

    /// `state.I.momentum_buffer` (with momentum), then each group's options, as PyTorch's
    /// `state_dict()`.
    public func stateDict() -> StateDict {
        OptimizerStateIO.entries(steps: nil, states: [("momentum_buffer", buffers)], groups: groups)
    }

    /// Restores the momentum buffers and options of `stateDict`.
    public func loadStateDict(_ stateDict: StateDict) throws(TapeGradError) {
        let (states, _, options) = try OptimizerStateIO.read(stateDict, parameters: parameters, names: ["momentum_buffer"])
        try groups.load(options)
        buffers = states["momentum_buffer"]!
    }

    /// PyTorch's printout: `SGD (`, each group's options one per line, `)`.
    public var description: String { groups.describe("SGD") }
}

/// The options of an SGD parameter group (PyTorch's defaults).
public struct SGDOptions: OptimizerOptions, Sendable {
    /// The learning rate.
    public var lr = 0.001
    /// The momentum factor (0: none).
    public var momentum = 0.0
    /// How much of each new gradient the momentum buffer does not take.
    public var dampening = 0.0
    /// The L2 penalty added to the gradient.
    public var weightDecay = 0.0
    /// Whether to use Nesterov momentum.
    public var nesterov = false
    /// Whether to maximise the objective instead.
    public var maximize = false

    /// PyTorch's defaults (the property values above).
    public static var pytorchDefaults: Self { Self() }

    /// The options by PyTorch's names.
    public static var fields: [OptimizerField<Self>] {
        [.number("lr", \.lr), .number("momentum", \.momentum), .number("dampening", \.dampening),
         .number("weight_decay", \.weightDecay), .flag("nesterov", \.nesterov), .flag("maximize", \.maximize)]
    }

    /// What PyTorch also prints.
    public static var printedConstants: [(String, String)] { [("foreach", "None"), ("differentiable", "False"), ("fused", "None")] }

    /// PyTorch's checks.
    public func validate() throws(TapeGradError) {
        try OptimizerFormat.requireNonNegative(lr, "learning rate")
        try OptimizerFormat.requireNonNegative(momentum, "momentum value")
        try OptimizerFormat.requireNonNegative(weightDecay, "weight_decay value")
        if nesterov && (momentum <= 0 || dampening != 0) {
            throw TapeGradError(.valueError, "Nesterov momentum requires a momentum and zero dampening")
        }
    }
}

/// One SGD step for one parameter, in its element type: weight decay, momentum (with
/// dampening, optionally Nesterov's) and the update.
private struct SGDUpdate: FloatComputation {
    let p: UnsafeMutableRawPointer, g: UnsafeRawPointer, buffer: UnsafeMutableRawPointer?, count: Int, first: Bool
    let options: SGDOptions

    func run<T: FloatElement>(_: T.Type) {
        let p = p.assumingMemoryBound(to: T.self), g = g.assumingMemoryBound(to: T.self)
        let buffer = buffer?.assumingMemoryBound(to: T.self), n = count
        let o = options
        let lr = T(o.lr), decay = T(o.weightDecay), momentum = T(o.momentum), keep = T(1 - o.dampening)
        let sign: T = o.maximize ? -1 : 1, nesterov = o.nesterov
        if let buffer, !first, decay == 0, !nesterov, !o.maximize {
            // The common case (momentum, nothing else) without branches, so that it vectorises:
            // `buf = momentum·buf + (1 - dampening)·g; p -= lr·buf`.
            for i in 0..<n {
                let b = momentum * buffer[i] + keep * g[i]
                buffer[i] = b
                p[i] -= lr * b
            }
            return
        }
        for i in 0..<n {
            var d = sign * g[i]
            if decay != 0 { d += decay * p[i] }
            if let buffer {
                buffer[i] = first ? d : momentum * buffer[i] + keep * d
                d = nesterov ? d + momentum * buffer[i] : buffer[i]
            }
            p[i] -= lr * d
        }
    }
}
