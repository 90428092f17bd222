// The elementwise larger and smaller of two tensors (`torch.maximum`, `torch.minimum`), NaN
// propagating, with the gradient split evenly where the two are equal.

enum MaximumKernel: BinaryKernel, IntegerBinaryKernel {
    static func apply<T: FloatElement>(_ a: T, _ b: T) -> T { a.isNaN ? a : (b.isNaN ? b : Swift.max(a, b)) }
    static func apply<T: IntegerElement>(_ a: T, _ b: T) -> T { Swift.max(a, b) }
    static var keepsBool: Bool { true }
}

enum MinimumKernel: BinaryKernel, IntegerBinaryKernel {
    static func apply<T: FloatElement>(_ a: T, _ b: T) -> T { a.isNaN ? a : (b.isNaN ? b : Swift.min(a, b)) }
    static func apply<T: IntegerElement>(_ a: T, _ b: T) -> T { Swift.min(a, b) }
    static var keepsBool: Bool { true }
}

extension Tensor {
    /// The larger of each pair of elements, with broadcasting (`torch.maximum`); NaN wins.
    public func maximum(_ other: Tensor) throws(TapeGradError) -> Tensor {
        let e = engine
        let out = try e.pointee.mapBinary(MaximumKernel.self, self, other)
        return e.pointee.recordIfNeeded(Record(.maximum, result: out, a: self, b: other))
    }

    /// The smaller of each pair of elements, with broadcasting (`torch.minimum`); NaN wins.
    public func minimum(_ other: Tensor) throws(TapeGradError) -> Tensor {
        let e = engine
        let out = try e.pointee.mapBinary(MinimumKernel.self, self, other)
        return e.pointee.recordIfNeeded(Record(.minimum, result: out, a: self, b: other))
    }
}

enum ExtremaBackward {
    /// The gradient goes to the larger operand, half to each where they are equal.
    static func maximum(_ r: Record, _ g: Tensor) -> Gradients { split(r, g, aWins: { a, b in a > b }) }

    /// The gradient goes to the smaller operand, half to each where they are equal.
    static func minimum(_ r: Record, _ g: Tensor) -> Gradients { split(r, g, aWins: { a, b in a < b }) }

    private static func split(_ r: Record, _ g: Tensor, aWins: (Tensor, Tensor) -> Tensor) -> Gradients {
        trapping { () throws(TapeGradError) -> Gradients in
            let shared = try Tensor.where(try r.a.eq(r.b), g * 0.5, g)
            return Gradients(a: r.needsA ? try shared.maskedFill(aWins(r.b, r.a), 0).sumTo(shapeOf: r.a) : .null,
                             b: r.needsB ? try shared.maskedFill(aWins(r.a, r.b), 0).sumTo(shapeOf: r.b) : .null)
        }
    }
}
