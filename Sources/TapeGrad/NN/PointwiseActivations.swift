import RealModule

// GELU, SiLU and Softplus (`F.gelu`, `F.silu`, `F.softplus` and their modules): each kernel
// as PyTorch's CPU kernel computes it, its derivative kernel beside it, and the derivative
// spelled with recorded ops for createGraph. Float inputs only, as in PyTorch.

/// `0.5·x·(1 + erf(x/√2))`, the exact GELU.
enum GeluKernel: UnaryKernel {
    static func apply<T: FloatElement>(_ x: T, _: T, _: T) -> T { x * 0.5 * (1 + T.erf(x * T(0.5.squareRoot()))) }
}

/// `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`, GELU's tanh approximation.
enum GeluTanhKernel: UnaryKernel {
    static func apply<T: FloatElement>(_ x: T, _: T, _: T) -> T {
        0.5 * x * (1 + T.vectorTanh(Gelu.beta() * (x + Gelu.kappa() * x * x * x)))
    }
}

/// `x·σ(x)`.
enum SiluKernel: UnaryKernel {
    static func apply<T: FloatElement>(_ x: T, _: T, _: T) -> T { x / (1 + T.exp(-x)) }
}

/// `log(1 + exp(β·x))/β`, or `x` where `β·x` exceeds the threshold (`p0` β, `p1` threshold).
enum SoftplusKernel: UnaryKernel {
    static func apply<T: FloatElement>(_ x: T, _ beta: T, _ threshold: T) -> T {
        x * beta > threshold ? x : T.log(onePlus: T.exp(x * beta)) / beta
    }
}

/// GELU's constants, in the element type.
enum Gelu {
    /// √(2/π).
    @inline(__always) static func beta<T: FloatElement>() -> T { T(2.0.squareRoot()) * T(2 / Double.pi.squareRoot()) * 0.5 }
    @inline(__always) static func kappa<T: FloatElement>() -> T { T(0.044715) }
}

/// `g·(Φ(x) + x·φ(x))`: the exact GELU's derivative times the gradient.
enum GeluBackwardKernel: BinaryKernel {
    static func apply<T: FloatElement>(_ g: T, _ x: T) -> T {
        let cdf = 0.5 * (1 + T.erf(x * T(0.5.squareRoot())))
        let pdf = T.exp(-0.5 * x * x) * T(1 / (2 * Double.pi).squareRoot())
        return g * (cdf + x * pdf)
    }
}

/// The tanh approximation's derivative times the gradient.
enum GeluTanhBackwardKernel: BinaryKernel {
    static func apply<T: FloatElement>(_ g: T, _ x: T) -> T {
        let beta: T = Gelu.beta(), kappa: T = Gelu.kappa()
        let inner = beta * (x + kappa * x * x * x)
        let t = T.vectorTanh(inner)
        let left = 0.5 * x, right = 1 + t
        return g * (0.5 * right + left * (1 - t * t) * beta * (1 + 3 * kappa * x * x))
    }
}

/// `g·σ(x)·(1 + x·(1 − σ(x)))`.
enum SiluBackwardKernel: BinaryKernel {
    static func apply<T: FloatElement>(_ g: T, _ x: T) -> T {
        let s = 1 / (1 + T.exp(-x))
        return g * s * (1 + x * (1 - s))
    }
}

extension Tensor {
    /// The activation `kernel` of a float tensor, recorded as `op` with its parameters.
    fileprivate func activation<K: UnaryKernel>(_ op: OpCode, _ kernel: K.Type, _ name: String, _ p0: Double = 0, _ p1: Double = 0) throws(TapeGradError) -> Tensor {
        guard dtype.isFloatingPoint else { throw NNChecks.notImplemented(name, dtype) }
        return elementwise(op, kernel, Number(p0), Number(p1))
    }
}

/// GELU (`torch.nn.functional.gelu`): `x·Φ(x)` with `approximate: "none"`, or its tanh
/// approximation with `"tanh"` (GPT-2's). Node `GeluBackward0`.
public func gelu(_ input: Tensor, approximate: String = "none") throws(TapeGradError) -> Tensor {
    switch approximate {
    case "none": return try input.activation(.gelu, GeluKernel.self, "GeluKernelImpl", 0)
    case "tanh": return try input.activation(.gelu, GeluTanhKernel.self, "GeluKernelImpl", 1)
    default: throw .runtime("approximate argument must be either none or tanh.")
    }
}

/// SiLU, `x·σ(x)` (`torch.nn.functional.silu`). Node `SiluBackward0`.
public func silu(_ input: Tensor) throws(TapeGradError) -> Tensor {
    try input.activation(.silu, SiluKernel.self, "silu_cpu")
}

/// Softplus, `log(1 + exp(β·x))/β`, linear where `β·x > threshold`
/// (`torch.nn.functional.softplus`). Node `SoftplusBackward0`.
public func softplus(_ input: Tensor, beta: Double = 1, threshold: Double = 20) throws(TapeGradError) -> Tensor {
    try input.activation(.softplus, SoftplusKernel.self, "softplus_cpu", beta, threshold)
}

enum PointwiseBackward {
    /// `GeluBackward0`: the fused derivative kernel, or under createGraph the same formula in
    /// recorded ops.
    static func gelu(_ r: Record, _ g: Tensor) -> Gradients {
        let tanh = r.s0 != 0
        guard engine.pointee.backwardIsRecorded else {
            return Gradients(a: tanh ? fused(GeluTanhBackwardKernel.self, g, r.a) : fused(GeluBackwardKernel.self, g, r.a))
        }
        let x = r.a
        if tanh {
            let beta: Double = Gelu.beta(), kappa: Double = Gelu.kappa()
            let t = ((x + x * x * x * kappa) * beta).tanh()
            return Gradients(a: g * ((t + 1) * 0.5 + x * 0.5 * (1 - t * t) * ((x * x * (3 * kappa) + 1) * beta)))
        }
        let cdf = ((x * 0.5.squareRoot()).erf() + 1) * 0.5
        let pdf = (x * x * -0.5).exp() * (1 / (2 * Double.pi).squareRoot())
        return Gradients(a: g * (cdf + x * pdf))
    }

    /// `SiluBackward0`.
    static func silu(_ r: Record, _ g: Tensor) -> Gradients {
        guard engine.pointee.backwardIsRecorded else { return Gradients(a: fused(SiluBackwardKernel.self, g, r.a)) }
        let s = r.a.sigmoid()
        return Gradients(a: g * s * (r.a * (1 - s) + 1))
    }

    /// `SoftplusBackward0`: `g·σ(β·x)`, or `g` where `β·x > threshold`.
    static func softplus(_ r: Record, _ g: Tensor) -> Gradients {
        trapping { () throws(TapeGradError) -> Gradients in
            let scaled = r.a * r.s0
            return Gradients(a: try Tensor.where(scaled > r.s1, g, g * scaled.sigmoid()))
        }
    }
}

/// GELU as a layer (`torch.nn.GELU`).
public final class GELU: Module {
    /// `"none"` (exact) or `"tanh"`.
    public let approximate: String
    /// Whether in training mode.
    public var isTraining = true
    /// A GELU; throws PyTorch's error for an approximation other than `"none"` or `"tanh"`.
    public init(approximate: String = "none") throws(TapeGradError) {
        guard approximate == "none" || approximate == "tanh" else { throw .runtime("approximate argument must be either none or tanh.") }
        self.approximate = approximate
    }
    /// Applies GELU.
    public func forward(_ input: Tensor) throws(TapeGradError) -> Tensor { try gelu(input, approximate: approximate) }
}

/// SiLU as a layer (`torch.nn.SiLU`).
public final class SiLU: Module {
    /// Whether in training mode.
    public var isTraining = true
    /// A SiLU.
    public init() {}
    /// Applies SiLU.
    public func forward(_ input: Tensor) throws(TapeGradError) -> Tensor { try silu(input) }
}

/// Softplus as a layer (`torch.nn.Softplus`).
public final class Softplus: Module {
    /// The sharpness β.
    public let beta: Double
    /// Where `β·x` above it, the layer is linear.
    public let threshold: Double
    /// Whether in training mode.
    public var isTraining = true
    /// A Softplus.
    public init(beta: Double = 1, threshold: Double = 20) {
        self.beta = beta
        self.threshold = threshold
    }
    /// Applies Softplus.
    public func forward(_ input: Tensor) throws(TapeGradError) -> Tensor { try softplus(input, beta: beta, threshold: threshold) }
}
