// Sorting along a dimension: `sort`, `argsort` and `topk`. NaN sorts as the largest value, as
// in PyTorch; equal values keep their order (the sort is stable). The values' gradient goes
// back to the positions they came from: a scatter of `g` into zeros (`SortBackward0`,
// `TopkBackward0`, whose backward records `ScatterBackward0`).

extension Tensor {
    /// The elements along `dim` in ascending (or descending) order, and where each came from
    /// (int64) (`torch.sort`, `SortBackward0`).
    public func sort(dim: Int = -1, descending: Bool = false) throws(TapeGradError) -> (values: Tensor, indices: Tensor) {
        let d = try Shapes.normalize(dim: dim, rank: rank)
        let size = rank == 0 ? 1 : info.shape[d]
        return try selected(.sort, along: d, count: size, largestFirst: descending)
    }

    /// Where each element along `dim` would come from in sorted order (`torch.argsort`), int64.
    public func argsort(dim: Int = -1, descending: Bool = false) throws(TapeGradError) -> Tensor {
        try noGrad { () throws(TapeGradError) in try sort(dim: dim, descending: descending).indices }
    }

    /// The `k` largest (or smallest) elements along `dim`, largest first (smallest first), and
    /// where they came from (int64) (`torch.topk`, `TopkBackward0`). Of equal values the
    /// first ones are taken, where PyTorch's order among them is its kernel's.
    public func topk(_ k: Int, dim: Int = -1, largest: Bool = true) throws(TapeGradError) -> (values: Tensor, indices: Tensor) {
        let d = try Shapes.normalize(dim: dim, rank: rank)
        let size = rank == 0 ? 1 : info.shape[d]
        guard k >= 0 && k <= size else { throw .runtime("selected index k out of range") }
        guard dtype != .bool else { throw TapeGradError(.notImplementedError, "topk does not support bool dtypes on CPU") }
        return try selected(.topk, along: d, count: k, largestFirst: largest)
    }

    /// The first `count` elements along `d` in sorted order, recorded as `op`.
    private func selected(_ op: OpCode, along d: Int, count: Int, largestFirst: Bool) throws(TapeGradError) -> (values: Tensor, indices: Tensor) {
        let indices = noGrad { sortedPositions(along: d, count: count, largestFirst: largestFirst) }
        let e = engine
        let ranked = rank == 0 ? reshaped(Dims(CollectionOfOne(1))) : self
        let positions = rank == 0 ? indices.reshaped(Dims(CollectionOfOne(indices.count))) : indices
        let values = e.memory.gatherAlong(e.memory.contiguousOperand(ranked), dim: d, index: positions).reshaped(indices.info.shape)
        var record = Record(op, result: values, a: self)
        record.c = positions
        record.i0 = Int16(d)
        return (e.pointee.recordIfNeeded(record), indices)
    }

    /// The positions along `d` of the first `count` elements in sorted order, int64, in this
    /// tensor's layout (with `count` along `d`).
    private func sortedPositions(along d: Int, count: Int, largestFirst: Bool) -> Tensor {
        let s = info
        guard s.shape.count > 0 else { return Tensor.zeros([], dtype: .int64) }
        let wide: DType = s.dtype.isFloatingPoint ? .float64 : .int64
        // Rows along `d`, contiguous: the dimension moved last.
        let rows = trapping { try self.transpose(d, -1) }.to(wide).contiguous()
        let n = s.shape[d], rowCount = n == 0 ? 0 : rows.count / n
        var movedShape = rows.info.shape
        movedShape[movedShape.count - 1] = count
        let e = engine
        let out = e.pointee.makeTensor(shape: movedShape, dtype: .int64)
        wide.withNumericElement(SortRows(x: UnsafeRawPointer(e.pointee.rawBase(rows)), out: e.pointee.base(out, as: Int64.self),
                                         rows: rowCount, n: n, count: count, largestFirst: largestFirst))
        return trapping { try out.transpose(d, -1) }.contiguous()
    }
}

/// Each row's first `count` positions in sorted order (stable; NaN, `x != x`, the largest).
private struct SortRows: FloatComputation, IntegerComputation {
    let x: UnsafeRawPointer, out: UnsafeMutablePointer<Int64>
    let rows: Int, n: Int, count: Int, largestFirst: Bool

    func run<T: TensorElement & Comparable>(_: T.Type) {
        let x = x.assumingMemoryBound(to: T.self)
        var order = [Int](repeating: 0, count: n)
        for r in 0..<rows {
            let row = x + r * n
            for i in 0..<n { order[i] = i }
            // Ties broken by position: stable whatever the algorithm.
            order.sort { i, j in
                let a = row[i], b = row[j]
                let before = largestFirst ? Self.less(b, a) : Self.less(a, b)
                let after = largestFirst ? Self.less(a, b) : Self.less(b, a)
                return before || (!after && i < j)
            }
            for j in 0..<count { out[r * count + j] = Int64(order[j]) }
        }
    }

    /// `a < b` with NaN above every number.
    @inline(__always)
    static func less<T: Comparable>(_ a: T, _ b: T) -> Bool {
        a == a && (b != b || a < b)
    }
}

enum SortingBackward {
    /// The gradient goes back to the positions the values came from.
    static func selection(_ r: Record, _ g: Tensor) -> Gradients {
        let zeros = r.a.rank == 0 ? r.a.zerosLike().reshaped(Dims(CollectionOfOne(1))) : r.a.zerosLike()
        let grad = trapping { try zeros.scatter(dim: Int(r.i0), r.c, g.reshaped(r.c.info.shape)) }
        return Gradients(a: r.a.rank == 0 ? grad.reshaped(Dims()) : grad)
    }
}
