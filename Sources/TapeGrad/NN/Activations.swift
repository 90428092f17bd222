import RealModule

// Softmax and log-softmax along one dimension: kernels, forward and backward together.

extension TensorMemory {
    /// Softmax (or log-softmax) of `x` along `dim` into a new contiguous tensor (no record).
    func softmax(_ x: Tensor, dim: Int, log: Bool, safe: Bool = false) -> Tensor {
        let dtype = slot(x).pointee.dtype
        let x = contiguousOperand(floatOperand(x))
        let s = slot(x).pointee
        let out = makeTensor(shape: s.shape, dtype: s.dtype)
        let (outer, n, inner) = Shapes.split(s.shape, at: dim)
        s.dtype.withFloatElement(SoftmaxRows(y: UnsafeRawPointer(rawBase(x)), g: nil, out: rawBase(out), outer: outer, n: n, inner: inner, log: log, safe: safe))
        return rounded(out, to: dtype)
    }

    /// The gradient of softmax (`y·(g − Σ g·y)`) or log-softmax (`g − exp(y)·Σ g`) along a
    /// dimension, from the result `y` and the upstream gradient `g` (no record).
    func softmaxBackward(_ y: Tensor, _ g: Tensor, dim: Int, log: Bool) -> Tensor {
        let dtype = slot(y).pointee.dtype
        let y = floatOperand(y), g = contiguousOperand(floatOperand(g))
        let s = slot(y).pointee
        let out = makeTensor(shape: s.shape, dtype: s.dtype)
        let (outer, n, inner) = Shapes.split(s.shape, at: dim)
        s.dtype.withFloatElement(SoftmaxRows(y: UnsafeRawPointer(rawBase(y)), g: UnsafeRawPointer(rawBase(g)), out: rawBase(out),
                                             outer: outer, n: n, inner: inner, log: log, safe: false))
        return rounded(out, to: dtype)
    }

}

extension Tensor {
    /// Softmax along `dim`: `exp(x) / Σ exp(x)` (`torch.softmax(x, dim)`), computed stably.
    public func softmax(dim: Int) throws(TapeGradError) -> Tensor {
        try softmaxOp(.softmax, dim: dim)
    }

    /// Log-softmax along `dim`: `x − log Σ exp(x)` (`torch.log_softmax(x, dim)`), computed stably.
    public func logSoftmax(dim: Int) throws(TapeGradError) -> Tensor {
        try softmaxOp(.logSoftmax, dim: dim)
    }

    /// Softmax along `dim` that gives zeros for a row whose elements are all −∞
    /// (`torch._safe_softmax`, which PyTorch's attention composite uses).
    func safeSoftmax(dim: Int) throws(TapeGradError) -> Tensor {
        try softmaxOp(.safeSoftmax, dim: dim)
    }

    private func softmaxOp(_ op: OpCode, dim: Int) throws(TapeGradError) -> Tensor {
        let d = try Shapes.normalize(dim: dim, rank: rank)
        if !dtype.isFloatingPoint {
            // PyTorch's kernels have no bool loop; without elements they are not reached.
            if info.shape.product == 0 { return Tensor.zeros(info.shape.array, dtype: dtype) }
            let name = op == .logSoftmax ? "log_softmax" : "softmax"
            throw NNChecks.notImplemented(d == Swift.max(rank - 1, 0) ? "\(name)_lastdim_kernel_impl" : "\(name)_kernel_impl", dtype)
        }
        let e = engine
        let out = e.memory.softmax(self, dim: info.shape.count == 0 ? 0 : d, log: op == .logSoftmax, safe: op == .safeSoftmax)
        var record = Record(op, result: out, a: self)
        record.i0 = Int16(d)
        return e.pointee.recordIfNeeded(record)
    }
}

/// Softmax along `dim` (`torch.nn.functional.softmax(input, dim)`).
public func softmax(_ input: Tensor, dim: Int) throws(TapeGradError) -> Tensor { try input.softmax(dim: dim) }

/// Log-softmax along `dim` (`torch.nn.functional.log_softmax(input, dim)`).
public func logSoftmax(_ input: Tensor, dim: Int) throws(TapeGradError) -> Tensor { try input.logSoftmax(dim: dim) }

enum ActivationBackward {
    /// Softmax: `y·(g − Σ g·y)`; with `createGraph`, spelled with recorded ops.
    static func softmax(_ r: Record, _ g: Tensor) throws(TapeGradError) -> Gradients {
        let dim = Int(r.i0)
        if engine.pointee.gradEnabled && r.result.rank > 0 {
            let y = r.result
            return Gradients(a: try y.mul(try g.sub(try g.mul(y).sum(dim: dim, keepDim: true))))
        }
        return Gradients(a: memory.softmaxBackward(r.result, g, dim: dim, log: false))
    }

    /// Log-softmax: `g − exp(y)·Σ g`; with `createGraph`, spelled with recorded ops.
    static func logSoftmax(_ r: Record, _ g: Tensor) throws(TapeGradError) -> Gradients {
        let dim = Int(r.i0)
        if engine.pointee.gradEnabled && r.result.rank > 0 {
            return Gradients(a: try g.sub(try r.result.exp().mul(try g.sum(dim: dim, keepDim: true))))
        }
        return Gradients(a: memory.softmaxBackward(r.result, g, dim: dim, log: true))
    }
}

/// Softmax or log-softmax along rows of `n` (`g` nil), or its backward from the result `y`
/// and the upstream gradient `g`, in the operands' element type.
private struct SoftmaxRows: FloatComputation {
    let y: UnsafeRawPointer, g: UnsafeRawPointer?, out: UnsafeMutableRawPointer
    let outer: Int, n: Int, inner: Int, log: Bool, safe: Bool

    func run<T: FloatElement>(_: T.Type) {
        if let g {
            Kernels.softmaxBackward(y.assumingMemoryBound(to: T.self), g.assumingMemoryBound(to: T.self), out.assumingMemoryBound(to: T.self),
                                   outer, n, inner, log)
        } else {
            Kernels.softmax(y.assumingMemoryBound(to: T.self), out.assumingMemoryBound(to: T.self), outer, n, inner, log, safe: safe)
        }
    }
}

extension Shapes {
    /// The sizes before, at and after `dim`, for kernels that work along one dimension.
    static func split(_ shape: Dims, at dim: Int) -> (outer: Int, n: Int, inner: Int) {
        if shape.count == 0 { return (1, 1, 1) }
        var outer = 1, inner = 1
        for d in 0..<dim { outer *= shape[d] }
        for d in (dim + 1)..<shape.count { inner *= shape[d] }
        return (outer, shape[dim], inner)
    }
}

extension Kernels {
    static func softmax<T: FloatElement>(
        _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ outer: Int, _ n: Int, _ inner: Int, _ log: Bool, safe: Bool = false
    ) {
        if inner == 1 { return softmaxRows(x, y, outer, n, log, safe: safe) }
        for o in 0..<outer {
            for i in 0..<inner {
                let start = o * n * inner + i
                var best = -T.infinity
                for k in 0..<n { let v = x[start + k * inner]; if v > best || v.isNaN { best = v } }
                if safe && best == -T.infinity {
                    for k in 0..<n { y[start + k * inner] = 0 }
                    continue
                }
                var total: T = 0
                for k in 0..<n {
                    let e = T.vectorExp(x[start + k * inner] - best)
                    if !log { y[start + k * inner] = e }
                    total += e
                }
                if log {
                    let shift = best + T.log(total)
                    for k in 0..<n { y[start + k * inner] = x[start + k * inner] - shift }
                } else {
                    let scale = 1 / total
                    for k in 0..<n { y[start + k * inner] *= scale }
                }
            }
        }
    }

    /// `softmax` along contiguous rows (the last dimension): unit-stride loops that vectorise.
    static func softmaxRows<T: FloatElement>(
        _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ rows: Int, _ n: Int, _ log: Bool, safe: Bool
    ) {
        for r in 0..<rows {
            let xr = x + r * n, yr = y + r * n
            var best = -T.infinity
            for k in 0..<n { let v = xr[k]; if v > best || v.isNaN { best = v } }
            if safe && best == -T.infinity {
                yr.update(repeating: 0, count: n)
                continue
            }
            // The exponentials in a loop of their own (it vectorises), then their sum in order.
            for k in 0..<n { yr[k] = T.vectorExp(xr[k] - best) }
            var total: T = 0
            for k in 0..<n { total += yr[k] }
            if log {
                let shift = best + T.log(total)
                for k in 0..<n { yr[k] = xr[k] - shift }
            } else {
                let scale = 1 / total
                for k in 0..<n { yr[k] *= scale }
            }
        }
    }

    static func softmaxBackward<T: FloatElement>(
        _ y: UnsafePointer<T>, _ g: UnsafePointer<T>, _ out: UnsafeMutablePointer<T>,
        _ outer: Int, _ n: Int, _ inner: Int, _ log: Bool
    ) {
        if inner == 1 {
            for r in 0..<outer {
                let yr = y + r * n, gr = g + r * n, o = out + r * n
                var total: T = 0
                if log {
                    for k in 0..<n { total += gr[k] }
                    for k in 0..<n { o[k] = gr[k] - T.vectorExp(yr[k]) * total }
                } else {
                    for k in 0..<n { total += gr[k] * yr[k] }
                    for k in 0..<n { o[k] = yr[k] * (gr[k] - total) }
                }
            }
            return
        }
        for o in 0..<outer {
            for i in 0..<inner {
                let start = o * n * inner + i
                var total: T = 0
                if log {
                    for k in 0..<n { total += g[start + k * inner] }
                    for k in 0..<n { let j = start + k * inner; out[j] = g[j] - T.vectorExp(y[j]) * total }
                } else {
                    for k in 0..<n { let j = start + k * inner; total += g[j] * y[j] }
                    for k in 0..<n { let j = start + k * inner; out[j] = y[j] * (g[j] - total) }
                }
            }
        }
    }
}
