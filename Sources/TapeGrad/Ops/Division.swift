import RealModule

// Floor division and remainder with Python's sign rules (`//` and `%`), in floats and in
// integers. An integer divisor of zero throws PyTorch's `ZeroDivisionError` before anything is
// computed; the kernels themselves never trap.

/// `floor(a / b)` as c10's `div_floor_floating`: the quotient of the exact remainder, so that
/// `a == b * (a // b) + a % b` holds as far as floats allow; a zero divisor gives IEEE's `a / b`.
@inline(__always)
func floorQuotient<T: FloatElement>(_ a: T, _ b: T) -> T {
    if b == 0 { return a / b }
    let mod = a.truncatingRemainder(dividingBy: b)
    var div = (a - mod) / b
    if mod != 0 && (b < 0) != (mod < 0) { div -= 1 }
    guard div != 0 else { return T(signOf: a / b, magnitudeOf: 0) }
    var floored = div.rounded(.down)
    if div - floored > 0.5 { floored += 1 }
    return floored
}

/// `a - b * floor(a / b)` with the divisor's sign, as c10's `remainder`.
@inline(__always)
func floorRemainder<T: FloatElement>(_ a: T, _ b: T) -> T {
    var mod = a.truncatingRemainder(dividingBy: b)
    if mod != 0 && (b < 0) != (mod < 0) { mod += b }
    return mod
}

/// Floor division of integers; `min / -1` wraps (to `min`), a zero divisor (refused before
/// the kernel runs) gives 0.
@inline(__always)
func floorQuotient<T: IntegerElement>(_ a: T, _ b: T) -> T {
    if b == 0 { return 0 }
    let (quotient, overflow) = a.dividedReportingOverflow(by: b)
    if overflow { return quotient }
    let remainder = a.remainderReportingOverflow(dividingBy: b).partialValue
    return remainder != 0 && (a < 0) != (b < 0) ? quotient &- 1 : quotient
}

/// The remainder of integers with the divisor's sign.
@inline(__always)
func floorRemainder<T: IntegerElement>(_ a: T, _ b: T) -> T {
    if b == 0 { return 0 }
    let r = a.remainderReportingOverflow(dividingBy: b).partialValue
    return r != 0 && (r < 0) != (b < 0) ? r &+ b : r
}

enum FloorDivideKernel: BinaryKernel, IntegerBinaryKernel {
    static func apply<T: FloatElement>(_ a: T, _ b: T) -> T { floorQuotient(a, b) }
    static func apply<T: IntegerElement>(_ a: T, _ b: T) -> T { floorQuotient(a, b) }
}

enum RemainderKernel: BinaryKernel, IntegerBinaryKernel {
    static func apply<T: FloatElement>(_ a: T, _ b: T) -> T { floorRemainder(a, b) }
    static func apply<T: IntegerElement>(_ a: T, _ b: T) -> T { floorRemainder(a, b) }
}

extension Tensor {
    /// `floor(self / other)` elementwise with broadcasting (`torch.floor_divide`, Python's
    /// `//`): integers stay integers, rounding toward negative infinity. Throws PyTorch's
    /// `ZeroDivisionError` for an integer divisor of zero. Not differentiable: a backward
    /// through it throws, as in PyTorch.
    public func floorDivide(_ other: Tensor) throws(TapeGradError) -> Tensor {
        try divided(FloorDivideKernel.self, .floorDivide, by: other, name: "div_floor_cpu")
    }

    /// `floorDivide(_:)` by a number (`tensor // 2`).
    public func floorDivide(_ value: Int) throws(TapeGradError) -> Tensor { try floorDivide(numberOperand(Number(value))) }
    /// `floorDivide(_:)` by a number (`tensor // 2.5`).
    public func floorDivide(_ value: Double) throws(TapeGradError) -> Tensor { try floorDivide(numberOperand(Number(value))) }

    /// The remainder of floor division, with the divisor's sign (`torch.remainder`, Python's
    /// `%`), with broadcasting; `RemainderBackward1`.
    public func remainder(_ other: Tensor) throws(TapeGradError) -> Tensor {
        try divided(RemainderKernel.self, .remainder, by: other, name: "remainder_cpu")
    }

    /// `remainder(_:)` by an integer (`tensor % 3`), `RemainderBackward0`.
    public func remainder(_ value: Int) throws(TapeGradError) -> Tensor { try remainderByNumber(Number(value)) }
    /// `remainder(_:)` by a number (`tensor % 1.5`), `RemainderBackward0`.
    public func remainder(_ value: Double) throws(TapeGradError) -> Tensor { try remainderByNumber(Number(value)) }

    /// The remainder with the divisor's sign; traps where ``remainder(_:)`` throws.
    public static func % (a: Tensor, b: Tensor) -> Tensor { trapping { try a.remainder(b) } }
    /// The remainder by an integer; traps where ``remainder(_:)`` throws.
    public static func % (a: Tensor, b: Int) -> Tensor { trapping { try a.remainder(b) } }
    /// The remainder by a number; traps where ``remainder(_:)`` throws.
    public static func % (a: Tensor, b: Double) -> Tensor { trapping { try a.remainder(b) } }

    private func remainderByNumber(_ number: Number) throws(TapeGradError) -> Tensor {
        let out = try memory.dividing(RemainderKernel.self, self, numberOperand(number), name: "remainder_cpu")
        var record = Record(.remainderScalar, result: out, a: self)
        record.s0 = number.double
        return engine.pointee.recordIfNeeded(record)
    }

    /// A Swift number as the 0-dim operand PyTorch makes of it beside this tensor: of this
    /// tensor's dtype where the number does not change the result type, else of the result
    /// type (`where(c, int64, 2.5)` is float32). Comparisons, `where`, division and the
    /// bitwise ops take their numbers through it.
    func numberOperand(_ number: Number) -> Tensor {
        memory.scalar(number, dtype: dtype.resultType(withNumber: number.kind))
    }

    private func divided<K: BinaryKernel & IntegerBinaryKernel>(
        _ kernel: K.Type, _ op: OpCode, by other: Tensor, name: String
    ) throws(TapeGradError) -> Tensor {
        let e = engine
        let out = try e.memory.dividing(kernel, self, other, name: name)
        return e.pointee.recordIfNeeded(Record(op, result: out, a: self, b: other))
    }
}

extension TensorMemory {
    /// `K` on broadcast pairs after PyTorch's checks for division: bool operands are refused
    /// (`"div_floor_cpu" not implemented for 'Bool'`), and an integer divisor holding a zero
    /// throws `ZeroDivisionError` (no record).
    func dividing<K: BinaryKernel & IntegerBinaryKernel>(
        _ kernel: K.Type, _ a: Tensor, _ b: Tensor, name: String
    ) throws(TapeGradError) -> Tensor {
        let sa = slot(a).pointee, sb = slot(b).pointee
        let resultType = DType.resultType(sa.dtype, dimensioned: sa.shape.count > 0, sb.dtype, dimensioned: sb.shape.count > 0)
        if resultType == .bool { throw NNChecks.notImplemented(name, .bool) }
        let shape = try Shapes.broadcast(sa.shape, sb.shape)
        if resultType.isIntegral && shape.product > 0 && hasZero(b) { throw .runtime("ZeroDivisionError") }
        return try mapBinary(kernel, a, b)
    }

    /// Whether any element of `tensor` is zero.
    func hasZero(_ tensor: Tensor) -> Bool {
        let s = slot(tensor).pointee
        return s.dtype.withElement(AnyZero(source: UnsafeRawPointer(rawBase(tensor)), shape: s.shape, strides: s.strides))
    }
}

/// Whether a strided layout holds a zero (`Kernels.copy`'s walk, no copy).
private struct AnyZero: ElementComputation {
    let source: UnsafeRawPointer, shape: Dims, strides: Dims

    func run<T: TensorElement>(_: T.Type) -> Bool {
        let p = source.assumingMemoryBound(to: T.self)
        let inner = shape.count > 0 ? strides[shape.count - 1] : 0
        var found = false
        forEachRow(shape: shape, stridesA: strides, stridesB: strides) { offset, _, _, length in
            for j in 0..<length where p[offset + j * inner].doubleValue == 0 { found = true }
        }
        return found
    }
}

enum DivisionBackward {
    static func floorDivide(_ r: Record, _ g: Tensor) throws(TapeGradError) -> Gradients {
        throw .runtime("derivative for aten::floor_divide is not implemented")
    }

    /// `a % b = a - b * floor(a / b)`: `g` for `a`; `-g * floor(a / b)` for `b`, the floor a
    /// constant (its derivative is zero where it is defined).
    static func remainder(_ r: Record, _ g: Tensor) -> Gradients {
        let quotient = noGrad { trapping { try r.a.floorDivide(r.b) } }
        return Gradients(a: r.needsA ? g.sumTo(shapeOf: r.a) : .null,
                         b: r.needsB ? (-g * quotient).sumTo(shapeOf: r.b) : .null)
    }

    static func remainderScalar(_ r: Record, _ g: Tensor) -> Gradients { Gradients(a: g) }
}
