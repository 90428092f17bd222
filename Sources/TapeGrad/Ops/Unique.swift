// `unique`: sorted distinct values. Its output is recorded (it requires grad when the input
// does) but, as in PyTorch, it has no derivative: backward through it fails.

extension Tensor {
    /// The distinct values, flattened, in ascending order (`torch.unique`).
    public func unique(sorted: Bool = true) -> Tensor {
        unique(sorted: sorted, returnInverse: false, returnCounts: false).values
    }

    /// The distinct values, flattened, in ascending order; optionally the index of each input
    /// element's value among them (shaped like the input) and how often each occurs. Indices
    /// and counts are float tensors: TapeGrad has no integer dtype.
    public func unique(sorted: Bool = true, returnInverse: Bool, returnCounts: Bool)
        -> (values: Tensor, inverse: Tensor?, counts: Tensor?)
    {
        let values = scalars()
        let distinct = Array(Set(values)).sorted()
        var position: [Double: Int] = [:]
        for (i, v) in distinct.enumerated() { position[v] = i }
        let out = trapping { try Tensor(values: distinct, shape: [distinct.count], dtype: dtype) }
        let e = engine
        _ = e.pointee.recordIfNeeded(Record(.unique, result: out, a: self))
        let inverse = returnInverse
            ? trapping { try Tensor(values: values.map { Double(position[$0]!) }, shape: shape) } : nil
        var counts: Tensor? = nil
        if returnCounts {
            var tally = [Double](repeating: 0, count: distinct.count)
            for v in values { tally[position[v]!] += 1 }
            counts = trapping { try Tensor(values: tally, shape: [distinct.count]) }
        }
        return (out, inverse, counts)
    }
}

enum UniqueBackward {
    static func unique(_ r: Record, _ g: Tensor) throws(TapeGradError) -> Gradients {
        throw TapeGradError(.notImplementedError, "the derivative for 'unique' is not implemented.")
    }
}
