// `+ - * /` between tensors and with scalars on either side, and negation: each op's kernel,
// forward and backward together. Broadcasting follows NumPy; backward sums a gradient back
// to each operand's shape.

enum AddKernel: BinaryKernel, IntegerBinaryKernel {
    static func apply<T: FloatElement>(_ a: T, _ b: T) -> T { a + b }
    static func apply<T: IntegerElement>(_ a: T, _ b: T) -> T { a &+ b }
    static var keepsBool: Bool { true }
}
enum SubKernel: BinaryKernel, IntegerBinaryKernel {
    static func apply<T: FloatElement>(_ a: T, _ b: T) -> T { a - b }
    static func apply<T: IntegerElement>(_ a: T, _ b: T) -> T { a &- b }
}
enum MulKernel: BinaryKernel, IntegerBinaryKernel {
    static func apply<T: FloatElement>(_ a: T, _ b: T) -> T { a * b }
    static func apply<T: IntegerElement>(_ a: T, _ b: T) -> T { a &* b }
    static var keepsBool: Bool { true }
}
/// True division: integer operands compute in float32 (`torch.tensor([1, 2]) / 2` is float).
enum DivKernel: BinaryKernel { static func apply<T: FloatElement>(_ a: T, _ b: T) -> T { a / b } }

enum AddScalarKernel: IntegerUnaryKernel {
    static func apply<T: FloatElement>(_ x: T, _ s: T, _: T) -> T { x + s }
    static func apply<T: IntegerElement>(_ x: T, _ s: T, _: T) -> T { x &+ s }
}
enum MulScalarKernel: IntegerUnaryKernel {
    static func apply<T: FloatElement>(_ x: T, _ s: T, _: T) -> T { x * s }
    static func apply<T: IntegerElement>(_ x: T, _ s: T, _: T) -> T { x &* s }
}
enum RsubScalarKernel: IntegerUnaryKernel {
    static func apply<T: FloatElement>(_ x: T, _ s: T, _: T) -> T { s - x }
    static func apply<T: IntegerElement>(_ x: T, _ s: T, _: T) -> T { s &- x }
}
enum NegKernel: IntegerUnaryKernel {
    static func apply<T: FloatElement>(_ x: T, _: T, _: T) -> T { -x }
    static func apply<T: IntegerElement>(_ x: T, _: T, _: T) -> T { 0 &- x }
}
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
        let out = try e.memory.mapBinary(kernel, self, other)
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
    private func scalarOp<K: UnaryKernel>(_ op: OpCode, _ kernel: K.Type, _ s: Number) -> Tensor {
        let e = engine
        let out = e.memory.mapUnary(kernel, self, s)
        var record = Record(op, result: out, a: self)
        record.s0 = s.double
        return e.pointee.recordIfNeeded(record)
    }

    /// Adds a number to every element; an integer tensor plus an `Int` stays integer, plus a
    /// `Double` is float32 (PyTorch's result type).
    public static func + (a: Tensor, s: Double) -> Tensor { a.add(s) }
    /// Adds a number to every element.
    public static func + (s: Double, a: Tensor) -> Tensor { a.add(s) }
    /// Adds an integer to every element (an integer tensor keeps its dtype, wrapping on overflow).
    public static func + (a: Tensor, s: Int) -> Tensor { a.add(s) }
    /// Adds an integer to every element.
    public static func + (s: Int, a: Tensor) -> Tensor { a.add(s) }
    /// Subtracts a number from every element; traps for a bool tensor (`sub(_:)` throws instead).
    public static func - (a: Tensor, s: Double) -> Tensor { trapping { try a.sub(s) } }
    /// Subtracts every element from a number; traps for a bool tensor (`rsub(_:)` throws instead).
    public static func - (s: Double, a: Tensor) -> Tensor { trapping { try a.rsub(s) } }
    /// Subtracts an integer from every element; traps for a bool tensor (`sub(_:)` throws instead).
    public static func - (a: Tensor, s: Int) -> Tensor { trapping { try a.sub(s) } }
    /// Subtracts every element from an integer; traps for a bool tensor (`rsub(_:)` throws instead).
    public static func - (s: Int, a: Tensor) -> Tensor { trapping { try a.rsub(s) } }

    /// Adds a number to every element (`tensor.add(2.5)`).
    public func add(_ value: Double) -> Tensor { scalarOp(.addScalar, AddScalarKernel.self, Number(value)) }
    /// Adds an integer to every element (`tensor.add(2)`).
    public func add(_ value: Int) -> Tensor { scalarOp(.addScalar, AddScalarKernel.self, Number(value)) }
    /// Subtracts a number from every element (`tensor.sub(2.5)`); PyTorch refuses a bool tensor.
    public func sub(_ value: Double) throws(TapeGradError) -> Tensor {
        try Self.checkSubtraction(dtype, nil)
        return scalarOp(.subScalar, AddScalarKernel.self, Number(-value))
    }
    /// Subtracts an integer from every element (`tensor.sub(2)`); PyTorch refuses a bool tensor.
    public func sub(_ value: Int) throws(TapeGradError) -> Tensor {
        try Self.checkSubtraction(dtype, nil)
        return scalarOp(.subScalar, AddScalarKernel.self, Number(0 &- value))
    }
    /// Subtracts every element from a number (`torch.rsub(tensor, 2.5)`); PyTorch refuses a bool tensor.
    public func rsub(_ value: Double) throws(TapeGradError) -> Tensor {
        try Self.checkSubtraction(dtype, nil)
        return scalarOp(.rsubScalar, RsubScalarKernel.self, Number(value))
    }
    /// Subtracts every element from an integer (`torch.rsub(tensor, 2)`); PyTorch refuses a bool tensor.
    public func rsub(_ value: Int) throws(TapeGradError) -> Tensor {
        try Self.checkSubtraction(dtype, nil)
        return scalarOp(.rsubScalar, RsubScalarKernel.self, Number(value))
    }
    /// Multiplies every element by a number (`tensor.mul(2.5)`).
    public func mul(_ value: Double) -> Tensor { scalarOp(.mulScalar, MulScalarKernel.self, Number(value)) }
    /// Multiplies every element by an integer (`tensor.mul(2)`; an integer tensor stays integer).
    public func mul(_ value: Int) -> Tensor { scalarOp(.mulScalar, MulScalarKernel.self, Number(value)) }
    /// Divides every element by a number (`tensor.div(2.5)`): true division, float for
    /// integer tensors.
    public func div(_ value: Double) -> Tensor { scalarOp(.divScalar, MulScalarKernel.self, Number(1 / value)) }
    /// Divides every element by an integer: true division, as by `Double(value)`.
    public func div(_ value: Int) -> Tensor { div(Double(value)) }
    /// Multiplies every element by a number.
    public static func * (a: Tensor, s: Double) -> Tensor { a.mul(s) }
    /// Multiplies every element by a number.
    public static func * (s: Double, a: Tensor) -> Tensor { a.mul(s) }
    /// Multiplies every element by an integer.
    public static func * (a: Tensor, s: Int) -> Tensor { a.mul(s) }
    /// Multiplies every element by an integer.
    public static func * (s: Int, a: Tensor) -> Tensor { a.mul(s) }
    /// Divides every element by a number (true division).
    public static func / (a: Tensor, s: Double) -> Tensor { a.div(s) }
    /// Divides every element by an integer (true division).
    public static func / (a: Tensor, s: Int) -> Tensor { a.div(s) }
    /// Divides a number by every element: `reciprocal() * s`, as PyTorch computes it.
    public static func / (s: Double, a: Tensor) -> Tensor { a.reciprocal() * s }
    /// Divides an integer by every element (true division).
    public static func / (s: Int, a: Tensor) -> Tensor { a.reciprocal() * Double(s) }

    /// Negates every element; traps for a bool tensor (`neg()` throws instead).
    public static prefix func - (a: Tensor) -> Tensor { trapping { try a.neg() } }

    /// Negates every element (`torch.neg`); PyTorch refuses a bool tensor.
    public func neg() throws(TapeGradError) -> Tensor {
        guard dtype != .bool else {
            throw TapeGradError(.notImplementedError, "Negation, the `-` operator, on a bool tensor is not supported. If you are trying to invert a mask, use the `~` or `logical_not()` operator instead.")
        }
        let e = engine
        return e.pointee.recordIfNeeded(Record(.neg, result: e.memory.mapUnary(NegKernel.self, self), a: self))
    }

    /// `1 / x` for every element (`torch.reciprocal`).
    public func reciprocal() -> Tensor {
        let e = engine
        return e.pointee.recordIfNeeded(Record(.reciprocal, result: e.memory.mapUnary(ReciprocalKernel.self, self), a: self))
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
