// Variance, standard deviation, log-sum-exp and vector norms over chosen dimensions
// (`torch.var`, `torch.std`, `torch.logsumexp`, `torch.linalg.vector_norm`), with `keepdim`.
// Each is one record (`VarBackward0`, `StdBackward0`, `LogsumexpBackward0`,
// `LinalgVectorNormBackward0`) whose backward is spelled with recorded ops, so it
// differentiates again. The record keeps the reduced dimensions in `dims` and, for var and
// std, the divisor `max(0, N − correction)` in `s0`; for a norm, its order.

extension Tensor {
    /// The variance over `dims` (every dimension when empty), dividing by `N − correction`
    /// (`torch.var`; `correction: 0` is the biased variance). Float tensors only.
    public func `var`(dims: [Int] = [], correction: Int = 1, keepDim: Bool = false) throws(TapeGradError) -> Tensor {
        try spread(.variance, dims: dims, correction: correction, keepDim: keepDim)
    }

    /// The variance over one dimension (`tensor.var(dim, correction=, keepdim=)`).
    public func `var`(dim: Int, correction: Int = 1, keepDim: Bool = false) throws(TapeGradError) -> Tensor {
        try spread(.variance, dims: [dim], correction: correction, keepDim: keepDim)
    }

    /// The standard deviation over `dims` (every dimension when empty), `√var` (`torch.std`).
    public func std(dims: [Int] = [], correction: Int = 1, keepDim: Bool = false) throws(TapeGradError) -> Tensor {
        try spread(.standardDeviation, dims: dims, correction: correction, keepDim: keepDim)
    }

    /// The standard deviation over one dimension (`tensor.std(dim, correction=, keepdim=)`).
    public func std(dim: Int, correction: Int = 1, keepDim: Bool = false) throws(TapeGradError) -> Tensor {
        try spread(.standardDeviation, dims: [dim], correction: correction, keepDim: keepDim)
    }

    /// `var` or `std`: squared deviations from the mean, summed and divided by
    /// `max(0, N − correction)` (PyTorch's warning when that is not positive).
    private func spread(_ op: OpCode, dims: [Int], correction: Int, keepDim: Bool) throws(TapeGradError) -> Tensor {
        guard dtype.isFloatingPoint else {
            throw TapeGradError(.notImplementedError, "std and var only support floating point and complex dtypes")
        }
        let mask = try Shapes.mask(dims: dims, rank: rank)
        let count = info.shape.reducedCount(mask)
        if count - correction <= 0 {
            Warnings.warn("var(): degrees of freedom is <= 0. Correction should be strictly less than the reduction factor (input numel divided by output numel).")
        }
        let divisor = Double(Swift.max(0, count - correction))
        let out = noGrad { () -> Tensor in
            let centered = self - reduction(.meanDims, mask: mask, keepDim: true, kind: .sum, mean: true)
            let variance = (centered * centered).reduction(.sumDims, mask: mask, keepDim: keepDim, kind: .sum, mean: false) / divisor
            return op == .standardDeviation ? variance.sqrt() : variance
        }
        var record = Record(op, result: out, a: self)
        record.dims = mask
        if keepDim { record.flags.insert(.keepDim) }
        record.s0 = divisor
        return engine.pointee.recordIfNeeded(record)
    }

    /// `log Σ exp(x)` over `dims`, computed as `m + log Σ exp(x − m)` with `m` the maximum (0
    /// where it is infinite) (`torch.logsumexp`). Integers and bool give float32.
    public func logsumexp(dims: [Int], keepDim: Bool = false) throws(TapeGradError) -> Tensor {
        let mask = try Shapes.mask(dims: dims, rank: rank)
        let x = dtype.isFloatingPoint ? self : to(.float32)
        let out = try noGrad { () throws(TapeGradError) -> Tensor in
            let peak = x.reduction(.amax, mask: mask, keepDim: true, kind: .max, mean: false)
            let shift = try Tensor.where(peak.abs() == Double.infinity, 0, peak)
            var total = (x - shift).exp().reduction(.sumDims, mask: mask, keepDim: true, kind: .sum, mean: false).log() + shift
            if !keepDim { total = total.reshaped(total.info.shape.dropping(reduced: mask)) }
            return total
        }
        var record = Record(.logsumexp, result: out, a: x)
        record.dims = mask
        if keepDim { record.flags.insert(.keepDim) }
        return engine.pointee.recordIfNeeded(record)
    }

    /// `log Σ exp(x)` over one dimension (`tensor.logsumexp(dim, keepdim=)`).
    public func logsumexp(dim: Int, keepDim: Bool = false) throws(TapeGradError) -> Tensor {
        try logsumexp(dims: [dim], keepDim: keepDim)
    }
}

extension Tensor {
    /// The vector norm of order `order` over `dims` (every dimension when empty)
    /// (`torch.linalg.vector_norm`): `(Σ|x|^p)^(1/p)`, the largest magnitude for `.infinity`,
    /// the smallest for `-.infinity`, the count of nonzeros for 0. Float tensors only;
    /// PyTorch's errors for an order without identity on empty dimensions.
    public func vectorNorm(order: Double = 2, dims: [Int] = [], keepDim: Bool = false) throws(TapeGradError) -> Tensor {
        guard dtype.isFloatingPoint else {
            throw TapeGradError(.notImplementedError, "linalg.vector_norm: Expected a floating point or complex tensor as input. Got \(dtype.scalarTypeName)")
        }
        let mask = try Shapes.mask(dims: dims, rank: rank)
        let shape = info.shape
        if order < 0 || order == .infinity {
            let printed = order.messageText
            if dims.isEmpty && shape.product == 0 {
                throw .runtime("linalg.vector_norm cannot compute the \(printed) norm on an empty tensor because the operation does not have an identity")
            }
            // (PyTorch names the dimension as it was given, and runs "dimension" into "because".)
            // (The dimensions are valid: `Shapes.mask` checked them; a 0-dim tensor has none empty.)
            for i in 0..<dims.count where shape.count > 0 && shape[dims[i] < 0 ? dims[i] + shape.count : dims[i]] == 0 {
                throw .runtime("linalg.vector_norm cannot compute the \(printed) norm on the dimension \(dims[i])because this dimension is empty and the operation does not have an identity")
            }
        }
        let out = try noGrad { () throws(TapeGradError) -> Tensor in
            let magnitude = try self.abs()
            func sum(_ t: Tensor) -> Tensor { t.reduction(.sumDims, mask: mask, keepDim: keepDim, kind: .sum, mean: false) }
            switch order {
            case .infinity: return magnitude.reduction(.amax, mask: mask, keepDim: keepDim, kind: .max, mean: false)
            case -.infinity: return -(-magnitude).reduction(.amax, mask: mask, keepDim: keepDim, kind: .max, mean: false)
            case 0: return sum((self != 0).to(dtype))
            case 1: return sum(magnitude)
            case 2: return sum(self * self).sqrt()
            default: return sum(magnitude.pow(order)).pow(1 / order)
            }
        }
        var record = Record(.vectorNorm, result: out, a: self)
        record.dims = mask
        if keepDim { record.flags.insert(.keepDim) }
        record.s0 = order
        return engine.pointee.recordIfNeeded(record)
    }

    /// The `p`-norm over `dims` (`torch.norm(x, p, dim, keepdim)` for a number `p`: the
    /// vector norm, node `LinalgVectorNormBackward0`).
    public func norm(p: Double = 2, dims: [Int] = [], keepDim: Bool = false) throws(TapeGradError) -> Tensor {
        try vectorNorm(order: p, dims: dims, keepDim: keepDim)
    }
}

/// `torch.linalg.vector_norm(x, ord, dim, keepdim)`.
public func vectorNorm(_ x: Tensor, order: Double = 2, dims: [Int] = [], keepDim: Bool = false) throws(TapeGradError) -> Tensor {
    try x.vectorNorm(order: order, dims: dims, keepDim: keepDim)
}

enum StatisticsBackward {
    /// PyTorch's `linalg_vector_norm_backward`: zero for order 0; `sign(x)·g` for 1;
    /// `x·g/‖x‖` (0 where the norm is 0) for 2; for ±∞ the gradient split among the elements
    /// whose magnitude is the norm; else `x·|x|^(p−2)·g/‖x‖^(p−1)`.
    static func vectorNorm(_ r: Record, _ g: Tensor) throws(TapeGradError) -> Gradients {
        let x = r.a, p = r.s0
        let norm = ReductionBackward.unreduce(r, r.result), grad = ReductionBackward.unreduce(r, g)
        switch p {
        case 0: return Gradients(a: x * 0)
        case 1: return Gradients(a: x.sign() * grad)
        case 2: return Gradients(a: x * (try (grad / norm).maskedFill(norm == 0, 0)))
        case .infinity, -.infinity:
            // |x| = the norm, or both NaN (the two cannot hold at once: a sum, not an or).
            let isExtreme = (try x.abs() == norm).to(x.dtype) + (x != x).to(x.dtype) * (norm != norm).to(x.dtype)
            let count = isExtreme.reduction(.sumDims, mask: r.dims, keepDim: true, kind: .sum, mean: false).expanded(to: x.info.shape)
            return Gradients(a: x.sign() * isExtreme * (grad / count))
        default:
            let scaled = p < 1 ? try (x.sign() * x.abs().pow(p - 1)).maskedFill(x == 0, 0) : x * (try x.abs().pow(p - 2))
            return Gradients(a: scaled * (try (grad / norm.pow(p - 1)).maskedFill(norm == 0, 0)))
        }
    }

    /// `2·(x − mean)/divisor` times the gradient. With no degrees of freedom (divisor 0) it is
    /// NaN, a constant of `x` (PyTorch's gradient then has no graph of its own).
    static func variance(_ r: Record, _ g: Tensor) -> Gradients {
        if r.s0 == 0 { return Gradients(a: ReductionBackward.unreduce(r, g) * Double.nan) }
        return Gradients(a: ReductionBackward.unreduce(r, g) * centered(r) * (2 / r.s0))
    }

    /// `(x − mean)/(divisor·std)` times the gradient (recorded even with divisor 0, where
    /// PyTorch's is too: its second derivative is NaN there, not zero).
    static func standardDeviation(_ r: Record, _ g: Tensor) -> Gradients {
        Gradients(a: ReductionBackward.unreduce(r, g) * centered(r) / (ReductionBackward.unreduce(r, r.result) * r.s0))
    }

    /// `exp(x − logsumexp)` times the gradient.
    static func logsumexp(_ r: Record, _ g: Tensor) -> Gradients {
        Gradients(a: ReductionBackward.unreduce(r, g) * (r.a - ReductionBackward.unreduce(r, r.result)).exp())
    }

    /// The input minus its mean over the record's dimensions (recorded).
    private static func centered(_ r: Record) -> Tensor {
        r.a - r.a.reduction(.meanDims, mask: r.dims, keepDim: true, kind: .sum, mean: true)
    }
}
