// Stochastic gradient descent with momentum, dampening, Nesterov momentum and weight decay
// (`torch.optim.SGD`), updating each parameter's buffer in place.

/// Stochastic gradient descent (`torch.optim.SGD`). For each parameter with gradient `g`:
/// `g += weightDecay·p`; with momentum, `buf = g` at the first step, then
/// `buf = momentum·buf + (1 − dampening)·g`, and `g = buf` (or `g + momentum·buf` with
/// Nesterov); finally `p −= lr·g` (`+=` with `maximize`).
public final class SGD: Optimizer {
    /// The parameters updated.
    public let parameters: [Tensor]
    /// The learning rate.
    public var lr: Double
    /// The momentum factor (0: none).
    public var momentum: Double
    /// How much of each new gradient the momentum buffer takes (`1 − dampening`).
    public var dampening: Double
    /// Whether to use Nesterov momentum.
    public var nesterov: Bool
    /// The L2 penalty added to the gradient.
    public var weightDecay: Double
    /// Whether to maximise the objective instead.
    public var maximize: Bool
    /// Momentum buffers, made at each parameter's first step (`.null` before).
    private var buffers: [Tensor]

    /// An optimizer of `parameters`; throws PyTorch's errors for invalid options.
    public init(
        _ parameters: [Tensor], lr: Double = 0.001, momentum: Double = 0, dampening: Double = 0,
        weightDecay: Double = 0, nesterov: Bool = false, maximize: Bool = false
    ) throws(TapeGradError) {
        try OptimizerFormat.requireNonNegative(lr, "learning rate")
        try OptimizerFormat.requireNonNegative(momentum, "momentum value")
        try OptimizerFormat.requireNonNegative(weightDecay, "weight_decay value")
        if nesterov && (momentum <= 0 || dampening != 0) {
            throw TapeGradError(.valueError, "Nesterov momentum requires a momentum and zero dampening")
        }
        self.parameters = parameters
        self.lr = lr
        self.momentum = momentum
        self.dampening = dampening
        self.nesterov = nesterov
        self.weightDecay = weightDecay
        self.maximize = maximize
        buffers = [Tensor](repeating: .null, count: parameters.count)
    }

    /// Updates every parameter that has a gradient.
    public func step() throws(TapeGradError) {
        let e = engine
        for i in 0..<parameters.count {
            guard let u = ParameterUpdate(parameters[i]) else { continue }
            var first = false
            if momentum != 0 && buffers[i].isNull {
                buffers[i] = u.makeState()
                first = true
            }
            u.inKernelType(buffers[i]) { u, buffer, _, _ in
                u.parameter.dtype.withFloatElement(SGDUpdate(
                    p: e.pointee.rawBase(u.parameter), g: UnsafeRawPointer(e.pointee.rawBase(u.grad)),
                    buffer: buffer.isNull ? nil : e.pointee.rawBase(buffer), count: u.count, first: first,
                    lr: lr, weightDecay: weightDecay, momentum: momentum, dampening: dampening, nesterov: nesterov, maximize: maximize))
            }
            e.pointee.bumpVersion(u.parameter)
        }
    }

    /// `state.I.momentum_buffer` (with momentum), then the options, as PyTorch's `state_dict()`.
    public func stateDict() -> StateDict {
        let n = OptimizerStateIO.number
        return OptimizerStateIO.entries(steps: nil, states: [("momentum_buffer", buffers)], options: [
            ("lr", n(lr)), ("momentum", n(momentum)), ("dampening", n(dampening)), ("weight_decay", n(weightDecay)),
            ("nesterov", n(nesterov ? 1 : 0)), ("maximize", n(maximize ? 1 : 0)),
        ])
    }

    /// Restores the momentum buffers and options of `stateDict`.
    public func loadStateDict(_ stateDict: StateDict) throws(TapeGradError) {
        let (states, _, options) = try OptimizerStateIO.read(stateDict, parameters: parameters, names: ["momentum_buffer"])
        buffers = states["momentum_buffer"]!
        try options.update("lr", &lr)
        try options.update("momentum", &momentum)
        try options.update("dampening", &dampening)
        try options.update("weight_decay", &weightDecay)
        try options.update("nesterov", &nesterov)
        try options.update("maximize", &maximize)
    }

    /// PyTorch's printout: `SGD (`, `Parameter Group 0`, each option on its own line, `)`.
    public var description: String {
        OptimizerFormat.describe("SGD", [
            ("lr", lr.messageText), ("momentum", momentum.messageText),
            ("dampening", dampening.messageText), ("weight_decay", weightDecay.messageText),
            ("nesterov", OptimizerFormat.bool(nesterov)), ("maximize", OptimizerFormat.bool(maximize)),
            ("foreach", "None"), ("differentiable", "False"), ("fused", "None"),
        ])
    }
}

/// One SGD step for one parameter, in its element type: weight decay, momentum (with
/// dampening, optionally Nesterov's) and the update.
private struct SGDUpdate: FloatComputation {
    let p: UnsafeMutableRawPointer, g: UnsafeRawPointer, buffer: UnsafeMutableRawPointer?, count: Int, first: Bool
    let lr: Double, weightDecay: Double, momentum: Double, dampening: Double, nesterov: Bool, maximize: Bool

    func run<T: FloatElement>(_: T.Type) {
        let p = p.assumingMemoryBound(to: T.self), g = g.assumingMemoryBound(to: T.self)
        let buffer = buffer?.assumingMemoryBound(to: T.self), n = count
        let lr = T(self.lr), decay = T(weightDecay), momentum = T(self.momentum), keep = T(1 - dampening)
        let sign: T = maximize ? -1 : 1, nesterov = self.nesterov
        if let buffer, !first, decay == 0, !nesterov, !maximize {
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
