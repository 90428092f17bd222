// Bitwise ops on integers and bool (`& | ^ ~ << >>`): never recorded (their operands cannot
// require grad). Floats are refused with PyTorch's message; bool computes as 0s and 1s.

enum BitwiseAndKernel: IntegerBinaryKernel { static func apply<T: IntegerElement>(_ a: T, _ b: T) -> T { a & b } }
enum BitwiseOrKernel: IntegerBinaryKernel { static func apply<T: IntegerElement>(_ a: T, _ b: T) -> T { a | b } }
enum BitwiseXorKernel: IntegerBinaryKernel { static func apply<T: IntegerElement>(_ a: T, _ b: T) -> T { a ^ b } }

/// `a << b` as c10's `lshift`: a shift past the width, or a negative one, gives 0.
enum LeftShiftKernel: IntegerBinaryKernel {
    static func apply<T: IntegerElement>(_ a: T, _ b: T) -> T {
        b < 0 || Int(truncatingIfNeeded: b) >= T.bitWidth ? 0 : a &<< b
    }
}

/// `a >> b` as c10's `rshift`: past the width (one less for signed types), or negative, a
/// signed value keeps only its sign and an unsigned one gives 0.
enum RightShiftKernel: IntegerBinaryKernel {
    static func apply<T: IntegerElement>(_ a: T, _ b: T) -> T {
        let maxShift = T.bitWidth - (T.isSigned ? 1 : 0)
        guard b < 0 || Int(truncatingIfNeeded: b) >= maxShift else { return a &>> b }
        return T.isSigned ? a >> (T.bitWidth - 1) : 0
    }
}

extension Tensor {
    /// Elementwise `&` of integer or bool tensors, with broadcasting (`torch.bitwise_and`).
    public func bitwiseAnd(_ other: Tensor) throws(TapeGradError) -> Tensor {
        try memory.bitwise(BitwiseAndKernel.self, self, other, name: "bitwise_and_cpu", takesBool: true)
    }
    /// Elementwise `|` of integer or bool tensors (`torch.bitwise_or`).
    public func bitwiseOr(_ other: Tensor) throws(TapeGradError) -> Tensor {
        try memory.bitwise(BitwiseOrKernel.self, self, other, name: "bitwise_or_cpu", takesBool: true)
    }
    /// Elementwise `^` of integer or bool tensors (`torch.bitwise_xor`).
    public func bitwiseXor(_ other: Tensor) throws(TapeGradError) -> Tensor {
        try memory.bitwise(BitwiseXorKernel.self, self, other, name: "bitwise_xor_cpu", takesBool: true)
    }
    /// Elementwise `<<` of integer tensors (`torch.bitwise_left_shift`).
    public func leftShift(_ other: Tensor) throws(TapeGradError) -> Tensor {
        try memory.bitwise(LeftShiftKernel.self, self, other, name: "lshift_cpu", takesBool: false)
    }
    /// Elementwise `>>` of integer tensors (`torch.bitwise_right_shift`).
    public func rightShift(_ other: Tensor) throws(TapeGradError) -> Tensor {
        try memory.bitwise(RightShiftKernel.self, self, other, name: "rshift_cpu", takesBool: false)
    }

    /// `&`; traps where ``bitwiseAnd(_:)`` throws.
    public static func & (a: Tensor, b: Tensor) -> Tensor { trapping { try a.bitwiseAnd(b) } }
    /// `|`; traps where ``bitwiseOr(_:)`` throws.
    public static func | (a: Tensor, b: Tensor) -> Tensor { trapping { try a.bitwiseOr(b) } }
    /// `^`; traps where ``bitwiseXor(_:)`` throws.
    public static func ^ (a: Tensor, b: Tensor) -> Tensor { trapping { try a.bitwiseXor(b) } }
    /// `<<`; traps where ``leftShift(_:)`` throws.
    public static func << (a: Tensor, b: Tensor) -> Tensor { trapping { try a.leftShift(b) } }
    /// `>>`; traps where ``rightShift(_:)`` throws.
    public static func >> (a: Tensor, b: Tensor) -> Tensor { trapping { try a.rightShift(b) } }
    /// `bitwiseAnd(_:)` with an integer (`t & 6`).
    public func bitwiseAnd(_ value: Int) throws(TapeGradError) -> Tensor { try bitwiseAnd(numberOperand(Number(value))) }
    /// `bitwiseOr(_:)` with an integer.
    public func bitwiseOr(_ value: Int) throws(TapeGradError) -> Tensor { try bitwiseOr(numberOperand(Number(value))) }
    /// `bitwiseXor(_:)` with an integer.
    public func bitwiseXor(_ value: Int) throws(TapeGradError) -> Tensor { try bitwiseXor(numberOperand(Number(value))) }
    /// `leftShift(_:)` by an integer (`t << 2`).
    public func leftShift(_ value: Int) throws(TapeGradError) -> Tensor { try leftShift(numberOperand(Number(value))) }
    /// `rightShift(_:)` by an integer (`t >> 2`).
    public func rightShift(_ value: Int) throws(TapeGradError) -> Tensor { try rightShift(numberOperand(Number(value))) }

    /// `&` with an integer; traps where ``bitwiseAnd(_:)`` throws.
    public static func & (a: Tensor, b: Int) -> Tensor { trapping { try a.bitwiseAnd(b) } }
    /// `|` with an integer; traps where ``bitwiseOr(_:)`` throws.
    public static func | (a: Tensor, b: Int) -> Tensor { trapping { try a.bitwiseOr(b) } }
    /// `^` with an integer; traps where ``bitwiseXor(_:)`` throws.
    public static func ^ (a: Tensor, b: Int) -> Tensor { trapping { try a.bitwiseXor(b) } }
    /// `<<` by an integer; traps where ``leftShift(_:)`` throws.
    public static func << (a: Tensor, b: Int) -> Tensor { trapping { try a.leftShift(b) } }
    /// `>>` by an integer; traps where ``rightShift(_:)`` throws.
    public static func >> (a: Tensor, b: Int) -> Tensor { trapping { try a.rightShift(b) } }

    /// Inverts every bit of an integer tensor, or every element of a bool tensor
    /// (`torch.bitwise_not`, `~`); PyTorch's error for a float tensor.
    public func bitwiseNot() throws(TapeGradError) -> Tensor {
        switch dtype.category {
        case .boolean: return logicalNot()
        case .integral: return try bitwiseXor(-1)
        case .floating: throw TapeGradError(.typeError, "~ (operator.invert) is only implemented on integer and Boolean-type tensors")
        }
    }

    /// `~`; traps for a float tensor, where ``bitwiseNot()`` throws.
    public static prefix func ~ (a: Tensor) -> Tensor { trapping { try a.bitwiseNot() } }
}

extension TensorMemory {
    /// `K` on broadcast pairs of integer (or, when `takesBool`, bool) operands; PyTorch's
    /// `NotImplementedError` (named `name`) for a float result type.
    func bitwise<K: IntegerBinaryKernel>(_: K.Type, _ a: Tensor, _ b: Tensor, name: String, takesBool: Bool) throws(TapeGradError) -> Tensor {
        let sa = slot(a).pointee, sb = slot(b).pointee
        let resultType = DType.resultType(sa.dtype, dimensioned: sa.shape.count > 0, sb.dtype, dimensioned: sb.shape.count > 0)
        guard resultType.isIntegral || (takesBool && resultType == .bool) else { throw NNChecks.notImplemented(name, resultType) }
        // Bool computes in uint8 (0s and 1s stay 0s and 1s) and returns to bool.
        let pair = try broadcastPair(a, b, integerKernel: true, bool: .uint8)
        let out = makeTensor(shape: pair.shape, dtype: pair.dtype)
        pair.dtype.withIntegerElement(BinaryMap<K>(
            a: UnsafeRawPointer(rawBase(pair.a)), stridesA: pair.stridesA, b: UnsafeRawPointer(rawBase(pair.b)), stridesB: pair.stridesB,
            shape: pair.shape, flatA: pair.flatA, flatB: pair.flatB, out: rawBase(out)))
        return resultType == .bool ? convert(out, to: .bool) : out
    }
}
