// `unique`: sorted distinct values. Its output is recorded (it requires grad when the input
// does) but, as in PyTorch, it has no derivative: backward through it fails.

extension Tensor {
    /// The distinct values, flattened, in ascending order (`torch.unique`).
    public func unique(sorted: Bool = true) -> Tensor {
        unique(sorted: sorted, returnInverse: false, returnCounts: false).values
    }

    /// The distinct values, flattened, in ascending order; optionally the index of each input
    /// element's value among them (int64, shaped like the input) and how often each occurs
    /// (int64). Integer values are compared exactly.
    public func unique(sorted: Bool = true, returnInverse: Bool, returnCounts: Bool)
        -> (values: Tensor, inverse: Tensor?, counts: Tensor?)
    {
        let (out, positions, tally) = dtype.isFloatingPoint
            ? Self.distinct(scalars()) { (v) throws(TapeGradError) in try Tensor(values: v, shape: [v.count], dtype: dtype) }
            : Self.distinct(integerScalars()) { (v) throws(TapeGradError) in try Tensor(integers: v, shape: [v.count], dtype: dtype) }
        let e = engine
        _ = e.pointee.recordIfNeeded(Record(.unique, result: out, a: self))
        let inverse = returnInverse ? trapping { try Tensor(integers: positions, shape: shape) } : nil
        let counts = returnCounts ? trapping { try Tensor(integers: tally, shape: [tally.count]) } : nil
        return (out, inverse, counts)
    }

    /// The sorted distinct values as a tensor (made by `make`), each value's position among
    /// them, and how often each occurs.
    private static func distinct<T: Hashable & Comparable>(
        _ values: [T], _ make: ([T]) throws(TapeGradError) -> Tensor
    ) -> (Tensor, [Int64], [Int64]) {
        let sorted = Array(Set(values)).sorted()
        var position: [T: Int] = [:]
        for (i, v) in sorted.enumerated() { position[v] = i }
        var tally = [Int64](repeating: 0, count: sorted.count)
        let positions = values.map { v -> Int64 in
            let p = position[v]!
            tally[p] += 1
            return Int64(p)
        }
        return (trapping { try make(sorted) }, positions, tally)
    }
}

enum UniqueBackward {
    static func unique(_ r: Record, _ g: Tensor) throws(TapeGradError) -> Gradients {
        throw TapeGradError(.notImplementedError, "the derivative for 'unique' is not implemented.")
    }
}
