// `+ - * /` between tensors and with scalars on either side, and negation: each op's kernel,
// forward and backward together. Broadcasting follows NumPy; backward sums a gradient back
// to each operand's shape.

enum AddKernel: BinaryKernel {
    static func apply<T: FloatElement>(_ a: T, _ b: T) -> T { a + b }
    static var keepsBool: Bool { true }
}
enum SubKernel: BinaryKernel { static func apply<T: FloatElement>(_ a: T, _ b: T) -> T { a - b } }
enum MulKernel: BinaryKernel {
    static func apply<T: FloatElement>(_ a: T, _ b: T) -> T { a * b }
    static var keepsBool: Bool { true }
}
enum DivKernel: BinaryKernel { static func apply<T: FloatElement>(_ a: T, _ b: T) -> T { a / b } }

enum AddScalarKernel: UnaryKernel { static func apply<T: FloatElement>(_ x: T, _ s: T, _: T) -> T { x + s } }
enum MulScalarKernel: UnaryKernel { static func apply<T: FloatElement>(_ x: T, _ s: T, _: T) -> T { x * s } }
enum RsubScalarKernel: UnaryKernel { static func apply<T: FloatElement>(_ x: T, _ s: T, _: T) -> T { s - x } }
enum NegKernel: UnaryKernel { static func apply<T: FloatElement>(_ x: T, _: T, _: T) -> T { -x } }
enum ReciprocalKernel: UnaryKernel { static func apply<T: FloatElement>(_ x: T, _: T, _: T) -> T { 1 / x } }

// MARK: Tensor with tensor

extension Tensor {
    /// Elementwise sum with broadcasting (`torch.add`); throws when the shapes do not broadcast.
    public func add(_ other: Tensor) throws(TapeGradError) -> Tensor {
        try binary(.add, AddKernel.self, other)
    }

    /// Elementwise difference with broadcasting (`torch.sub`); PyTorch refuses bool operands.
    public func sub(_ other: Tensor) throws(TapeGradError) -> Tensor {
        try Self.checkSubtraction(dtype, other.dtype)
        return try binary(.sub, SubKernel.self, other)
    }

    /// PyTorch's refusal to subtract with a bool tensor (`other` is nil for a Swift number).
    static func checkSubtraction(_ a: DType, _ b: DType?) throws(TapeGradError) {
        if a == .bool && b == .bool {
            throw TapeGradError(.notImplementedError, "Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or `logical_xor()` operator instead.")
        }
        if a == .bool || b == .bool {
            throw TapeGradError(.notImplementedError, "Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying to invert a mask, use the `~` or `logical_not()` operator instead.")
        }
    }

    /// Elementwise product with broadcasting (`torch.mul`).
    public func mul(_ other: Tensor) throws(TapeGradError) -> Tensor {
        try binary(.mul, MulKernel.self, other)
    }

    /// Elementwise quotient with broadcasting (`torch.div`).
    public func div(_ other: Tensor) throws(TapeGradError) -> Tensor {
        try binary(.div, DivKernel.self, other)
    }

    @inline(__always)
    private func binary<K: BinaryKernel>(_ op: OpCode, _ kernel: K.Type, _ other: Tensor) throws(TapeGradError) -> Tensor {
        let e = engine
        let out = try e.pointee.mapBinary(kernel, self, other)
        return e.pointee.recordIfNeeded(Record(op, result: out, a: self, b: other))
    }

    /// Elementwise sum; traps when the shapes do not broadcast (`add(_:)` throws instead).
    public static func + (a: Tensor, b: Tensor) -> Tensor { trapping { try a.add(b) } }
    /// Elementwise difference; traps when the shapes do not broadcast (`sub(_:)` throws instead).
    public static func - (a: Tensor, b: Tensor) -> Tensor { trapping { try a.sub(b) } }
    /// Elementwise product; traps when the shapes do not broadcast (`mul(_:)` throws instead).
    public static func * (a: Tensor, b: Tensor) -> Tensor { trapping { try a.mul(b) } }
    /// Elementwise quotient; traps when the shapes do not broadcast (`div(_:)` throws instead).
    public static func / (a: Tensor, b: Tensor) -> Tensor { trapping { try a.div(b) } }
}

// MARK: Tensor with scalar

extension Tensor {
    @inline(__always)
    private func scalarOp<K: UnaryKernel>(_ op: OpCode, _ kernel: K.Type, _ s: Double) -> Tensor {
        let e = engine
        let out = e.pointee.mapUnary(kernel, self, s)
        var record = Record(op, result: out, a: self)
        record.s0 = s
        return e.pointee.recordIfNeeded(record)
    }

    /// Adds a scalar to every element.
    public static func + (a: Tensor, s: Double) -> Tensor { a.scalarOp(.addScalar, AddScalarKernel.self, s) }
    /// Adds a scalar to every element.
    public static func + (s: Double, a: Tensor) -> Tensor { a.scalarOp(.addScalar, AddScalarKernel.self, s) }
    /// Subtracts a scalar from every element; traps for a bool tensor (`sub(_:)` throws instead).
    public static func - (a: Tensor, s: Double) -> Tensor { trapping { try a.sub(s) } }
    /// Subtracts every element from a scalar; traps for a bool tensor (`rsub(_:)` throws instead).
    public static func - (s: Double, a: Tensor) -> Tensor { trapping { try a.rsub(s) } }

    /// Adds a scalar to every element (`tensor.add(2.5)`).
    public func add(_ value: Double) -> Tensor { scalarOp(.addScalar, AddScalarKernel.self, value) }
    /// Subtracts a scalar from every element (`tensor.sub(2.5)`); PyTorch refuses a bool tensor.
    public func sub(_ value: Double) throws(TapeGradError) -> Tensor {
        try Self.checkSubtraction(dtype, nil)
        return scalarOp(.subScalar, AddScalarKernel.self, -value)
    }
    /// Subtracts every element from a scalar (`torch.rsub(tensor, 2.5)`); PyTorch refuses a bool tensor.
    public func rsub(_ value: Double) throws(TapeGradError) -> Tensor {
        try Self.checkSubtraction(dtype, nil)
        return scalarOp(.rsubScalar, RsubScalarKernel.self, value)
    }
    /// Multiplies every element by a scalar (`tensor.mul(2.5)`).
    public func mul(_ value: Double) -> Tensor { scalarOp(.mulScalar, MulScalarKernel.self, value) }
    /// Divides every element by a scalar (`tensor.div(2.5)`).
    public func div(_ value: Double) -> Tensor { scalarOp(.divScalar, MulScalarKernel.self, 1 / value) }
    /// Multiplies every element by a scalar.
    public static func * (a: Tensor, s: Double) -> Tensor { a.scalarOp(.mulScalar, MulScalarKernel.self, s) }
    /// Multiplies every element by a scalar.
    public static func * (s: Double, a: Tensor) -> Tensor { a.scalarOp(.mulScalar, MulScalarKernel.self, s) }
    /// Divides every element by a scalar.
    public static func / (a: Tensor, s: Double) -> Tensor { a.scalarOp(.divScalar, MulScalarKernel.self, 1 / s) }
    /// Divides a scalar by every element: `reciprocal() * s`, as PyTorch computes it.
    public static func / (s: Double, a: Tensor) -> Tensor { a.reciprocal() * s }

    /// Negates every element; traps for a bool tensor (`neg()` throws instead).
    public static prefix func - (a: Tensor) -> Tensor { trapping { try a.neg() } }

    /// Negates every element (`torch.neg`); PyTorch refuses a bool tensor.
    public func neg() throws(TapeGradError) -> Tensor {
        guard dtype != .bool else {
            throw TapeGradError(.notImplementedError, "Negation, the `-` operator, on a bool tensor is not supported. If you are trying to invert a mask, use the `~` or `logical_not()` operator instead.")
        }
        let e = engine
        return e.pointee.recordIfNeeded(Record(.neg, result: e.pointee.mapUnary(NegKernel.self, self), a: self))
    }

    /// `1 / x` for every element (`torch.reciprocal`).
    public func reciprocal() -> Tensor {
        let e = engine
        return e.pointee.recordIfNeeded(Record(.reciprocal, result: e.pointee.mapUnary(ReciprocalKernel.self, self), a: self))
    }
}

// MARK: Backward

enum ArithmeticBackward {
    static func add(_ r: Record, _ g: Tensor) -> Gradients {
        Gradients(a: r.needsA ? g.sumTo(shapeOf: r.a) : .null, b: r.needsB ? g.sumTo(shapeOf: r.b) : .null)
    }

    static func sub(_ r: Record, _ g: Tensor) -> Gradients {
        Gradients(a: r.needsA ? g.sumTo(shapeOf: r.a) : .null, b: r.needsB ? (-g).sumTo(shapeOf: r.b) : .null)
    }

    static func mul(_ r: Record, _ g: Tensor) -> Gradients {
        Gradients(a: r.needsA ? (g * r.b).sumTo(shapeOf: r.a) : .null,
                  b: r.needsB ? (g * r.a).sumTo(shapeOf: r.b) : .null)
    }

    static func div(_ r: Record, _ g: Tensor) -> Gradients {
        Gradients(a: r.needsA ? (g / r.b).sumTo(shapeOf: r.a) : .null,
                  b: r.needsB ? (-g * r.a / (r.b * r.b)).sumTo(shapeOf: r.b) : .null)
    }

    static func passThrough(_ r: Record, _ g: Tensor) -> Gradients { Gradients(a: g) }
    static func negate(_ r: Record, _ g: Tensor) -> Gradients { Gradients(a: -g) }
    /// `x * s` and `x / s` (stored as `x * (1/s)`).
    static func scale(_ r: Record, _ g: Tensor) -> Gradients { Gradients(a: g * r.s0) }
    static func reciprocal(_ r: Record, _ g: Tensor) -> Gradients { Gradients(a: -g * (r.result * r.result)) }
}
