// Sums, means and maxima over all elements or over chosen dimensions, with `keepdim`.

/// How a reduction combines elements.
enum ReductionKind { case sum, max }

extension TensorMemory {
    /// Reduces the dimensions in `mask` of a tensor (no record: callers record).
    /// Sums of bool and integer tensors are int64, as PyTorch's; maxima keep the dtype (bool
    /// computes in uint8).
    func reduce(_ x: Tensor, mask: UInt32, keepDim: Bool, kind: ReductionKind) -> Tensor {
        var x = x
        let inputType = slot(x).pointee.dtype
        switch (inputType.category, kind) {
        case (.floating, _): x = floatOperand(x)
        case (.integral, .max): break
        case (.boolean, .max): x = convert(x, to: .uint8)
        case (.integral, .sum), (.boolean, .sum): if inputType != .int64 { x = convert(x, to: .int64) }
        }
        let s = slot(x).pointee
        let keptShape = s.shape.keeping(reduced: mask)
        let outShape = keepDim ? keptShape : s.shape.dropping(reduced: mask)
        let out = makeTensor(shape: outShape, dtype: s.dtype)
        var outStrides = keptShape.contiguousStrides
        for d in 0..<s.shape.count where mask & (1 << d) != 0 { outStrides[d] = 0 }
        s.dtype.withNumericElement(Reduce(x: UnsafeRawPointer(rawBase(x)), slot: s, outStrides: outStrides, out: rawBase(out),
                                        count: outShape.product, kind: kind))
        return rounded(out, to: inputType)
    }

}

/// A sum or max reduction in the input's element type.
private struct Reduce: FloatComputation, IntegerComputation {
    let x: UnsafeRawPointer, slot: TensorSlot, outStrides: Dims, out: UnsafeMutableRawPointer, count: Int, kind: ReductionKind

    func run<T: FloatElement>(_: T.Type) {
        Kernels.reduce(x.assumingMemoryBound(to: T.self), slot, outStrides, out.assumingMemoryBound(to: T.self), count: count, kind)
    }

    func run<T: IntegerElement>(_: T.Type) {
        Kernels.reduce(x.assumingMemoryBound(to: T.self), slot, outStrides, out.assumingMemoryBound(to: T.self), count: count, kind)
    }
}

extension Tensor {
    @inline(__always)
    private func reduction(_ op: OpCode, dims: [Int], keepDim: Bool, kind: ReductionKind, mean: Bool) throws(TapeGradError) -> Tensor {
        let mask = try Shapes.mask(dims: dims, rank: info.shape.count)
        return reduction(op, mask: mask, keepDim: keepDim, kind: kind, mean: mean)
    }

    @inline(__always)
    /// A recorded reduction over the dimensions in `mask` (the shared body of sum, mean, max, amax).
    func reduction(_ op: OpCode, mask: UInt32, keepDim: Bool, kind: ReductionKind, mean: Bool) -> Tensor {
        let e = engine
        var out = e.memory.reduce(self, mask: mask, keepDim: keepDim, kind: kind)
        if mean { out = e.memory.mapUnary(MulScalarKernel.self, out, Number(1 / Double(info.shape.reducedCount(mask)))) }
        var record = Record(op, result: out, a: self)
        record.dims = mask
        if keepDim { record.flags.insert(.keepDim) }
        return e.pointee.recordIfNeeded(record)
    }

    /// The sum of all elements, a 0-dimensional tensor (`tensor.sum()`).
    public func sum() -> Tensor {
        reduction(.sumAll, mask: Self.allDims(rank), keepDim: false, kind: .sum, mean: false)
    }

    private static func allDims(_ rank: Int) -> UInt32 { rank == 0 ? 0 : UInt32((1 << rank) - 1) }

    /// Sums over the given dimensions (negative counts from the end); `keepDim` keeps them with size 1.
    public func sum(dims: [Int], keepDim: Bool = false) throws(TapeGradError) -> Tensor {
        try reduction(.sumDims, dims: dims, keepDim: keepDim, kind: .sum, mean: false)
    }

    /// Sums over one dimension (`tensor.sum(dim, keepdim=)`).
    public func sum(dim: Int, keepDim: Bool = false) throws(TapeGradError) -> Tensor { try sum(dims: [dim], keepDim: keepDim) }

    /// The mean of all elements (`tensor.mean()`); throws PyTorch's error for a tensor that is
    /// not floating point.
    public func mean() throws(TapeGradError) -> Tensor {
        try checkMeanDType()
        return reduction(.meanAll, mask: Self.allDims(rank), keepDim: false, kind: .sum, mean: true)
    }

    /// Means over the given dimensions (all of them when `dims` is empty).
    public func mean(dims: [Int], keepDim: Bool = false) throws(TapeGradError) -> Tensor {
        try checkMeanDType()
        return try reduction(dims.isEmpty ? .meanAll : .meanDims, dims: dims, keepDim: keepDim, kind: .sum, mean: true)
    }

    /// PyTorch's error for the mean of a tensor that is not floating point.
    @discardableResult
    private func checkMeanDType() throws(TapeGradError) -> Tensor {
        guard dtype.isFloatingPoint else {
            throw TapeGradError(.notImplementedError, "mean(): could not infer output dtype. Input dtype must be either a floating point or complex dtype. Got: \(dtype.scalarTypeName)")
        }
        return self
    }

    /// Mean over one dimension (`tensor.mean(dim, keepdim=)`).
    public func mean(dim: Int, keepDim: Bool = false) throws(TapeGradError) -> Tensor { try mean(dims: [dim], keepDim: keepDim) }

    /// The largest element, a 0-dimensional tensor (`tensor.max()`); its gradient is shared
    /// evenly by the elements equal to it. Throws PyTorch's error for an empty tensor.
    public func max() throws(TapeGradError) -> Tensor {
        try checkMaxReduction("max", dims: [])
        return keepingBool(reduction(.maxAll, mask: Self.allDims(rank), keepDim: false, kind: .max, mean: false))
    }

    /// The largest elements along the given dimensions (`torch.amax`); all of them when `dims`
    /// is empty.
    public func amax(dims: [Int], keepDim: Bool = false) throws(TapeGradError) -> Tensor {
        // PyTorch checks for an empty reduced dimension before repeated dims.
        try checkMaxReduction("amax", dims: dims)
        let mask = try Shapes.mask(dims: dims, rank: info.shape.count)
        return keepingBool(reduction(.amax, mask: mask, keepDim: keepDim, kind: .max, mean: false))
    }

    /// PyTorch's errors for a max over nothing: an empty tensor without dims (`dims` empty), or
    /// an empty reduced dimension, named as it was given (`-1`, not `1`).
    private func checkMaxReduction(_ name: String, dims: [Int]) throws(TapeGradError) {
        let shape = info.shape
        guard shape.product == 0 else { return }
        guard !dims.isEmpty else {
            throw .runtime("\(name)(): Expected reduction dim to be specified for input.numel() == 0. Specify the reduction dim with the 'dim' argument.")
        }
        for dim in dims where shape[try Shapes.normalize(dim: dim, rank: shape.count)] == 0 {
            throw .index("\(name)(): Expected reduction dim \(dim) to have non-zero size.")
        }
    }

    /// A max of bools is bool, as in PyTorch (the reduction computes in uint8).
    private func keepingBool(_ out: Tensor) -> Tensor {
        dtype == .bool && out.dtype != .bool ? out.to(.bool) : out
    }

    /// The largest elements along one dimension (`tensor.amax(dim, keepdim=)`).
    public func amax(dim: Int, keepDim: Bool = false) throws(TapeGradError) -> Tensor { try amax(dims: [dim], keepDim: keepDim) }

    /// Sums a broadcast gradient back to the shape of `target` (the inverse of broadcasting).
    func sumTo(shapeOf target: Tensor) -> Tensor {
        let targetShape = target.info.shape
        let shape = info.shape
        if shape == targetShape { return self }
        let lead = shape.count - targetShape.count
        var mask: UInt32 = 0
        for d in 0..<shape.count where d < lead || (targetShape[d - lead] == 1 && shape[d] != 1) {
            mask |= 1 << d
        }
        let summed = reduction(.sumDims, mask: mask, keepDim: true, kind: .sum, mean: false)
        return summed.reshaped(targetShape)
    }
}

enum ReductionBackward {
    /// The gradient of a reduced tensor, shaped back to broadcast over the input.
    static func unreduce(_ r: Record, _ g: Tensor) -> Tensor {
        let input = r.a.info.shape
        var g = g
        if !r.flags.contains(.keepDim) { g = g.reshaped(input.keeping(reduced: r.dims)) }
        return g.expanded(to: input)
    }

    static func sum(_ r: Record, _ g: Tensor) -> Gradients { Gradients(a: unreduce(r, g)) }

    static func mean(_ r: Record, _ g: Tensor) -> Gradients {
        Gradients(a: unreduce(r, g) / Double(r.a.info.shape.reducedCount(r.dims)))
    }

    /// Gradient flows to the maximal elements, shared evenly among ties.
    static func max(_ r: Record, _ g: Tensor) -> Gradients {
        var expandedResult = r.result
        if !r.flags.contains(.keepDim) { expandedResult = r.result.reshaped(r.a.info.shape.keeping(reduced: r.dims)) }
        let hits = memory.convert(trapping { try memory.compare(EqualKernel.self, r.a, expandedResult) },
                                          to: r.a.info.dtype)
        let counts = memory.reduce(hits, mask: r.dims, keepDim: true, kind: .sum)
        return Gradients(a: unreduce(r, g) * (hits / counts))
    }
}

// MARK: Maximum along a dimension, with indices

extension Tensor {
    /// The largest element along `dim` and its index (the first, if several are equal; a NaN
    /// counts as the largest), as PyTorch's `tensor.max(dim, keepdim=)`: the gradient flows to
    /// that one index. Indices are int64.
    public func max(dim: Int, keepDim: Bool = false) throws(TapeGradError) -> (values: Tensor, indices: Tensor) {
        let s = info
        let d = try Shapes.normalize(dim: dim, rank: s.shape.count)
        guard s.shape.count > 0 else { return (self, Tensor.zeros([], dtype: .int64)) }
        guard s.shape[d] > 0 else {
            throw TapeGradError(.indexError, "max(): Expected reduction dim \(d) to have non-zero size.")
        }
        let (values, indices) = extremum(along: d, keepDim: keepDim, largest: true)
        let e = engine
        var record = Record(.maxDim, result: values, a: self, b: indices)
        record.i0 = Int16(d)
        if keepDim { record.flags.insert(.keepDim) }
        return (e.pointee.recordIfNeeded(record), indices)
    }

    /// The index of the largest element along `dim` (the first of equal ones; NaN counts as
    /// the largest), int64 (`torch.argmax(dim=, keepdim=)`).
    public func argmax(dim: Int, keepDim: Bool = false) throws(TapeGradError) -> Tensor {
        try argExtremum("argmax", dim: dim, keepDim: keepDim, largest: true)
    }

    /// The index of the largest element of the flattened tensor, a 0-dim int64 tensor
    /// (`torch.argmax()`).
    public func argmax() throws(TapeGradError) -> Tensor {
        try argExtremum("argmax", dim: nil, keepDim: false, largest: true)
    }

    /// The index of the smallest element along `dim` (the first of equal ones; NaN counts as
    /// the smallest), int64 (`torch.argmin(dim=, keepdim=)`).
    public func argmin(dim: Int, keepDim: Bool = false) throws(TapeGradError) -> Tensor {
        try argExtremum("argmin", dim: dim, keepDim: keepDim, largest: false)
    }

    /// The index of the smallest element of the flattened tensor (`torch.argmin()`).
    public func argmin() throws(TapeGradError) -> Tensor {
        try argExtremum("argmin", dim: nil, keepDim: false, largest: false)
    }

    /// argmax/argmin with PyTorch's checks: over everything when `dim` is nil (a flattened
    /// view), over one dimension otherwise.
    private func argExtremum(_ name: String, dim: Int?, keepDim: Bool, largest: Bool) throws(TapeGradError) -> Tensor {
        let s = info
        guard s.dtype != .bool else { throw TapeGradError(.notImplementedError, "\(name)(): does not support bool input") }
        guard let dim else {
            guard s.shape.product > 0 else {
                throw .index("\(name)(): Expected reduction dim to be specified for input.numel() == 0.")
            }
            let flat = noGrad { trapping { try self.reshape(-1) } }
            return flat.extremum(along: 0, keepDim: false, largest: largest).indices
        }
        let d = try Shapes.normalize(dim: dim, rank: s.shape.count)
        if s.shape.count == 0 { return Tensor.zeros([], dtype: .int64) }
        guard s.shape[d] > 0 else {
            throw .index("\(name)(): Expected reduction dim \(d) to have non-zero size.")
        }
        return extremum(along: d, keepDim: keepDim, largest: largest).indices
    }

    /// The largest (or smallest) element along dimension `d` of a tensor with dimensions and
    /// its int64 index, not recorded. Values are compared in float64 or int64 (exact for
    /// every dtype).
    func extremum(along d: Int, keepDim: Bool, largest: Bool) -> (values: Tensor, indices: Tensor) {
        let s = info
        let wide: DType = s.dtype.isFloatingPoint ? .float64 : .int64
        // Rows of the reduced dimension, contiguous: the dimension moved last.
        let rows = noGrad { trapping { try self.transpose(d, -1) }.to(wide).contiguous() }
        var outShape = Dims()
        for k in 0..<s.shape.count where k != d || keepDim { outShape.append(k == d ? 1 : s.shape[k]) }
        let e = engine
        let values = e.pointee.makeTensor(shape: outShape, dtype: wide)
        let indices = e.pointee.makeTensor(shape: outShape, dtype: .int64)
        let pick = PickExtremum(x: UnsafeRawPointer(e.pointee.rawBase(rows)), values: e.pointee.rawBase(values),
                                indices: e.pointee.base(indices, as: Int64.self), shape: s.shape, d: d, largest: largest)
        wide.withNumericElement(pick)
        return (values.to(s.dtype), indices)
    }
}

/// Finds each row's extremum for `Tensor.extremum`: rows are contiguous along the reduced
/// dimension, written back to the output positions of the kept dimensions.
private struct PickExtremum: FloatComputation, IntegerComputation {
    let x: UnsafeRawPointer, values: UnsafeMutableRawPointer, indices: UnsafeMutablePointer<Int64>
    let shape: Dims, d: Int, largest: Bool

    func run<T: TensorElement & Comparable>(_: T.Type) {
        let x = x.assumingMemoryBound(to: T.self), v = values.assumingMemoryBound(to: T.self)
        let n = shape[d], rank = shape.count
        // Output positions in row order: the transposed layout lists the kept dimensions in
        // order, except that `d`'s place went to the last one; map back through strides.
        var keptShape = shape
        keptShape[d] = 1
        var movedShape = keptShape
        movedShape.swapAt(d, rank - 1)
        var outStrides = keptShape.contiguousStrides
        outStrides.swapAt(d, rank - 1)
        let inner = outStrides[rank - 1]
        forEachRow(shape: movedShape, stridesA: outStrides, stridesB: outStrides) { offset, _, start, length in
            for j in 0..<length {
                let row = start + j
                var best = x[row * n], at = 0
                if best == best {
                    // `y != y` is NaN's test (never true for integers); NaN wins, as in PyTorch.
                    for i in 1..<n where (largest ? x[row * n + i] > best : x[row * n + i] < best) || x[row * n + i] != x[row * n + i] {
                        best = x[row * n + i]; at = i
                        if best != best { break }
                    }
                }
                v[offset + j * inner] = best
                indices[offset + j * inner] = Int64(at)
            }
        }
    }
}

extension ReductionBackward {
    /// The gradient goes to the index that held the maximum.
    static func maxDim(_ r: Record, _ g: Tensor) -> Gradients {
        let d = Int(r.i0)
        var gk = g, ik = r.b
        if !r.flags.contains(.keepDim) {
            gk = trapping { try g.unsqueeze(d) }
            ik = trapping { try r.b.unsqueeze(d) }
        }
        // Positions along `d` as a broadcast comparison: 1 where the index matches.
        let n = r.a.info.shape[d]
        var positionShape = Dims()
        for k in 0..<r.a.info.shape.count { positionShape.append(k == d ? n : 1) }
        let e = engine
        let positions = e.pointee.makeTensor(shape: positionShape, dtype: .int64)
        let values = e.pointee.base(positions, as: Int64.self)
        for k in 0..<n { values[k] = Int64(k) }
        let hit = e.memory.convert(trapping { try e.memory.compare(EqualKernel.self, positions, ik) }, to: r.a.info.dtype)
        return Gradients(a: hit * gk.to(r.a.info.dtype))
    }
}

extension Kernels {
    @inline(__always)
    static func reduce<T: FloatElement>(
        _ x: UnsafePointer<T>, _ s: TensorSlot, _ outStrides: Dims, _ out: UnsafeMutablePointer<T>,
        count: Int, _ kind: ReductionKind
    ) {
        let n = s.shape.product
        if count == 1 && s.isContiguous {
            // Everything into one value: accumulate in double precision, four lanes at a time.
            switch kind {
            case .sum:
                var lanes = (0.0, 0.0, 0.0, 0.0)
                var i = 0
                while i + 4 <= n {
                    lanes.0 += Double(x[i]); lanes.1 += Double(x[i + 1])
                    lanes.2 += Double(x[i + 2]); lanes.3 += Double(x[i + 3])
                    i += 4
                }
                while i < n { lanes.0 += Double(x[i]); i += 1 }
                out[0] = T((lanes.0 + lanes.1) + (lanes.2 + lanes.3))
            case .max:
                var best = -T.infinity
                for i in 0..<n where x[i] > best || x[i].isNaN { best = x[i]; if best.isNaN { break } }
                out[0] = best
            }
            return
        }
        switch kind {
        case .sum: reduceRows(x, s, outStrides, out, count: count, initial: 0) { $0 + $1 }
        case .max: reduceRows(x, s, outStrides, out, count: count, initial: -.infinity) { best, v in v > best || v.isNaN ? v : best }
        }
    }

    /// The integer reductions: sums wrap (callers sum in int64), maxima start at the type's minimum.
    @inline(__always)
    static func reduce<T: IntegerElement>(
        _ x: UnsafePointer<T>, _ s: TensorSlot, _ outStrides: Dims, _ out: UnsafeMutablePointer<T>,
        count: Int, _ kind: ReductionKind
    ) {
        switch kind {
        case .sum: reduceRows(x, s, outStrides, out, count: count, initial: 0) { $0 &+ $1 }
        case .max: reduceRows(x, s, outStrides, out, count: count, initial: T.min) { best, v in v > best ? v : best }
        }
    }

    /// `out[o] = combine(out[o], x)` over every element, `out` read with `outStrides` (zero
    /// along the reduced dimensions) and first set to `initial`.
    @inline(__always)
    static func reduceRows<T>(
        _ x: UnsafePointer<T>, _ s: TensorSlot, _ outStrides: Dims, _ out: UnsafeMutablePointer<T>,
        count: Int, initial: T, _ combine: (T, T) -> T
    ) {
        for i in 0..<count { out[i] = initial }
        let rank = s.shape.count
        let innerX = rank > 0 ? s.strides[rank - 1] : 0
        let innerOut = rank > 0 ? outStrides[rank - 1] : 0
        forEachRow(shape: s.shape, stridesA: s.strides, stridesB: outStrides) { offX, offOut, _, length in
            if innerOut == 0 {
                var total = initial
                for j in 0..<length { total = combine(total, x[offX + j * innerX]) }
                out[offOut] = combine(out[offOut], total)
            } else {
                for j in 0..<length {
                    let o = offOut + j * innerOut
                    out[o] = combine(out[o], x[offX + j * innerX])
                }
            }
        }
    }
}
