// Sums, means and maxima over all elements or over chosen dimensions, with `keepdim`.

/// How a reduction combines elements.
enum ReductionKind { case sum, max }

extension Engine {
    /// Reduces the dimensions in `mask` of a tensor (no record: callers record).
    mutating func reduce(_ x: Tensor, mask: UInt32, keepDim: Bool, kind: ReductionKind) -> Tensor {
        let x = floatOperand(x)
        let s = slot(x).pointee
        let keptShape = s.shape.keeping(reduced: mask)
        var outShape = keptShape
        if !keepDim {
            outShape = Dims()
            for d in 0..<s.shape.count where mask & (1 << d) == 0 { outShape.append(s.shape[d]) }
        }
        let out = makeTensor(shape: outShape, dtype: s.dtype)
        var outStrides = keptShape.contiguousStrides
        for d in 0..<s.shape.count where mask & (1 << d) != 0 { outStrides[d] = 0 }
        s.dtype.withFloatElement(Reduce(x: UnsafeRawPointer(rawBase(x)), slot: s, outStrides: outStrides, out: rawBase(out),
                                        count: outShape.product, kind: kind))
        return out
    }

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
        let initial: T = kind == .sum ? 0 : -.infinity
        for i in 0..<count { out[i] = initial }
        let rank = s.shape.count
        let innerX = rank > 0 ? s.strides[rank - 1] : 0
        let innerOut = rank > 0 ? outStrides[rank - 1] : 0
        forEachRow(shape: s.shape, stridesA: s.strides, stridesB: outStrides) { offX, offOut, _, length in
            switch kind {
            case .sum:
                if innerOut == 0 {
                    var total: T = 0
                    for j in 0..<length { total += x[offX + j * innerX] }
                    out[offOut] += total
                } else {
                    for j in 0..<length { out[offOut + j * innerOut] += x[offX + j * innerX] }
                }
            case .max:
                for j in 0..<length {
                    let v = x[offX + j * innerX]
                    let o = offOut + j * innerOut
                    if v > out[o] || v.isNaN { out[o] = v }
                }
            }
        }
    }
}

/// A sum or max reduction in the input's element type.
private struct Reduce: FloatComputation {
    let x: UnsafeRawPointer, slot: TensorSlot, outStrides: Dims, out: UnsafeMutableRawPointer, count: Int, kind: ReductionKind

    func run<T: FloatElement>(_: T.Type) {
        Engine.reduce(x.assumingMemoryBound(to: T.self), slot, outStrides, out.assumingMemoryBound(to: T.self), count: count, kind)
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
        var out = e.pointee.reduce(self, mask: mask, keepDim: keepDim, kind: kind)
        if mean { out = e.pointee.mapUnary(MulScalarKernel.self, out, Number(1 / Double(info.shape.reducedCount(mask)))) }
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

    /// A max of bools is bool, as in PyTorch (the reduction computes in float32).
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
        let hits = engine.pointee.convert(trapping { try engine.pointee.compare(EqualKernel.self, r.a, expandedResult) },
                                          to: r.a.info.dtype)
        let counts = engine.pointee.reduce(hits, mask: r.dims, keepDim: true, kind: .sum)
        return Gradients(a: unreduce(r, g) * (hits / counts))
    }
}

// MARK: Maximum along a dimension, with indices

extension Tensor {
    /// The largest element along `dim` and its index (the first, if several are equal), as
    /// PyTorch's `tensor.max(dim, keepdim=)`: the gradient flows to that one index. Indices are
    /// a float tensor (TapeGrad has no integer dtype).
    public func max(dim: Int, keepDim: Bool = false) throws(TapeGradError) -> (values: Tensor, indices: Tensor) {
        let s = info
        let d = try Shapes.normalize(dim: dim, rank: s.shape.count)
        guard s.shape.count > 0 else { return (self, Tensor.zeros([])) }
        let n = s.shape[d]
        guard n > 0 else {
            throw TapeGradError(.indexError, "max(): Expected reduction dim \(d) to have non-zero size.")
        }
        // Rows of the reduced dimension, contiguous: the dimension moved last.
        let rows = noGrad { trapping { try self.transpose(d, -1) }.to(.float64).contiguous() }
        var outShape = Dims()
        for k in 0..<s.shape.count where k != d || keepDim { outShape.append(k == d ? 1 : s.shape[k]) }
        let e = engine
        let values = e.pointee.makeTensor(shape: outShape, dtype: .float64)
        let indices = e.pointee.makeTensor(shape: outShape, dtype: .float32)
        let x = e.pointee.base(rows, as: Double.self)
        let v = e.pointee.base(values, as: Double.self), ix = e.pointee.base(indices, as: Float.self)
        // Output positions in row order: the transposed layout lists the kept dimensions in
        // order, except that `d`'s place went to the last one; map back through strides.
        var keptShape = s.shape
        keptShape[d] = 1
        var movedShape = keptShape
        movedShape.swapAt(d, s.shape.count - 1)
        var outStrides = keptShape.contiguousStrides
        outStrides.swapAt(d, s.shape.count - 1)
        forEachRow(shape: movedShape, stridesA: outStrides, stridesB: outStrides) { offset, _, start, length in
            let inner = outStrides[s.shape.count - 1]
            for j in 0..<length {
                let row = start + j
                var best = x[row * n], at = 0
                if !best.isNaN {
                    for i in 1..<n where x[row * n + i] > best || x[row * n + i].isNaN {
                        best = x[row * n + i]; at = i
                        if best.isNaN { break }
                    }
                }
                v[offset + j * inner] = best
                ix[offset + j * inner] = Float(at)
            }
        }
        let out = values.to(s.dtype)
        var record = Record(.maxDim, result: out, a: self, b: indices)
        record.i0 = Int16(d)
        if keepDim { record.flags.insert(.keepDim) }
        return (e.pointee.recordIfNeeded(record), indices)
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
        let positions = e.pointee.makeTensor(shape: positionShape, dtype: .float32)
        let values = e.pointee.base(positions, as: Float.self)
        for k in 0..<n { values[k] = Float(k) }
        let hit = e.pointee.convert(trapping { try e.pointee.compare(EqualKernel.self, positions, ik) }, to: r.a.info.dtype)
        return Gradients(a: hit * gk.to(r.a.info.dtype))
    }
}
