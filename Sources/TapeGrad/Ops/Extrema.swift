// The elementwise larger and smaller of two tensors (`torch.maximum`, `torch.minimum`), NaN
// propagating, with the gradient split evenly where the two are equal; and `clamp` between
// tensor bounds, which is `minimum(maximum(x, min), max)` with its own gradient rule.

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
        let out = try e.memory.mapBinary(MaximumKernel.self, self, other)
        return e.pointee.recordIfNeeded(Record(.maximum, result: out, a: self, b: other))
    }

    /// The smaller of each pair of elements, with broadcasting (`torch.minimum`); NaN wins.
    public func minimum(_ other: Tensor) throws(TapeGradError) -> Tensor {
        let e = engine
        let out = try e.memory.mapBinary(MinimumKernel.self, self, other)
        return e.pointee.recordIfNeeded(Record(.minimum, result: out, a: self, b: other))
    }

    /// Limits every element to bounds given as tensors, all three broadcast together
    /// (`torch.clamp(x, min=lo, max=hi)`): `minimum(maximum(x, min), max)`, so a NaN anywhere
    /// gives NaN and `min > max` gives `max`. Either bound may be omitted; the result type is
    /// PyTorch's of the three. Node `ClampBackward0` (see `ExtremaBackward.clamp`).
    public func clamp(min: Tensor? = nil, max: Tensor? = nil) throws(TapeGradError) -> Tensor {
        guard min != nil || max != nil else { throw .runtime("torch.clamp: At least one of 'min' or 'max' must not be None") }
        var resultType = DType.ResultType()
        resultType.add(tensor: dtype, dimensioned: rank > 0)
        if let min { resultType.add(tensor: min.dtype, dimensioned: min.rank > 0) }
        if let max { resultType.add(tensor: max.dtype, dimensioned: max.rank > 0) }
        let dtype = resultType.result
        let out = try noGrad { () throws(TapeGradError) -> Tensor in
            var clamped = self.to(dtype)
            if let min { clamped = try clamped.maximum(min.to(dtype)) }
            if let max { clamped = try clamped.minimum(max.to(dtype)) }
            return clamped
        }
        var record = Record(.clampTensor, result: out, a: self, b: min ?? .null)
        record.c = max ?? .null
        return engine.pointee.recordIfNeeded(record)
    }
}

enum ExtremaBackward {
    /// The gradient goes to the larger operand, half to each where they are equal.
    static func maximum(_ r: Record, _ g: Tensor) -> Gradients {
        trapping { () throws(TapeGradError) in try split(r.a, r.needsA, r.b, r.needsB, g, aWins: { a, b in a > b }) }
    }

    /// The gradient goes to the smaller operand, half to each where they are equal.
    static func minimum(_ r: Record, _ g: Tensor) -> Gradients {
        trapping { () throws(TapeGradError) in try split(r.a, r.needsA, r.b, r.needsB, g, aWins: { a, b in a < b }) }
    }

    /// The winner of each pair gets the gradient, each half where they are equal, both all of
    /// it where neither wins nor ties (a NaN).
    private static func split(
        _ a: Tensor, _ needsA: Bool, _ b: Tensor, _ needsB: Bool, _ g: Tensor, aWins: (Tensor, Tensor) -> Tensor
    ) throws(TapeGradError) -> (a: Tensor, b: Tensor) {
        let shared = try Tensor.where(try a.eq(b), g * 0.5, g)
        return (needsA ? try shared.maskedFill(aWins(b, a), 0).sumTo(shapeOf: a) : .null,
                needsB ? try shared.maskedFill(aWins(a, b), 0).sumTo(shapeOf: b) : .null)
    }

    private static func split(
        _ a: Tensor, _ needsA: Bool, _ b: Tensor, _ needsB: Bool, _ g: Tensor, aWins: (Tensor, Tensor) -> Tensor
    ) throws(TapeGradError) -> Gradients {
        let (ga, gb): (Tensor, Tensor) = try split(a, needsA, b, needsB, g, aWins: aWins)
        return Gradients(a: ga, b: gb)
    }

    /// `ClampBackward0`, PyTorch 2.15's rule. With one bound it is maximum's (or minimum's)
    /// gradient. With both, for `x` against `[lo, hi]`: inside, `x` gets the gradient; at a
    /// bound of a proper interval (`lo < hi`) `x` and that bound get half each; below `lo`,
    /// `lo` gets it, above `hi`, `hi`, and `hi` everywhere when `lo > hi`; where `lo == hi`
    /// meets `x`, `x` gets it all. A NaN `x` sends its gradient to `x` (and to `hi` when
    /// `lo > hi`); a NaN bound counts as no bound for `x` and gets nothing.
    static func clamp(_ r: Record, _ g: Tensor) -> Gradients {
        trapping { () throws(TapeGradError) -> Gradients in
            let x = r.a, lo = r.b, hi = r.c
            if hi.isNull { return try split(x, r.needsA, lo, r.needsB, g, aWins: { a, b in a > b }) }
            if lo.isNull {
                let (gx, gh): (Tensor, Tensor) = try split(x, r.needsA, hi, r.needsC, g, aWins: { a, b in a < b })
                return Gradients(a: gx, c: gh)
            }
            let proper = try lo.lt(hi), ordered = try lo.le(hi)
            let atLow = try x.eq(lo) & proper, atHigh = try x.eq(hi) & proper
            var grads = Gradients()
            if r.needsA {
                let inside = try x.ne(x) | ((try x.ge(lo) | lo.ne(lo)) & (try x.le(hi) | hi.ne(hi)))
                grads.a = try Tensor.where(atLow | atHigh, g * 0.5, g).maskedFill(~inside, 0).sumTo(shapeOf: x)
            }
            if r.needsB {
                let below = try x.lt(lo) & ordered
                grads.b = try Tensor.where(atLow, g * 0.5, g).maskedFill(~(below | atLow), 0).sumTo(shapeOf: lo)
            }
            if r.needsC {
                let above = (try x.gt(hi) & ordered) | (try lo.gt(hi))
                grads.c = try Tensor.where(atHigh, g * 0.5, g).maskedFill(~(above | atHigh), 0).sumTo(shapeOf: hi)
            }
            return grads
        }
    }
}
