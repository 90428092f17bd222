// Where a tensor is nonzero, and how often each integer occurs: `nonzero` and `bincount`.
// Neither is differentiable (their results are integers, or sums keyed by integers).

extension Tensor {
    /// The positions of the nonzero elements (NaN counts as nonzero), one row of `rank`
    /// int64 coordinates each, in row-major order (`torch.nonzero`).
    public func nonzero() -> Tensor {
        let s = info
        let flags = scalars().map { $0 != 0 }
        let found = flags.indices.filter { flags[$0] }
        var coordinates: [Int64] = []
        coordinates.reserveCapacity(found.count * s.shape.count)
        let strides = s.shape.contiguousStrides
        for flat in found {
            var rest = flat
            for d in 0..<s.shape.count {
                coordinates.append(Int64(rest / strides[d]))
                rest %= strides[d]
            }
        }
        return trapping { try Tensor(integers: coordinates, shape: [found.count, s.shape.count]) }
    }

    /// How often each value of a 1-D tensor of non-negative integers occurs, at least
    /// `minLength` counts (`torch.bincount`): int64, or with `weights` (one per element) their
    /// sums, in the weights' float type (float64 for integer weights).
    public func bincount(weights: Tensor? = nil, minLength: Int = 0) throws(TapeGradError) -> Tensor {
        guard dtype.isIntegral else { throw NNChecks.notImplemented("bincount_cpu", dtype) }
        guard minLength >= 0 else { throw .runtime("minlength should be >= 0") }
        let values = integerScalars()
        guard rank == 1, values.allSatisfy({ $0 >= 0 }) else {
            throw .runtime("bincount only supports 1-d non-negative integral inputs.")
        }
        if let weights, weights.rank != 1 || weights.count != count {
            throw .runtime("weights should be 1-d and have the same length as input")
        }
        let length = Swift.max(minLength, values.max().map { Int($0) + 1 } ?? 0)
        guard let weights else {
            var counts = [Int64](repeating: 0, count: length)
            for v in values { counts[Int(v)] += 1 }
            return try Tensor(integers: counts, shape: [length])
        }
        var sums = [Double](repeating: 0, count: length)
        for (v, w) in zip(values, weights.scalars()) { sums[Int(v)] += w }
        return try Tensor(values: sums, shape: [length], dtype: weights.dtype.isFloatingPoint ? weights.dtype : .float64)
    }
}
