import RealModule

// Adam and AdamW (`torch.optim.Adam`, `torch.optim.AdamW`), updating each parameter's buffer
// and its moment estimates in place.

/// Adam (`torch.optim.Adam`): moment estimates `m = β₁m + (1 − β₁)g`, `v = β₂v + (1 − β₂)g²`,
/// and `p −= lr/(1 − β₁ᵗ) · m / (√v/√(1 − β₂ᵗ) + eps)`. Weight decay adds `weightDecay·p` to
/// the gradient, or with `decoupledWeightDecay` (AdamW) scales `p` by `1 − lr·weightDecay`.
/// `amsgrad` uses the largest `v` seen so far.
public class Adam: Optimizer {
    /// The parameters updated.
    public let parameters: [Tensor]
    /// The learning rate.
    public var lr: Double
    /// The decay rates of the first and second moment estimates.
    public var betas: (Double, Double)
    /// Added to the denominator.
    public var eps: Double
    /// The weight decay factor.
    public var weightDecay: Double
    /// Whether to use the maximum of past second moments (AMSGrad).
    public var amsgrad: Bool
    /// Whether to maximise the objective instead.
    public var maximize: Bool
    /// Whether weight decay scales the parameters (AdamW) instead of adding to the gradient.
    public var decoupledWeightDecay: Bool
    /// Per parameter: steps taken, first and second moments, and the largest second moments.
    private var steps: [Int]
    private var firstMoments: [Tensor]
    private var secondMoments: [Tensor]
    private var maxSecondMoments: [Tensor]

    /// An optimizer of `parameters`; throws PyTorch's errors for invalid options.
    public init(
        _ parameters: [Tensor], lr: Double = 0.001, betas: (Double, Double) = (0.9, 0.999), eps: Double = 1e-8,
        weightDecay: Double = 0, amsgrad: Bool = false, maximize: Bool = false, decoupledWeightDecay: Bool = false
    ) throws(TapeGradError) {
        try OptimizerFormat.requireNonNegative(lr, "learning rate")
        try OptimizerFormat.requireNonNegative(eps, "epsilon value")
        guard betas.0 >= 0 && betas.0 < 1 else { throw TapeGradError(.valueError, "Invalid beta parameter at index 0: \(betas.0)") }
        guard betas.1 >= 0 && betas.1 < 1 else { throw TapeGradError(.valueError, "Invalid beta parameter at index 1: \(betas.1)") }
        try OptimizerFormat.requireNonNegative(weightDecay, "weight_decay value")
        self.parameters = parameters
        self.lr = lr
        self.betas = betas
        self.eps = eps
        self.weightDecay = weightDecay
        self.amsgrad = amsgrad
        self.maximize = maximize
        self.decoupledWeightDecay = decoupledWeightDecay
        steps = [Int](repeating: 0, count: parameters.count)
        firstMoments = [Tensor](repeating: .null, count: parameters.count)
        secondMoments = firstMoments
        maxSecondMoments = firstMoments
    }

    /// Updates every parameter that has a gradient.
    public func step() throws(TapeGradError) {
        let e = engine
        for i in 0..<parameters.count {
            guard let u = ParameterUpdate(parameters[i]) else { continue }
            if firstMoments[i].isNull {
                firstMoments[i] = u.makeState()
                secondMoments[i] = u.makeState()
                if amsgrad { maxSecondMoments[i] = u.makeState() }
            }
            // AMSGrad turned on after the first step (or a loaded state without maxima).
            if amsgrad && maxSecondMoments[i].isNull { maxSecondMoments[i] = u.makeState() }
            steps[i] += 1
            let step = steps[i]
            u.inKernelType(firstMoments[i], secondMoments[i], maxSecondMoments[i]) { u, m, v, vMax in
                u.parameter.dtype.withFloatElement(AdamUpdate(
                    p: e.pointee.rawBase(u.parameter), g: UnsafeRawPointer(e.pointee.rawBase(u.grad)), m: e.pointee.rawBase(m),
                    v: e.pointee.rawBase(v), vMax: vMax.isNull ? nil : e.pointee.rawBase(vMax), count: u.count, step: step,
                    lr: lr, betas: betas, eps: eps, weightDecay: weightDecay, maximize: maximize, decoupled: decoupledWeightDecay))
            }
            e.pointee.bumpVersion(u.parameter)
        }
    }

    /// `state.I.step`, `exp_avg`, `exp_avg_sq` (and `max_exp_avg_sq` with AMSGrad), then the
    /// options, as PyTorch's `state_dict()`.
    public func stateDict() -> StateDict {
        var states: [(name: String, tensors: [Tensor])] = [("exp_avg", firstMoments), ("exp_avg_sq", secondMoments)]
        if amsgrad { states.append(("max_exp_avg_sq", maxSecondMoments)) }
        let n = OptimizerStateIO.number
        let pair = engine.pointee.makeTensor(shape: Dims(CollectionOfOne(2)), dtype: .float64)
        engine.pointee.base(pair, as: Double.self)[0] = betas.0
        engine.pointee.base(pair, as: Double.self)[1] = betas.1
        return OptimizerStateIO.entries(steps: steps, states: states, options: [
            ("lr", n(lr)), ("betas", pair), ("eps", n(eps)), ("weight_decay", n(weightDecay)),
            ("amsgrad", n(amsgrad ? 1 : 0)), ("maximize", n(maximize ? 1 : 0)),
        ])
    }

    /// Restores the moments, steps and options of `stateDict`.
    public func loadStateDict(_ stateDict: StateDict) throws(TapeGradError) {
        let (states, steps, options) = try OptimizerStateIO.read(stateDict, parameters: parameters, names: ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"])
        self.steps = steps
        firstMoments = states["exp_avg"]!
        secondMoments = states["exp_avg_sq"]!
        maxSecondMoments = states["max_exp_avg_sq"]!
        try options.update("lr", &lr)
        if let pair = options["betas"], pair.count == 2 { betas = (pair.scalars()[0], pair.scalars()[1]) }
        try options.update("eps", &eps)
        try options.update("weight_decay", &weightDecay)
        try options.update("amsgrad", &amsgrad)
        try options.update("maximize", &maximize)
    }

    /// The name PyTorch prints.
    var name: String { "Adam" }

    /// PyTorch's printout: `Adam (`, `Parameter Group 0`, each option on its own line, `)`.
    public var description: String {
        OptimizerFormat.describe(name, [
            ("lr", lr.messageText), ("betas", "(\(betas.0), \(betas.1))"), ("eps", "\(eps)"),
            ("weight_decay", weightDecay.messageText), ("amsgrad", OptimizerFormat.bool(amsgrad)),
            ("maximize", OptimizerFormat.bool(maximize)), ("foreach", "None"), ("capturable", "False"),
            ("differentiable", "False"), ("fused", "None"),
            ("decoupled_weight_decay", OptimizerFormat.bool(decoupledWeightDecay)),
        ])
    }
}

/// AdamW (`torch.optim.AdamW`): Adam with decoupled weight decay (default 0.01): each step
/// scales the parameters by `1 − lr·weightDecay` before the Adam update.
public final class AdamW: Adam {
    /// An optimizer of `parameters`; throws PyTorch's errors for invalid options.
    public init(
        _ parameters: [Tensor], lr: Double = 0.001, betas: (Double, Double) = (0.9, 0.999), eps: Double = 1e-8,
        weightDecay: Double = 0.01, amsgrad: Bool = false, maximize: Bool = false
    ) throws(TapeGradError) {
        try super.init(parameters, lr: lr, betas: betas, eps: eps, weightDecay: weightDecay, amsgrad: amsgrad,
                       maximize: maximize, decoupledWeightDecay: true)
    }

    override var name: String { "AdamW" }
}

/// One Adam step for one parameter, in its element type: the moments, the optional maximum of
/// the second moments (AMSGrad), the bias corrections and the update.
private struct AdamUpdate: FloatComputation {
    let p: UnsafeMutableRawPointer, g: UnsafeRawPointer, m: UnsafeMutableRawPointer, v: UnsafeMutableRawPointer
    let vMax: UnsafeMutableRawPointer?, count: Int, step: Int
    let lr: Double, betas: (Double, Double), eps: Double, weightDecay: Double, maximize: Bool, decoupled: Bool

    func run<T: FloatElement>(_: T.Type) {
        let p = p.assumingMemoryBound(to: T.self), g = g.assumingMemoryBound(to: T.self)
        let m = m.assumingMemoryBound(to: T.self), v = v.assumingMemoryBound(to: T.self)
        let vMax = vMax?.assumingMemoryBound(to: T.self)
        let beta1 = T(betas.0), beta2 = T(betas.1), eps = T(self.eps), decay = T(weightDecay)
        let correction1 = 1 - Double.pow(betas.0, step)
        let correction2Root = T((1 - Double.pow(betas.1, step)).squareRoot())
        let stepSize = T(lr / correction1)
        let shrink = T(1 - lr * weightDecay)
        let sign: T = maximize ? -1 : 1
        let decoupled = self.decoupled
        if vMax == nil && (decay == 0 || decoupled) {
            // The usual case in one branch-free loop that vectorises (scaling by 1 without
            // weight decay changes no bit).
            let scale = decoupled && decay != 0 ? shrink : 1
            AdamUpdate.lanes(p, g, m, v, count: count, sign: sign, scale: scale, beta1: beta1, beta2: beta2,
                             stepSize: stepSize, correction2Root: correction2Root, eps: eps)
            return
        }
        for i in 0..<count {
            var d = sign * g[i]
            if decay != 0 {
                if decoupled { p[i] *= shrink } else { d += decay * p[i] }
            }
            m[i] += (d - m[i]) * (1 - beta1)
            v[i] = beta2 * v[i] + (1 - beta2) * d * d
            var second = v[i]
            if let vMax {
                if second > vMax[i] { vMax[i] = second }
                second = vMax[i]
            }
            p[i] -= stepSize * m[i] / (second.squareRoot() / correction2Root + eps)
        }
    }
}

extension AdamUpdate {
    /// The usual case, sixteen lanes at a time (the same IEEE operations in the same order as
    /// the scalar loop, so the same bits), the rest one by one.
    static func lanes<T: FloatElement>(
        _ p: UnsafeMutablePointer<T>, _ g: UnsafePointer<T>, _ m: UnsafeMutablePointer<T>, _ v: UnsafeMutablePointer<T>, count: Int,
        sign: T, scale: T, beta1: T, beta2: T, stepSize: T, correction2Root: T, eps: T
    ) {
        typealias Lanes = SIMD16<T>
        let width = Lanes.scalarCount
        let full = count / width
        let (rp, rg, rm, rv) = (UnsafeMutableRawPointer(p), UnsafeRawPointer(g), UnsafeMutableRawPointer(m), UnsafeMutableRawPointer(v))
        for k in 0..<full {
            let offset = k * MemoryLayout<Lanes>.stride
            let d = sign * rg.loadUnaligned(fromByteOffset: offset, as: Lanes.self)
            var pk = rp.loadUnaligned(fromByteOffset: offset, as: Lanes.self) * scale
            var mk = rm.loadUnaligned(fromByteOffset: offset, as: Lanes.self)
            var vk = rv.loadUnaligned(fromByteOffset: offset, as: Lanes.self)
            mk += (d - mk) * (1 - beta1)
            vk = beta2 * vk + (1 - beta2) * d * d
            pk -= stepSize * mk / (vk.squareRoot() / correction2Root + eps)
            rp.storeBytes(of: pk, toByteOffset: offset, as: Lanes.self)
            rm.storeBytes(of: mk, toByteOffset: offset, as: Lanes.self)
            rv.storeBytes(of: vk, toByteOffset: offset, as: Lanes.self)
        }
        for i in (full * width)..<count {
            let d = sign * g[i]
            p[i] *= scale
            m[i] += (d - m[i]) * (1 - beta1)
            v[i] = beta2 * v[i] + (1 - beta2) * d * d
            p[i] -= stepSize * m[i] / (v[i].squareRoot() / correction2Root + eps)
        }
    }
}
