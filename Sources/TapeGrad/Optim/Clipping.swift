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
            let n = try vectorNorm(g, order: normType)
            total = normType == .infinity ? Swift.max(total, n) : total + Double.pow(n, normType)
        }
        guard let dtype else { return Tensor(0.0) }
        if normType != .infinity { total = Double.pow(total, 1 / normType) }
        if errorIfNonfinite && !total.isFinite {
            throw .runtime("The total norm of order \(normType) for gradients from `parameters` is non-finite, so it cannot be clipped. To disable this error and scale the gradients by the non-finite norm anyway, set `error_if_nonfinite=False`")
        }
        let scale = Swift.min(1, maxNorm / (total + 1e-6))
        for i in 0..<parameters.count {
            guard let g = parameters[i].grad else { continue }
            _ = try g.mul_(scale)
        }
        return Tensor(total, dtype: dtype)
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
/// magnitude for infinity, the count of nonzeros for 0, else `(Σ|g|^p)^(1/p)`.
private func vectorNorm(_ g: Tensor, order: Double) throws(TapeGradError) -> Double {
    let magnitudes = try g.abs()
    switch order {
    case .infinity: return g.count == 0 ? 0 : try magnitudes.max().item()
    case 2: return try (magnitudes * magnitudes).sum().item().squareRoot()
    case 1: return try magnitudes.sum().item()
    default: return Double.pow(try magnitudes.pow(order).sum().item(), 1 / order)
    }
}
