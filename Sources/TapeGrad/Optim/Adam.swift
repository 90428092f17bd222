import RealModule

// Adam and AdamW (`torch.optim.Adam`, `torch.optim.AdamW`), updating each parameter's buffer
// and its moment estimates in place.

/// Adam (`torch.optim.Adam`): moment estimates `m = β₁m + (1 − β₁)g`, `v = β₂v + (1 − β₂)g²`,
/// and `p −= lr/(1 − β₁ᵗ) · m / (√v/√(1 − β₂ᵗ) + eps)`. Weight decay adds `weightDecay·p` to
/// the gradient, or with `decoupledWeightDecay` (AdamW) scales `p` by `1 − lr·weightDecay`.
/// `amsgrad` uses the largest `v` seen so far.
public class Adam: GroupedOptimizer<AdamOptions>, Optimizer {
    /// Adam's options of a parameter group.
    public typealias Options = AdamOptions
    /// Per parameter: steps taken, first and second moments, and the largest second moments.
    private var steps: [Int]
    private var firstMoments: [Tensor]
    private var secondMoments: [Tensor]
    private var maxSecondMoments: [Tensor]

    /// An optimizer of `parameters` (one group); throws PyTorch's errors for invalid options.
    public convenience init(
        _ parameters: [Tensor], lr: Double = 0.001, betas: (Double, Double) = (0.9, 0.999), eps: Double = 1e-8,
        weightDecay: Double = 0, amsgrad: Bool = false, maximize: Bool = false, decoupledWeightDecay: Bool = false
    ) throws(TapeGradError) {
        try self.init(groups: [ParameterGroup(parameters)], lr: lr, betas: betas, eps: eps, weightDecay: weightDecay,
                      amsgrad: amsgrad, maximize: maximize, decoupledWeightDecay: decoupledWeightDecay)
    }

    /// An optimizer of parameter groups, each with these options changed by its overrides.
    public init(
        groups: [ParameterGroup<AdamOptions>], lr: Double = 0.001, betas: (Double, Double) = (0.9, 0.999), eps: Double = 1e-8,
        weightDecay: Double = 0, amsgrad: Bool = false, maximize: Bool = false, decoupledWeightDecay: Bool = false
    ) throws(TapeGradError) {
        let defaults = AdamOptions(lr: lr, betas: betas, eps: eps, weightDecay: weightDecay, amsgrad: amsgrad,
                                   maximize: maximize, decoupledWeightDecay: decoupledWeightDecay)
        let grouped = try ParameterGroups(groups, defaults: defaults)
        steps = [Int](repeating: 0, count: grouped.parameters.count)
        firstMoments = [Tensor](repeating: .null, count: grouped.parameters.count)
        secondMoments = firstMoments
        maxSecondMoments = firstMoments
        super.init(grouped)
    }

    override func parametersAdded() {
        let added = parameters.count - steps.count
        steps += [Int](repeating: 0, count: added)
        firstMoments += [Tensor](repeating: .null, count: added)
        secondMoments += [Tensor](repeating: .null, count: added)
        maxSecondMoments += [Tensor](repeating: .null, count: added)
    }

    /// Updates every parameter that has a gradient.
    public func step() throws(TapeGradError) {
        let e = engine
        groups.forEachUpdate { i, u, o in
            if firstMoments[i].isNull {
                firstMoments[i] = u.makeState()
                secondMoments[i] = u.makeState()
                if o.amsgrad { maxSecondMoments[i] = u.makeState() }
            }
            // AMSGrad turned on after the first step (or a loaded state without maxima).
            if o.amsgrad && maxSecondMoments[i].isNull { maxSecondMoments[i] = u.makeState() }
            steps[i] += 1
            let step = steps[i]
            u.inKernelType(firstMoments[i], secondMoments[i], o.amsgrad ? maxSecondMoments[i] : .null) { u, m, v, vMax in
                u.parameter.dtype.withFloatElement(AdamUpdate(
                    p: e.pointee.rawBase(u.parameter), g: UnsafeRawPointer(e.pointee.rawBase(u.grad)), m: e.pointee.rawBase(m),
                    v: e.pointee.rawBase(v), vMax: vMax.isNull ? nil : e.pointee.rawBase(vMax), count: u.count, step: step, options: o))
            }
        }
    }

    /// `state.I.step`, `exp_avg`, `exp_avg_sq` (and `max_exp_avg_sq` with AMSGrad), then each
    /// group's options, as PyTorch's `state_dict()`.
    public func stateDict() -> StateDict {
        OptimizerStateIO.entries(steps: steps, states: [("exp_avg", firstMoments), ("exp_avg_sq", secondMoments),
                                                        ("max_exp_avg_sq", maxSecondMoments)], groups: groups)
    }

    /// Restores the moments, steps and options of `stateDict`.
    public func loadStateDict(_ stateDict: StateDict) throws(TapeGradError) {
        let (states, steps, options) = try OptimizerStateIO.read(stateDict, parameters: parameters, names: ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"])
        try groups.load(options)
        self.steps = steps
        firstMoments = states["exp_avg"]!
        secondMoments = states["exp_avg_sq"]!
        maxSecondMoments = states["max_exp_avg_sq"]!
    }

    /// The name PyTorch prints.
    var name: String { "Adam" }

    /// PyTorch's printout: `Adam (`, each group's options one per line, `)`.
    public var description: String { groups.describe(name) }
}

/// AdamW (`torch.optim.AdamW`): Adam with decoupled weight decay (default 0.01): each step
/// scales the parameters by `1 − lr·weightDecay` before the Adam update.
public final class AdamW: Adam {
    /// An optimizer of `parameters` (one group); throws PyTorch's errors for invalid options.
    public convenience init(
        _ parameters: [Tensor], lr: Double = 0.001, betas: (Double, Double) = (0.9, 0.999), eps: Double = 1e-8,
        weightDecay: Double = 0.01, amsgrad: Bool = false, maximize: Bool = false
    ) throws(TapeGradError) {
        try self.init(groups: [ParameterGroup(parameters)], lr: lr, betas: betas, eps: eps, weightDecay: weightDecay,
                      amsgrad: amsgrad, maximize: maximize)
    }

    /// An optimizer of parameter groups, each with these options changed by its overrides:
    /// nanoGPT's `AdamW(groups: [ParameterGroup(matrices), ParameterGroup(others) { $0.weightDecay = 0 }], weightDecay: 0.1)`.
    public init(
        groups: [ParameterGroup<AdamOptions>], lr: Double = 0.001, betas: (Double, Double) = (0.9, 0.999), eps: Double = 1e-8,
        weightDecay: Double = 0.01, amsgrad: Bool = false, maximize: Bool = false
    ) throws(TapeGradError) {
        try super.init(groups: groups, lr: lr, betas: betas, eps: eps, weightDecay: weightDecay, amsgrad: amsgrad,
                       maximize: maximize, decoupledWeightDecay: true)
    }

    override var name: String { "AdamW" }
}

/// The options of an Adam or AdamW parameter group (Adam's defaults).
public struct AdamOptions: OptimizerOptions, Sendable {
    /// The learning rate.
    public var lr = 0.001
    /// The decay rates of the first and second moment estimates.
    public var betas = (0.9, 0.999)
    /// Added to the denominator.
    public var eps = 1e-8
    /// The weight decay factor.
    public var weightDecay = 0.0
    /// Whether to use the maximum of past second moments (AMSGrad).
    public var amsgrad = false
    /// Whether to maximise the objective instead.
    public var maximize = false
    /// Whether weight decay scales the parameters (AdamW) instead of adding to the gradient.
    public var decoupledWeightDecay = false

    /// PyTorch's defaults (the property values above).
    public static var pytorchDefaults: Self { Self() }

    /// The options by PyTorch's names.
    public static var fields: [OptimizerField<Self>] {
        [.number("lr", \.lr), .pair("betas", \.betas), .number("eps", \.eps), .number("weight_decay", \.weightDecay),
         .flag("amsgrad", \.amsgrad), .flag("maximize", \.maximize), .flag("decoupled_weight_decay", \.decoupledWeightDecay)]
    }

    /// What PyTorch also prints.
    public static var printedConstants: [(String, String)] {
        [("foreach", "None"), ("capturable", "False"), ("differentiable", "False"), ("fused", "None")]
    }

    /// PyTorch's checks.
    public func validate() throws(TapeGradError) {
        try OptimizerFormat.requireNonNegative(lr, "learning rate")
        try OptimizerFormat.requireNonNegative(eps, "epsilon value")
        guard betas.0 >= 0 && betas.0 < 1 else { throw TapeGradError(.valueError, "Invalid beta parameter at index 0: \(betas.0)") }
        guard betas.1 >= 0 && betas.1 < 1 else { throw TapeGradError(.valueError, "Invalid beta parameter at index 1: \(betas.1)") }
        try OptimizerFormat.requireNonNegative(weightDecay, "weight_decay value")
    }
}

/// One Adam step for one parameter, in its element type: the moments, the optional maximum of
/// the second moments (AMSGrad), the bias corrections and the update.
private struct AdamUpdate: FloatComputation {
    let p: UnsafeMutableRawPointer, g: UnsafeRawPointer, m: UnsafeMutableRawPointer, v: UnsafeMutableRawPointer
    let vMax: UnsafeMutableRawPointer?, count: Int, step: Int
    let options: AdamOptions

    func run<T: FloatElement>(_: T.Type) {
        let p = p.assumingMemoryBound(to: T.self), g = g.assumingMemoryBound(to: T.self)
        let m = m.assumingMemoryBound(to: T.self), v = v.assumingMemoryBound(to: T.self)
        let vMax = vMax?.assumingMemoryBound(to: T.self)
        let lr = options.lr, betas = options.betas, weightDecay = options.weightDecay
        let beta1 = T(betas.0), beta2 = T(betas.1), eps = T(options.eps), decay = T(weightDecay)
        let correction1 = 1 - Double.pow(betas.0, step)
        let correction2Root = T((1 - Double.pow(betas.1, step)).squareRoot())
        let stepSize = T(lr / correction1)
        let shrink = T(1 - lr * weightDecay)
        let sign: T = options.maximize ? -1 : 1
        let decoupled = options.decoupledWeightDecay
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
