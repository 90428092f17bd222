import RealModule

// Gradient clipping (`torch.nn.utils.clip_grad_norm_`, `clip_grad_value_`): in place on the
// parameters' gradients, outside the graph, as PyTorch's.

/// Scales the parameters' gradients so that their total norm (of order `normType`: the norm
/// of the per-gradient norms) is at most `maxNorm`: each is multiplied by
/// `min(1, maxNorm / (total + 1e-6))`, as PyTorch's `clip_grad_norm_`. Returns the total norm
/// before clipping (0 when no parameter has a gradient). With `errorIfNonfinite`, a NaN or
/// infinite total throws PyTorch's error and changes nothing.
@discardableResult
public func clipGradNorm_(
    _ parameters: [Tensor], maxNorm: Double, normType: Double = 2, errorIfNonfinite: Bool = false
) throws(TapeGradError) -> Tensor {
    try noGrad { () throws(TapeGradError) -> Tensor in
        var total = 0.0
        var dtype: DType? = nil
        // Index loops: `for p in parameters` allocates an iterator in unoptimised builds.
        for i in 0..<parameters.count {
            guard let g = parameters[i].grad else { continue }
            dtype = dtype ?? g.dtype
            let n = gradientNorm(g, order: normType)
            total = normType == .infinity ? Swift.max(total, n) : total + Double.pow(n, normType)
        }
        guard let dtype else { return memory.scalar(0, dtype: .float32) }
        if normType != .infinity { total = Double.pow(total, 1 / normType) }
        if errorIfNonfinite && !total.isFinite {
            throw .runtime("The total norm of order \(normType) for gradients from `parameters` is non-finite, so it cannot be clipped. To disable this error and scale the gradients by the non-finite norm anyway, set `error_if_nonfinite=False`")
        }
        let scale = Swift.min(1, maxNorm / (total + 1e-6))
        for i in 0..<parameters.count {
            guard let g = parameters[i].grad else { continue }
            _ = try g.mul_(scale)
        }
        return memory.scalar(total, dtype: dtype)
    }
}

/// Clamps every gradient element of the parameters to `[-clipValue, clipValue]`
/// (`torch.nn.utils.clip_grad_value_`).
public func clipGradValue_(_ parameters: [Tensor], clipValue: Double) throws(TapeGradError) {
    try noGrad { () throws(TapeGradError) in
        for i in 0..<parameters.count {
            guard let g = parameters[i].grad else { continue }
            _ = try g.clamp_(min: -clipValue, max: clipValue)
        }
    }
}

/// The norm of order `order` of all of `g`'s elements, in double precision: the largest
/// magnitude for infinity, the count of nonzeros for 0, else `(Σ|g|^p)^(1/p)`; one pass over
/// the elements, no tensor made (a float16 or bfloat16 gradient is read through a float32 copy).
private func gradientNorm(_ g: Tensor, order: Double) -> Double {
    let e = engine
    let values = e.memory.kernelOperand(g)
    let total = values.dtype.withFloatElement(NormSum(x: UnsafeRawPointer(e.pointee.rawBase(values)), count: g.count, order: order))
    return order == .infinity || order == 0 || order == 1 ? total : Double.pow(total, 1 / order)
}

/// `max |x|` (order ∞), the nonzero count (0), or `Σ|x|^p`, accumulated in double.
private struct NormSum: FloatComputation {
    let x: UnsafeRawPointer, count: Int, order: Double

    func run<T: FloatElement>(_: T.Type) -> Double {
        let x = x.assumingMemoryBound(to: T.self)
        var total = 0.0
        switch order {
        case .infinity: for i in 0..<count { let m = Swift.abs(Double(x[i])); if m > total || m.isNaN { total = m } }
        case 0: for i in 0..<count where x[i] != 0 { total += 1 }
        case 1: for i in 0..<count { total += Swift.abs(Double(x[i])) }
        case 2: for i in 0..<count { let v = Double(x[i]); total += v * v }
        default: for i in 0..<count { total += Double.pow(Swift.abs(Double(x[i])), order) }
        }
        return total
    }
}
