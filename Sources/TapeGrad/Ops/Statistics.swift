// Variance, standard deviation and log-sum-exp over chosen dimensions (`torch.var`,
// `torch.std`, `torch.logsumexp`), with `keepdim`. Each is one record (`VarBackward0`,
// `StdBackward0`, `LogsumexpBackward0`) whose backward is spelled with recorded ops, so it
// differentiates again. The record keeps the reduced dimensions in `dims` and, for var and
// std, the divisor `max(0, N − correction)` in `s0`.

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

enum StatisticsBackward {
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
