import RealModule

// Elementwise functions: each kernel, its public spelling and its derivative together.

/// `x ** p` with C's `pow` semantics (as PyTorch): whole exponents work for negative bases,
/// `0 ** 0 == 1`, a fractional exponent of a negative base is NaN, and infinite exponents
/// follow C (`(-0.5) ** inf == 0`, `(-2) ** inf == inf`, `(-1) ** inf == 1`). Small whole
/// exponents multiply; everything else is the C library's `pow`.
@inline(__always)
func power<T: FloatElement>(_ x: T, _ p: T) -> T {
    if p == 2 { return x * x }
    if p.rounded() == p && Swift.abs(p) < 64 { return T.pow(x, Int(p)) }
    return T.cPow(x, p)
}

/// `x ** p` for integers, by squaring, wrapping on overflow. A negative exponent (reached
/// through a tensor exponent; a number exponent is refused first) gives what C++'s integer
/// power does in PyTorch: 1 for a base of 1, ±1 for -1, 0 otherwise.
@inline(__always)
func power<T: IntegerElement>(_ x: T, _ p: T) -> T {
    if p < 0 { return x == 1 ? 1 : (x == 0 &- 1 ? (p & 1 == 0 ? 1 : x) : 0) }
    var result: T = 1, base = x, e = p
    while e > 0 {
        if e & 1 == 1 { result = result &* base }
        e >>= 1
        if e > 0 { base = base &* base }
    }
    return result
}

enum PowKernel: IntegerUnaryKernel {
    static func apply<T: FloatElement>(_ x: T, _ p: T, _: T) -> T { power(x, p) }
    static func apply<T: IntegerElement>(_ x: T, _ p: T, _: T) -> T { power(x, p) }
}
enum SqrtKernel: UnaryKernel { static func apply<T: FloatElement>(_ x: T, _: T, _: T) -> T { x.squareRoot() } }
enum RsqrtKernel: UnaryKernel { static func apply<T: FloatElement>(_ x: T, _: T, _: T) -> T { 1 / x.squareRoot() } }
enum ExpKernel: UnaryKernel { static func apply<T: FloatElement>(_ x: T, _: T, _: T) -> T { T.exp(x) } }
enum LogKernel: UnaryKernel { static func apply<T: FloatElement>(_ x: T, _: T, _: T) -> T { T.log(x) } }
enum TanhKernel: UnaryKernel { static func apply<T: FloatElement>(_ x: T, _: T, _: T) -> T { T.tanh(x) } }
enum SigmoidKernel: UnaryKernel { static func apply<T: FloatElement>(_ x: T, _: T, _: T) -> T { 1 / (1 + T.exp(-x)) } }
enum ReluKernel: IntegerUnaryKernel {
    static func apply<T: FloatElement>(_ x: T, _: T, _: T) -> T { x > 0 ? x : (x.isNaN ? x : 0) }
    static func apply<T: IntegerElement>(_ x: T, _: T, _: T) -> T { x > 0 ? x : 0 }
}
enum AbsKernel: IntegerUnaryKernel {
    static func apply<T: FloatElement>(_ x: T, _: T, _: T) -> T { Swift.abs(x) }
    /// Wraps for the most negative value (`abs(int8(-128))` is -128), as PyTorch's does.
    static func apply<T: IntegerElement>(_ x: T, _: T, _: T) -> T { x < 0 ? 0 &- x : x }
}
enum ErfKernel: UnaryKernel { static func apply<T: FloatElement>(_ x: T, _: T, _: T) -> T { T.erf(x) } }
enum SinKernel: UnaryKernel { static func apply<T: FloatElement>(_ x: T, _: T, _: T) -> T { T.sin(x) } }
enum CosKernel: UnaryKernel { static func apply<T: FloatElement>(_ x: T, _: T, _: T) -> T { T.cos(x) } }
enum SignKernel: IntegerUnaryKernel {
    static func apply<T: FloatElement>(_ x: T, _: T, _: T) -> T { x > 0 ? 1 : (x < 0 ? -1 : x) }
    static func apply<T: IntegerElement>(_ x: T, _: T, _: T) -> T { x > 0 ? 1 : (x < 0 ? 0 &- 1 : 0) }
}
/// `clamp(min:max:)`; an infinite bound is no bound. NaN stays NaN.
enum ClampKernel: IntegerUnaryKernel {
    static func apply<T: FloatElement>(_ x: T, _ low: T, _ high: T) -> T { x < low ? low : (x > high ? high : x) }
    static func apply<T: IntegerElement>(_ x: T, _ low: T, _ high: T) -> T { x < low ? low : (x > high ? high : x) }
}
/// 1 where `low < x < high`, else 0: the mask clamp's gradient passes through. Strict, as
/// PyTorch 2.15's (`x.clamp(max=0.5)` has gradient 0 at 0.5; NaN gets 0); an infinite bound
/// is no bound.
enum ClampMaskKernel: UnaryKernel {
    static func apply<T: FloatElement>(_ x: T, _ low: T, _ high: T) -> T {
        (low == -.infinity || x > low) && (high == .infinity || x < high) && !x.isNaN ? 1 : 0
    }
}
/// 1 where `x > 0`: relu's gradient mask.
enum PositiveMaskKernel: UnaryKernel { static func apply<T: FloatElement>(_ x: T, _: T, _: T) -> T { x > 0 ? 1 : 0 } }
/// `a ** b` elementwise.
enum PowTensorKernel: BinaryKernel, IntegerBinaryKernel {
    static func apply<T: FloatElement>(_ a: T, _ b: T) -> T { power(a, b) }
    static func apply<T: IntegerElement>(_ a: T, _ b: T) -> T { power(a, b) }
}

extension Tensor {
    @inline(__always)
    func elementwise<K: UnaryKernel>(_ op: OpCode, _ kernel: K.Type, _ p0: Number = .none, _ p1: Number = .none) -> Tensor {
        let e = engine
        var record = Record(op, result: e.memory.mapUnary(kernel, self, p0, p1), a: self)
        record.s0 = p0.double
        record.s1 = p1.double
        return e.pointee.recordIfNeeded(record)
    }

    /// Raises every element to a scalar power (`tensor ** exponent`, `torch.pow`); an integer
    /// tensor's result is float32.
    public func pow(_ exponent: Double) -> Tensor { elementwise(.powScalar, PowKernel.self, Number(exponent)) }

    /// Raises every element to an integer power; an integer tensor stays integer (wrapping).
    /// Traps for a negative power of an integer tensor, where ``pow(validating:)`` throws.
    public func pow(_ exponent: Int) -> Tensor { trapping { try pow(validating: exponent) } }

    /// `pow(_:)` with an integer power, throwing PyTorch's error for a negative power of an
    /// integer or bool tensor.
    public func pow(validating exponent: Int) throws(TapeGradError) -> Tensor {
        if exponent < 0 && !dtype.isFloatingPoint { throw .runtime("Integers to negative integer powers are not allowed.") }
        return elementwise(.powScalar, PowKernel.self, Number(exponent))
    }

    /// Raises every element to the matching element of `exponent`, with broadcasting.
    public func pow(_ exponent: Tensor) throws(TapeGradError) -> Tensor {
        let e = engine
        let out = try e.memory.mapBinary(PowTensorKernel.self, self, exponent)
        return e.pointee.recordIfNeeded(Record(.powTensor, result: out, a: self, b: exponent))
    }

    /// Square root of every element.
    public func sqrt() -> Tensor { elementwise(.sqrt, SqrtKernel.self) }
    /// `1/√x` of every element (`torch.rsqrt`).
    public func rsqrt() -> Tensor { elementwise(.rsqrt, RsqrtKernel.self) }
    /// `e` raised to every element.
    public func exp() -> Tensor { elementwise(.exp, ExpKernel.self) }
    /// Natural logarithm of every element.
    public func log() -> Tensor { elementwise(.log, LogKernel.self) }
    /// Hyperbolic tangent of every element.
    public func tanh() -> Tensor { elementwise(.tanh, TanhKernel.self) }
    /// Logistic sigmoid `1 / (1 + exp(-x))` of every element.
    public func sigmoid() -> Tensor { elementwise(.sigmoid, SigmoidKernel.self) }
    /// `max(x, 0)` for every element; PyTorch refuses a bool tensor.
    public func relu() throws(TapeGradError) -> Tensor {
        guard dtype != .bool else { throw TapeGradError(.notImplementedError, "Boolean inputs not supported for relu") }
        return elementwise(.relu, ReluKernel.self)
    }
    /// Absolute value of every element; PyTorch refuses a bool tensor.
    public func abs() throws(TapeGradError) -> Tensor {
        guard dtype != .bool else { throw NNChecks.notImplemented("abs_cpu", .bool) }
        return elementwise(.abs, AbsKernel.self)
    }
    /// Sine of every element.
    public func sin() -> Tensor { elementwise(.sin, SinKernel.self) }
    /// The error function of every element (`torch.erf`); integers and bool give float32.
    public func erf() -> Tensor { elementwise(.erf, ErfKernel.self) }
    /// Cosine of every element.
    public func cos() -> Tensor { elementwise(.cos, CosKernel.self) }
    /// -1, 0 or 1 by the sign of every element (`torch.sign`); integers and bool keep their
    /// dtype, NaN stays NaN. Its gradient is zero.
    public func sign() -> Tensor {
        // The sign of a bool is itself (the kernel computes it in float32).
        if dtype == .bool { return elementwise(.sign, SignKernel.self).to(.bool) }
        return elementwise(.sign, SignKernel.self)
    }

    /// Limits every element to `[min, max]`; either bound may be omitted (`torch.clamp`).
    public func clamp(min: Double? = nil, max: Double? = nil) -> Tensor {
        check(min != nil || max != nil, "torch.clamp: At least one of 'min' or 'max' must not be None")
        let op: OpCode = max == nil ? .clampMin : (min == nil ? .clampMax : .clamp)
        return elementwise(op, ClampKernel.self, Number(min ?? -.infinity), Number(max ?? .infinity))
    }

    /// Limits every element to integer bounds; an integer tensor stays integer. Traps for a
    /// bound outside an integer tensor's range, as PyTorch raises there.
    public func clamp(min: Int? = nil, max: Int? = nil) -> Tensor {
        check(min != nil || max != nil, "torch.clamp: At least one of 'min' or 'max' must not be None")
        let op: OpCode = max == nil ? .clampMin : (min == nil ? .clampMax : .clamp)
        let resultType = dtype.resultType(withNumber: .integer)
        func bound(_ value: Int?, _ name: String, unbounded: Int64) -> Number {
            guard let value else { return resultType.isFloatingPoint ? Number(unbounded < 0 ? -Double.infinity : .infinity) : Number(Int(unbounded)) }
            let (low, high) = resultType.integerBounds
            check(resultType.isFloatingPoint || (Int64(value) >= low && Int64(value) <= high),
                  "Clamp \(name) value \(value) is outside the representable range of \(resultType.scalarTypeName)")
            return Number(value)
        }
        let (low, high) = resultType.integerBounds
        return elementwise(op, ClampKernel.self, bound(min, "min", unbounded: low), bound(max, "max", unbounded: high))
    }
}

/// Free-function spellings, as in `torch.sqrt(x)`.
public func pow(_ x: Tensor, _ exponent: Double) -> Tensor { x.pow(exponent) }
/// `torch.sqrt(x)`.
public func sqrt(_ x: Tensor) -> Tensor { x.sqrt() }
/// `torch.exp(x)`.
public func exp(_ x: Tensor) -> Tensor { x.exp() }
/// `torch.log(x)`.
public func log(_ x: Tensor) -> Tensor { x.log() }
/// `torch.tanh(x)`.
public func tanh(_ x: Tensor) -> Tensor { x.tanh() }
/// `torch.sigmoid(x)`.
public func sigmoid(_ x: Tensor) -> Tensor { x.sigmoid() }
/// `torch.relu(x)`.
public func relu(_ x: Tensor) throws(TapeGradError) -> Tensor { try x.relu() }
/// `torch.abs(x)`.
public func abs(_ x: Tensor) throws(TapeGradError) -> Tensor { try x.abs() }
/// `torch.sin(x)`.
public func sin(_ x: Tensor) -> Tensor { x.sin() }
/// `torch.cos(x)`.
public func cos(_ x: Tensor) -> Tensor { x.cos() }
/// `torch.erf(x)`.
public func erf(_ x: Tensor) -> Tensor { x.erf() }

// Fused derivative kernels, `K(gradient, saved)`: when backward is not itself recorded
// (no createGraph) one pass replaces the two or three ops of the differentiable formula.
enum TanhBackwardKernel: BinaryKernel { static func apply<T: FloatElement>(_ g: T, _ y: T) -> T { g * (1 - y * y) } }
enum SigmoidBackwardKernel: BinaryKernel { static func apply<T: FloatElement>(_ g: T, _ y: T) -> T { g * (y * (1 - y)) } }
enum ReluBackwardKernel: BinaryKernel { static func apply<T: FloatElement>(_ g: T, _ y: T) -> T { y > 0 ? g : 0 } }
enum SquareBackwardKernel: BinaryKernel { static func apply<T: FloatElement>(_ g: T, _ x: T) -> T { g * (x + x) } }
enum SqrtBackwardKernel: BinaryKernel { static func apply<T: FloatElement>(_ g: T, _ y: T) -> T { g / (y + y) } }

/// `K(g, saved)` broadcast to `g`'s shape, for a fused derivative.
@inline(__always)
func fused<K: BinaryKernel>(_ kernel: K.Type, _ g: Tensor, _ saved: Tensor) -> Tensor {
    trapping { try memory.mapBinary(kernel, g, saved) }
}

enum UnaryMathBackward {
    /// d/dx x^p = p x^(p-1); PyTorch gives 0 for p == 0.
    static func powScalar(_ r: Record, _ g: Tensor) -> Gradients {
        let p = r.s0
        if p == 0 { return Gradients(a: g.zerosLike()) }
        if p == 2 {
            return Gradients(a: engine.pointee.backwardIsRecorded ? g * r.a * 2 : fused(SquareBackwardKernel.self, g, r.a))
        }
        return Gradients(a: g * r.a.pow(p - 1) * p)
    }

    /// d/da a^b = b a^(b-1); d/db a^b = a^b log a, taken as 0 where `a == 0` and `b >= 0`
    /// (PyTorch's `pow_backward_exponent`). Built from recorded ops, so under createGraph the
    /// exponent's gradient differentiates again with respect to the base.
    /// A bool exponent fails as in PyTorch, whose formula subtracts 1 from it.
    static func powTensor(_ r: Record, _ g: Tensor) throws(TapeGradError) -> Gradients {
        var grads = Gradients()
        if r.needsA { grads.a = (g * r.b * (try r.a.pow(try r.b.sub(1)))).sumTo(shapeOf: r.a) }
        guard r.needsB else { return grads }
        let e = engine
        let zeroBase = try e.memory.choose(r.a == 0, r.b >= 0, e.memory.scalar(0, dtype: .bool), dtype: .bool)
        grads.b = try (g * Tensor.where(zeroBase, 0, r.result * r.a.log())).sumTo(shapeOf: r.b)
        return grads
    }

    static func sqrt(_ r: Record, _ g: Tensor) -> Gradients {
        Gradients(a: engine.pointee.backwardIsRecorded ? g / (r.result * 2) : fused(SqrtBackwardKernel.self, g, r.result))
    }
    static func exp(_ r: Record, _ g: Tensor) -> Gradients { Gradients(a: g * r.result) }
    /// d/dx x^(-1/2) = -x^(-3/2)/2, from the result.
    static func rsqrt(_ r: Record, _ g: Tensor) -> Gradients { Gradients(a: g * (r.result * r.result * r.result) * -0.5) }
    static func log(_ r: Record, _ g: Tensor) -> Gradients { Gradients(a: g / r.a) }
    static func tanh(_ r: Record, _ g: Tensor) -> Gradients {
        Gradients(a: engine.pointee.backwardIsRecorded ? g * (1 - r.result * r.result) : fused(TanhBackwardKernel.self, g, r.result))
    }
    static func sigmoid(_ r: Record, _ g: Tensor) -> Gradients {
        Gradients(a: engine.pointee.backwardIsRecorded ? g * (r.result * (1 - r.result)) : fused(SigmoidBackwardKernel.self, g, r.result))
    }
    static func relu(_ r: Record, _ g: Tensor) -> Gradients {
        Gradients(a: engine.pointee.backwardIsRecorded ? g * r.result.mask(PositiveMaskKernel.self) : fused(ReluBackwardKernel.self, g, r.result))
    }
    static func abs(_ r: Record, _ g: Tensor) -> Gradients { Gradients(a: g * r.a.mask(SignKernel.self)) }
    static func sin(_ r: Record, _ g: Tensor) -> Gradients { Gradients(a: g * r.a.cos()) }
    static func cos(_ r: Record, _ g: Tensor) -> Gradients { Gradients(a: -g * r.a.sin()) }
    /// d/dx erf(x) = 2/√π · exp(−x²).
    static func erf(_ r: Record, _ g: Tensor) -> Gradients { Gradients(a: g * (-(r.a * r.a)).exp() * (2 / Double.pi.squareRoot())) }
    /// Zero everywhere (PyTorch's choice at 0 too).
    static func sign(_ r: Record, _ g: Tensor) -> Gradients { Gradients(a: g * 0) }
    static func clamp(_ r: Record, _ g: Tensor) -> Gradients { Gradients(a: g * r.a.mask(ClampMaskKernel.self, r.s0, r.s1)) }
}

extension Tensor {
    /// A kernel's value for every element, never recorded: masks and signs that gradients
    /// are multiplied by are constants of the backward graph.
    func mask<K: UnaryKernel>(_ kernel: K.Type, _ p0: Double = 0, _ p1: Double = 0) -> Tensor {
        memory.mapUnary(kernel, self, Number(p0), Number(p1))
    }
}
