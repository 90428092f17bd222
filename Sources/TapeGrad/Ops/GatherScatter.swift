// `gather`, `scatter` and `scatter_add` along one dimension, and `take_along_dim`: an index
// tensor of the input's rank names, for every position, the element along `dim` to read (or
// write). Forward, checks and backward together; the index is checked whole, with PyTorch's
// messages, before any element moves.
//
//   gather(dim, i)          out[p] = x[p with p[dim] = i[p]]     backward: zeros.scatter_add(dim, i, g)
//   scatter_add(dim, i, s)  out[p with p[dim] = i[p]] += s[p]    backward: g, g.gather(dim, i)
//   scatter(dim, i, s)      out[p with p[dim] = i[p]] = s[p]     backward: g.scatter(dim, i, 0), g.gather(dim, i)

/// How `scatter` combines a written element with the one it lands on.
enum ScatterMode { case assign, add }

extension TensorMemory {
    /// `out[p] = x[p with p[dim] = index[p]]` over the index's positions (index contiguous
    /// int64, in range, shape within x's but along `dim`), of any dtype (no record).
    func gatherAlong(_ x: Tensor, dim: Int, index: Tensor) -> Tensor {
        let s = slot(x).pointee, i = slot(index).pointee
        let out = makeTensor(shape: i.shape, dtype: s.dtype)
        s.dtype.withElement(GatherWalk(
            source: UnsafeRawPointer(rawBase(x)), sourceStrides: s.strides, target: rawBase(out),
            index: base(index, as: Int64.self), shape: i.shape, dim: dim))
        return out
    }

    /// A copy of `target` with `source` (or `value`, when `source` is null) written at the
    /// index's positions along `dim`, added or assigned (no record). `source` is converted to
    /// the target's dtype; the callers check shapes and indices.
    func scatterAlong(_ target: Tensor, dim: Int, index: Tensor, source: Tensor, value: Number, mode: ScatterMode) -> Tensor {
        let dtype = slot(target).pointee.dtype
        // Bool adds as or: computed in uint8, returned to bool.
        let computeType = dtype == .bool ? DType.uint8 : dtype.kernelType
        let out = makeTensor(shape: slot(target).pointee.shape, dtype: computeType)
        copyValues(from: target, into: out)
        let src = source.isNull ? Tensor.null : contiguousOperand(source, as: computeType)
        let walk = ScatterWalk(
            target: rawBase(out), targetStrides: slot(out).pointee.strides,
            source: src.isNull ? nil : UnsafeRawPointer(rawBase(src)),
            sourceStrides: src.isNull ? Dims() : slot(src).pointee.shape.contiguousStrides,
            value: value, index: base(index, as: Int64.self), shape: slot(index).pointee.shape, dim: dim, add: mode == .add)
        computeType.withNumericElement(walk)
        return dtype == .bool ? convert(out, to: .bool) : rounded(out, to: dtype)
    }
}

/// gather's walk over the index's positions, row by row.
private struct GatherWalk: ElementComputation {
    let source: UnsafeRawPointer, sourceStrides: Dims, target: UnsafeMutableRawPointer
    let index: UnsafeMutablePointer<Int64>, shape: Dims, dim: Int

    func run<T: TensorElement>(_: T.Type) {
        let x = source.assumingMemoryBound(to: T.self), out = target.assumingMemoryBound(to: T.self)
        // The source's strides without `dim`'s: the index supplies that coordinate.
        var strides = sourceStrides
        let along = strides[dim]
        strides[dim] = 0
        let rank = shape.count, inner = strides[rank - 1]
        forEachRow(shape: shape, stridesA: strides, stridesB: strides) { offset, _, start, length in
            for j in 0..<length {
                out[start + j] = x[offset + j * inner + Int(index[start + j]) * along]
            }
        }
    }
}

/// scatter's walk: the index's positions, each writing one element of the source (or the value).
private struct ScatterWalk: FloatComputation, IntegerComputation {
    let target: UnsafeMutableRawPointer, targetStrides: Dims
    let source: UnsafeRawPointer?, sourceStrides: Dims
    let value: Number, index: UnsafeMutablePointer<Int64>, shape: Dims, dim: Int, add: Bool

    func run<T: FloatElement>(_: T.Type) { walk(T.self) { $0 + $1 } }
    func run<T: IntegerElement>(_: T.Type) { walk(T.self) { $0 &+ $1 } }

    @inline(__always)
    private func walk<T: TensorElement>(_: T.Type, _ sum: (T, T) -> T) {
        let out = target.assumingMemoryBound(to: T.self), src = source?.assumingMemoryBound(to: T.self)
        let constant = value.converted(to: T.self)
        var strides = targetStrides
        let along = strides[dim]
        strides[dim] = 0
        let rank = shape.count
        let innerT = strides[rank - 1], innerS = sourceStrides.count > 0 ? sourceStrides[rank - 1] : 0
        forEachRow(shape: shape, stridesA: strides, stridesB: src == nil ? strides : sourceStrides) { offset, sourceOffset, start, length in
            for j in 0..<length {
                let o = offset + j * innerT + Int(index[start + j]) * along
                let v = src.map { $0[sourceOffset + j * innerS] } ?? constant
                out[o] = add ? sum(out[o], v) : v
            }
        }
    }
}

extension Tensor {
    /// The elements along `dim` that `index` names at each position (`torch.gather`,
    /// `GatherBackward0`): `out[p] = self[p with p[dim] = index[p]]`, shaped like `index`,
    /// which has this rank and no larger sizes apart from `dim`.
    public func gather(dim: Int, _ index: Tensor) throws(TapeGradError) -> Tensor {
        let (d, positions) = try checkedAlong(dim: dim, index, name: "gather", source: nil)
        let e = engine
        let x = asRanked().0
        // Shaped like the index (a 0-dim index of a 0-dim tensor gives a 0-dim result).
        let out = e.memory.gatherAlong(x, dim: d, index: positions).reshaped(index.info.shape)
        var record = Record(.gather, result: out, a: self)
        record.c = positions
        record.i0 = Int16(d)
        return e.pointee.recordIfNeeded(record)
    }

    /// `gather` with the index broadcast against this tensor apart from `dim`
    /// (`torch.take_along_dim`); with `dim` nil, along the flattened tensor.
    public func takeAlongDim(_ indices: Tensor, dim: Int?) throws(TapeGradError) -> Tensor {
        guard indices.dtype == .int64 else {
            throw .runtime("torch.take_along_dim(): dtype of indices should be Long but got \(indices.dtype.scalarTypeName)")
        }
        guard let dim else { return try reshape([-1]).gather(dim: 0, try indices.reshape([-1])) }
        guard rank == indices.rank else {
            throw .runtime("torch.take_along_dim(): input and indices should have the same number of dimensions, but got \(rank) dimensions for input, and \(indices.rank) dimensions for indices")
        }
        let d = try Shapes.normalize(dim: dim, rank: rank)
        // Indices wrap around the size along `dim` (Python's remainder), as PyTorch's do.
        let size = rank == 0 ? 1 : info.shape[d]
        let indices = size > 0 ? try indices.remainder(size) : indices
        if size == 0 && indices.count > 0 { throw .runtime("ZeroDivisionError") }
        // Both broadcast to one shape, except along `dim`, where each keeps its size.
        var selfShape = info.shape, indexShape = indices.info.shape
        guard rank > 0 else { return try gather(dim: d, indices) }
        selfShape[d] = 1
        indexShape[d] = 1
        let common = try Shapes.broadcast(selfShape, indexShape)
        var selfTarget = common, indexTarget = common
        selfTarget[d] = info.shape[d]
        indexTarget[d] = indices.info.shape[d]
        return try expand(selfTarget.array).gather(dim: d, try indices.expand(indexTarget.array))
    }

    /// This tensor with `source`'s elements added at the positions `index` names along `dim`
    /// (`torch.scatter_add`, `ScatterAddBackward0`); repeated positions add up.
    public func scatterAdd(dim: Int, _ index: Tensor, _ source: Tensor) throws(TapeGradError) -> Tensor {
        try scattered(.scatterAdd, dim: dim, index, source: source, value: .none, mode: .add)
    }

    /// This tensor with `source`'s elements written at the positions `index` names along
    /// `dim` (`torch.scatter`, `ScatterBackward0`); of repeated positions the last one wins.
    public func scatter(dim: Int, _ index: Tensor, _ source: Tensor) throws(TapeGradError) -> Tensor {
        try scattered(.scatter, dim: dim, index, source: source, value: .none, mode: .assign)
    }

    /// This tensor with `value` written at the positions `index` names along `dim`
    /// (`torch.scatter` with a number, `ScatterBackward1`).
    public func scatter(dim: Int, _ index: Tensor, _ value: Double) throws(TapeGradError) -> Tensor {
        try scattered(.scatterValue, dim: dim, index, source: .null, value: Number(value), mode: .assign)
    }

    private func scattered(_ op: OpCode, dim: Int, _ index: Tensor, source: Tensor, value: Number, mode: ScatterMode) throws(TapeGradError) -> Tensor {
        let (d, positions) = try checkedAlong(dim: dim, index, name: "scatter", source: source.isNull ? nil : source)
        let e = engine
        let (x, rankless) = asRanked()
        let src = source.isNull || source.rank > 0 ? source : source.reshaped(Dims(CollectionOfOne(1)))
        // (The record keeps the index in the ranked shape, which backward's gather needs.)
        var out = e.memory.scatterAlong(x, dim: d, index: positions, source: src, value: value, mode: mode)
        if rankless { out = out.reshaped(Dims()) }
        var record = Record(op, result: out, a: self, b: source)
        record.c = positions
        record.i0 = Int16(d)
        record.s0 = value.double
        return e.pointee.recordIfNeeded(record)
    }

    /// The shape of an empty index of `s`'s rank (0 along `d`, 1 elsewhere).
    private static func emptyIndexShape(_ s: Dims, _ d: Int) -> Dims {
        var shape = Dims()
        for k in 0..<s.count { shape.append(k == d ? 0 : 1) }
        return shape
    }

    /// A 0-dim tensor as a 1-element vector (gather and scatter index it as one), and whether
    /// it was one.
    private func asRanked() -> (Tensor, Bool) {
        rank == 0 ? (reshaped(Dims(CollectionOfOne(1))), true) : (self, false)
    }

    /// gather's and scatter's checks, in PyTorch's order: the index's dtype, rank and sizes
    /// (and the source's, for scatter), then every position in range. A 0-dim tensor counts
    /// as one of size [1], as in PyTorch. Returns the dimension and the index as a contiguous
    /// int64 tensor of this tensor's rank (at least 1).
    func checkedAlong(dim: Int, _ index: Tensor, name: String, source: Tensor?) throws(TapeGradError) -> (Int, Tensor) {
        func ranked(_ shape: Dims) -> Dims { shape.count == 0 ? Dims(CollectionOfOne(1)) : shape }
        let s = ranked(info.shape), i = ranked(index.info.shape)
        let d = try Shapes.normalize(dim: dim, rank: info.shape.count)
        if let source, source.dtype != dtype { throw .runtime("scatter(): Expected self.dtype to be equal to src.dtype") }
        // An empty index moves nothing, and PyTorch checks nothing more.
        if index.count == 0 { return (d, Tensor.zeros(Self.emptyIndexShape(s, d).array, dtype: .int64)) }
        guard index.dtype == .int64 || index.dtype == .int32 else {
            throw .runtime("\(name)(): Expected dtype int32/int64 for index")
        }
        guard s.count == i.count else {
            throw .runtime("Index tensor must have the same number of dimensions as \(name == "gather" ? "input" : "self") tensor")
        }
        // PyTorch's scatter_shape_check: sizes apart from `dim` against self, then every size
        // against the source's.
        var wrongShape = false
        for k in 0..<s.count where k != d && i[k] > s[k] { wrongShape = true }
        if let source, !wrongShape {
            // (A 0-dim source has size 1 in every dimension.)
            let src = source.rank == 0 ? Dims(Array(repeating: 1, count: s.count)) : source.info.shape
            for k in 0..<s.count {
                guard k < src.count else {
                    throw .index("Dimension out of range (expected to be in range of [\(-src.count), \(src.count - 1)], but got \(k))")
                }
                if i[k] > src[k] { wrongShape = true; break }
            }
        }
        // The kernel's own check of the source, between the shape loops and their message.
        if let source, ranked(source.info.shape).count != i.count {
            throw .runtime("Index tensor must have the same number of dimensions as src tensor")
        }
        if wrongShape {
            if let source {
                throw .runtime("Expected index \(index.shape.bracketed) to be no larger than self \(shape.bracketed) apart from dimension \(d) and to be no larger size than src \(source.shape.bracketed)")
            }
            if name == "scatter" {
                throw .runtime("Expected index \(index.shape.bracketed) to be no larger than self \(shape.bracketed) apart from dimension \(d)")
            }
            let k = (0..<s.count).first { $0 != d && i[$0] > s[$0] }!
            throw .runtime("Size does not match at dimension \(k) expected index \(index.shape.bracketed) to be no larger than self \(shape.bracketed) apart from dimension \(d)")
        }

        let e = engine
        let positions = e.memory.contiguousOperand(index, as: .int64).reshaped(i)
        let size = s[d]
        let p = e.pointee.base(positions, as: Int64.self)
        for j in 0..<positions.count where p[j] < 0 || p[j] >= Int64(size) {
            throw .runtime("index \(p[j]) is out of bounds for dimension \(d) with size \(size)")
        }
        return (d, positions)
    }
}

enum GatherScatterBackward {
    /// gather: the gradient added back at the positions it was read from.
    static func gather(_ r: Record, _ g: Tensor) -> Gradients {
        Gradients(a: trapping { try r.a.zerosLike().scatterAdd(dim: Int(r.i0), r.c, g.reshaped(r.c.info.shape)) })
    }

    /// scatter_add: the input's gradient passes through; the source's is read at the positions.
    static func scatterAdd(_ r: Record, _ g: Tensor) throws(TapeGradError) -> Gradients {
        Gradients(a: r.needsA ? g : .null, b: r.needsB ? try sourceGradient(r, g, "ScatterAddBackward0") : .null)
    }

    /// scatter: the overwritten positions get no gradient; the source's is read there.
    static func scatter(_ r: Record, _ g: Tensor) throws(TapeGradError) -> Gradients {
        Gradients(a: r.needsA ? try g.scatter(dim: Int(r.i0), r.c, 0) : .null,
                  b: r.needsB ? try sourceGradient(r, g, "ScatterBackward0") : .null)
    }

    static func scatterValue(_ r: Record, _ g: Tensor) throws(TapeGradError) -> Gradients {
        Gradients(a: try g.scatter(dim: Int(r.i0), r.c, 0))
    }

    /// `g` at the index's positions: the source's gradient, summed to the source's shape when
    /// the source broadcasts to it (autograd's shape check); another source shape gets
    /// PyTorch's error.
    private static func sourceGradient(_ r: Record, _ g: Tensor, _ node: String) throws(TapeGradError) -> Tensor {
        let picked = try g.gather(dim: Int(r.i0), r.c)
        let sourceShape = r.b.info.shape
        if sourceShape.count == 0 && picked.count == 1 { return picked.reshaped(Dims()) }
        // An empty index wrote nothing: the source gets zeros (PyTorch's check lets it pass).
        if picked.count == 0 { return r.b.zerosLike() }
        if let common = try? Shapes.broadcast(sourceShape, picked.info.shape), common == picked.info.shape {
            return picked.sumTo(shapeOf: r.b)
        }
        guard picked.info.shape == sourceShape else {
            throw .runtime("Function \(node) returned an invalid gradient at index 1 - got \(picked.shape.bracketed) but expected shape compatible with \(sourceShape.array.bracketed)")
        }
        return picked
    }
}
