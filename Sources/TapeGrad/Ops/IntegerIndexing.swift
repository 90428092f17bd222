// Indexing with integer tensors: `index_select`, `index_add`, and `t[indices]`. Each op's
// forward, checks and backward together. An index is checked whole, with PyTorch's message,
// before any element moves: no read or write outside a buffer.
//
//   index_select(dim, i)   out[o, j, r] = x[o, i[j], r]      backward: zeros.index_add(dim, i, g)
//   index_add(dim, i, s)   out[o, i[j], r] += s[o, j, r]     backward: g, g.index_select(dim, i)
//   x[i]                   index_select(0, i.flatten())      backward: zeros.index_put_(i, g, accumulate)
//                          shaped i.shape + x.shape[1...]

extension TensorMemory {
    /// The slices along `dim` of `source` picked by `index` (contiguous int64, every value in
    /// range): `out[o, j, r] = source[o, index[j], r]`, of any dtype (no record).
    func selectSlices(_ source: Tensor, dim: Int, index: Tensor) -> Tensor {
        let src = contiguousOperand(source)
        let s = slot(src).pointee
        let count = slot(index).pointee.shape.product
        var shape = s.shape
        if shape.count > 0 { shape[dim] = count }
        let out = makeTensor(shape: shape, dtype: s.dtype)
        let (outer, size, inner) = Shapes.sliceExtents(s.shape, dim)
        let rowBytes = inner * s.dtype.itemSize
        let from = rawBase(src), to = rawBase(out), picks = base(index, as: Int64.self)
        for o in 0..<outer {
            for j in 0..<count {
                (to + (o * count + j) * rowBytes).copyMemory(from: from + (o * size + Int(picks[j])) * rowBytes, byteCount: rowBytes)
            }
        }
        return out
    }

    /// A copy of `target` with the slices of `source` added at `index` along `dim`:
    /// `out[o, index[j], r] += source[o, j, r]` (or, to assign, `=`, the last one winning)
    /// (no record). `source` is converted to the target's dtype; shapes and indices are
    /// checked by the callers.
    func addSlices(into target: Tensor, dim: Int, index: Tensor, source: Tensor, mode: ScatterMode = .add) -> Tensor {
        let t = slot(target).pointee
        let out = makeTensor(shape: t.shape, dtype: t.dtype.kernelType)
        copyValues(from: target, into: out)
        let src = contiguousOperand(source, as: t.dtype.kernelType)
        let (outer, size, inner) = Shapes.sliceExtents(t.shape, dim)
        let count = slot(index).pointee.shape.product
        let add = AddSlices(source: UnsafeRawPointer(rawBase(src)), target: rawBase(out), index: base(index, as: Int64.self),
                            outer: outer, size: size, inner: inner, count: count, assign: mode == .assign)
        if t.dtype == .bool {
            // Bool adds as or (PyTorch's index_add_ on bool).
            let wide = convert(out, to: .uint8)
            let widened = AddSlices(source: UnsafeRawPointer(rawBase(convert(src, to: .uint8))), target: rawBase(wide),
                                    index: add.index, outer: outer, size: size, inner: inner, count: count, assign: mode == .assign)
            DType.uint8.withIntegerElement(widened)
            return convert(wide, to: .bool)
        }
        t.dtype.kernelType.withNumericElement(add)
        return rounded(out, to: t.dtype)
    }

}

/// `index_add`'s accumulation in the target's element type (integers wrap), or `index_put`'s
/// assignment.
private struct AddSlices: FloatComputation, IntegerComputation {
    let source: UnsafeRawPointer, target: UnsafeMutableRawPointer, index: UnsafeMutablePointer<Int64>
    let outer: Int, size: Int, inner: Int, count: Int, assign: Bool

    func run<T: FloatElement>(_: T.Type) { accumulate(T.self) { assign ? $1 : $0 + $1 } }
    func run<T: IntegerElement>(_: T.Type) { accumulate(T.self) { assign ? $1 : $0 &+ $1 } }

    @inline(__always)
    private func accumulate<T>(_: T.Type, _ add: (T, T) -> T) {
        let s = source.assumingMemoryBound(to: T.self), t = target.assumingMemoryBound(to: T.self)
        for o in 0..<outer {
            for j in 0..<count {
                let from = s + (o * count + j) * inner, to = t + (o * size + Int(index[j])) * inner
                for r in 0..<inner { to[r] = add(to[r], from[r]) }
            }
        }
    }
}

extension Tensor {
    /// The slices along `dim` at the positions `index` names, in its order (`torch.index_select`,
    /// `IndexSelectBackward0`). `index` is a 0- or 1-dimensional int64 or int32 tensor of
    /// positions in `0..<size` (no negative positions, as in PyTorch).
    public func indexSelect(dim: Int, _ index: Tensor) throws(TapeGradError) -> Tensor {
        let s = info
        let d = try Shapes.normalize(dim: dim, rank: s.shape.count)
        guard index.rank <= 1 else { throw .index("index_select(): Index is supposed to be a vector") }
        guard s.shape.count > 0 || index.count == 1 else {
            throw .runtime("index_select(): Index to scalar can have only 1 value, got \(index.count) value(s)")
        }
        guard index.dtype == .int64 || index.dtype == .int32 else {
            throw .runtime("index_select(): Expected dtype int32 or int64 for index")
        }
        let e = engine
        let positions = e.memory.contiguousOperand(index, as: .int64)
        let size = s.shape.count == 0 ? 1 : s.shape[d]
        if size == 0 && positions.count > 0 && s.shape.count > 1 {
            throw .runtime("index_select(): self indexing axis dim should be positive")
        }
        let p = e.pointee.base(positions, as: Int64.self)
        for j in 0..<positions.count where p[j] < 0 || p[j] >= Int64(size) {
            // PyTorch's kernel for dimension 1 is a gather, with its own message.
            if d == 1 { throw .runtime("INDICES element is out of DATA bounds, id=\(p[j]) axis_dim=\(size)") }
            throw .index("index out of range in self")
        }
        let flat = positions.rank == 0 ? positions.reshaped(Dims(CollectionOfOne(1))) : positions
        var out = e.memory.selectSlices(self, dim: d, index: flat)
        // A 0-dim input gives a 0-dim result.
        if s.shape.count == 0 { out = out.reshaped(Dims()) }
        var record = Record(.indexSelect, result: out, a: self)
        record.c = flat
        record.i0 = Int16(d)
        return e.pointee.recordIfNeeded(record)
    }

    /// This tensor with the slices of `source` along `dim` added at the positions `index`
    /// names, repeated positions adding up (`torch.index_add`, `IndexAddBackward0`). `source`
    /// has this shape except along `dim`, where it has one slice per index.
    public func indexAdd(dim: Int, _ index: Tensor, _ source: Tensor) throws(TapeGradError) -> Tensor {
        let (d, positions) = try checkIndexAdd(dim: dim, index, source)
        let out = memory.addSlices(into: self, dim: d, index: positions, source: source)
        var record = Record(.indexAdd, result: out, a: self, b: source)
        record.c = positions
        record.i0 = Int16(d)
        return engine.pointee.recordIfNeeded(record)
    }

    /// index_add's checks in PyTorch's order (its meta function, then its kernel's bounds
    /// check); returns the normalized dimension and the positions as 1-D int64.
    func checkIndexAdd(dim: Int, _ index: Tensor, _ source: Tensor) throws(TapeGradError) -> (Int, Tensor) {
        let s = info, src = source.info
        let d = try Shapes.normalize(dim: dim, rank: s.shape.count)
        guard index.rank <= 1 else {
            throw .index("index_add_(): Index is supposed to be a vector, but got dim: \(index.rank) with type: \(index.dtype.scalarTypeName) and size: \(index.shape.bracketed)")
        }
        guard index.dtype == .int64 || index.dtype == .int32 else {
            throw .runtime("index_add_(): Expected dtype int32/int64 for index but got: \(index.dtype.scalarTypeName)")
        }
        guard s.dtype == src.dtype else {
            throw .runtime("index_add_(): self (\(s.dtype.scalarTypeName)) and source (\(src.dtype.scalarTypeName)) must have the same scalar type")
        }
        guard d == 0 || d < src.shape.count else {
            throw .runtime("index_add_(): Indexing dim \(d) is out of bounds of the source tensor with dim \(src.shape.count)")
        }
        let count = index.count
        let sourceSize = src.shape.count == 0 ? 1 : src.shape[d]
        guard count == sourceSize else {
            // PyTorch's message reads `source.size(dim)`, which a 0-dim source refuses.
            if src.shape.count == 0 { throw .index("Dimension specified as 0 but tensor has no dimensions") }
            throw .runtime("index_add_(): Number of indices (\(count)) should be equal to source.size(dim): (\(sourceSize)), for dim: \(d)")
        }
        // The shapes but for `dim` (whole shapes when either is 0-dim).
        var selfRest = s.shape.array, sourceRest = src.shape.array
        if s.shape.count > 0 && src.shape.count > 0 {
            selfRest.remove(at: d)
            sourceRest.remove(at: d)
        }
        guard selfRest == sourceRest else {
            throw .runtime("source tensor shape must match self tensor shape, excluding the specified dimension. Got self.shape = \(s.shape.array.bracketed) source.shape = \(src.shape.array.bracketed)")
        }
        let e = engine
        let positions = e.memory.contiguousOperand(index, as: .int64)
        let size = s.shape.count == 0 ? 1 : s.shape[d]
        let p = e.pointee.base(positions, as: Int64.self)
        for j in 0..<count where p[j] < 0 || p[j] >= Int64(size) {
            // PyTorch's kernel: int64 positions of slices along the first or last dimension
            // of a tensor of rank 2 or more are checked by one loop, the others by another.
            if index.dtype == .int64 && s.shape.count > 1 && (d == 0 || d == s.shape.count - 1) {
                throw .runtime("index \(p[j]) is out of bounds for dimension \(d) with size \(size)")
            }
            throw .index("index out of range in self")
        }
        return (d, positions.rank == 0 ? positions.reshaped(Dims(CollectionOfOne(1))) : positions)
    }

    /// `t[indices]` for an integer or bool tensor (see ``index(_:)``); the setter writes
    /// `t[indices] = value` (``indexPut_(indices:_:accumulate:)``). Traps where they throw.
    public subscript(_ indices: Tensor) -> Tensor {
        get { trapping { try index(indices) } }
        nonmutating set { trapping { try setItem([indices], to: newValue) } }
    }

    /// The rows (slices along dimension 0) that an integer tensor names, shaped
    /// `indices.shape + shape[1...]` (PyTorch's `t[indices]`, `IndexBackward0`); negative
    /// indices count from the end.
    public func index(_ indices: Tensor) throws(TapeGradError) -> Tensor { try index(indices, dim: 0) }

    /// The slices along `dim` that an integer tensor names, shaped `shape[..<dim] +
    /// indices.shape + shape[(dim + 1)...]`: a subscript's one index tensor at `dim`
    /// (`t[:, indices]`, `IndexBackward0`). A bool tensor is a mask, at dimension 0 only.
    func index(_ indices: Tensor, dim: Int, position: Int? = nil) throws(TapeGradError) -> Tensor {
        switch indices.dtype {
        case .bool, .uint8:
            // uint8 is still a mask in PyTorch (deprecated there).
            let mask = indices.dtype == .uint8 ? indices.to(.bool) : indices
            return dim == 0 ? try index(mask: mask) : try index(mask: mask, dim: dim)
        case .int64, .int32:
            break
        case .float32, .float64, .float16, .bfloat16, .int16, .int8:
            throw .index(rank == 0 ? "too many indices for tensor of dimension 0" : "tensors used as indices must be long, int, byte or bool tensors")
        }
        guard dim < rank else { throw .index("too many indices for tensor of dimension \(rank)") }
        let e = engine
        // An empty tensor whose indexed dimension is not: PyTorch's kernel moves nothing and
        // checks nothing.
        let size = info.shape[dim]
        // A 0-dim index is an integer to PyTorch: its message names the subscript place; an
        // index with dimensions goes through the advanced-indexing kernel, whose names 0.
        // (A 0-dim index selects, and is checked even then.)
        let rows = try Self.wrappedIndices(indices, size: size, checked: count > 0 || size == 0 || indices.rank == 0,
                                           position: indices.rank == 0 ? position ?? 0 : 0)
        let out = e.memory.selectSlices(self, dim: dim, index: rows.reshaped(Dims(CollectionOfOne(rows.count))))
        var record = Record(.indexRows, result: out.reshaped(Self.indexedShape(info.shape, dim, rows.info.shape)), a: self)
        record.c = rows
        record.i0 = Int16(dim)
        return e.pointee.recordIfNeeded(record)
    }

    /// A mask over dimensions `dim..<dim + mask.rank` (`t[:, mask]`): those dimensions
    /// flattened into one, indexed by the mask's true positions.
    private func index(mask: Tensor, dim: Int) throws(TapeGradError) -> Tensor {
        let s = info.shape, m = mask.info.shape
        guard dim + m.count <= s.count else { throw .index("too many indices for tensor of dimension \(s.count)") }
        for i in 0..<m.count where m[i] != s[dim + i] {
            throw .index("The shape of the mask \(m.array.bracketed) at index \(i) does not match the shape of the indexed tensor \(s.array.bracketed) at index \(dim + i)")
        }
        let (flat, positions) = try flattened(forMask: mask, at: dim)
        return try flat.index(positions, dim: dim)
    }

    /// This tensor with the dimensions a mask covers (from `dim` on, checked by the caller)
    /// flattened into one, and the mask's true positions among them (int64).
    private func flattened(forMask mask: Tensor, at dim: Int) throws(TapeGradError) -> (Tensor, Tensor) {
        let s = info.shape
        var flat = [Int]()
        for d in 0..<dim { flat.append(s[d]) }
        flat.append(mask.count)
        for d in (dim + mask.rank)..<s.count { flat.append(s[d]) }
        return (try reshape(flat), try mask.reshape([-1]).nonzero().reshape([-1]))
    }

    /// `shape` with dimension `dim` replaced by the index's dimensions.
    static func indexedShape(_ shape: Dims, _ dim: Int, _ index: Dims) -> Dims {
        var out = Dims()
        for d in 0..<dim { out.append(shape[d]) }
        for d in 0..<index.count { out.append(index[d]) }
        for d in (dim + 1)..<shape.count { out.append(shape[d]) }
        return out
    }

    /// A contiguous int64 copy of `indices` with negative ones wrapped, after PyTorch's bounds
    /// check (`index 4 is out of bounds for dimension 0 with size 4`).
    static func wrappedIndices(_ indices: Tensor, size: Int, checked: Bool = true, position: Int = 0) throws(TapeGradError) -> Tensor {
        let e = engine
        let source = e.memory.contiguousOperand(indices, as: .int64)
        let out = e.pointee.makeTensor(shape: source.info.shape, dtype: .int64)
        let p = e.pointee.base(source, as: Int64.self), q = e.pointee.base(out, as: Int64.self)
        for j in 0..<source.count {
            let v = p[j]
            guard !checked || (v >= -Int64(size) && v < Int64(size)) else {
                // (A 0-dim index is an integer index to PyTorch, with its message.)
                throw .index(size == 0 && indices.rank > 0 ? "index is out of bounds for dimension with size 0"
                                                           : "index \(v) is out of bounds for dimension \(position) with size \(size)")
            }
            q[j] = v < 0 ? v + Int64(size) : v
        }
        return out
    }

    /// This tensor with `values` written (added, with `accumulate`) at the slices along
    /// dimension 0 that an integer tensor names (`torch.index_put` with one index,
    /// `IndexPutBackward0`); `values` broadcasts to the indexed shape, as `t[indices]`'s
    /// result. Of repeated positions, without `accumulate`, the last one wins.
    public func indexPut(indices: Tensor, _ values: Tensor, accumulate: Bool = false) throws(TapeGradError) -> Tensor {
        guard values.dtype == dtype else {
            throw .runtime("Index put requires the source and destination dtypes match, got \(dtype.scalarTypeName) for the destination and \(values.dtype.scalarTypeName) for the source.")
        }
        switch indices.dtype {
        case .int64, .int32: break
        case .bool, .uint8:
            let mask = indices.dtype == .uint8 ? indices.to(.bool) : indices
            guard accumulate else {
                // A one-element value goes through masked_fill_ (PyTorch's
                // `canDispatchToMaskedFill`), which takes bool masks only.
                if indices.dtype == .uint8 && values.count == 1 {
                    try checkMaskIndex(mask)
                    throw .runtime("masked_fill_ only supports boolean masks, but got mask with dtype unsigned char")
                }
                let copy = clone()
                try copy.indexPut_(mask: mask, values)
                return copy
            }
            // Accumulating through a mask: its true positions of the flattened leading
            // dimensions, as integer indices.
            try checkMaskIndex(mask)
            guard mask.rank > 0 else { throw .runtime("TapeGrad: index_put with a 0-dim mask and accumulate is not supported yet") }
            let (flat, positions) = try flattened(forMask: mask, at: 0)
            return try flat.indexPut(indices: positions, values, accumulate: true).reshape(shape)
        case .float32, .float64, .float16, .bfloat16, .int16, .int8:
            throw .index("tensors used as indices must be long, int, byte or bool tensors")
        }
        guard rank > 0 else { throw .index("too many indices for tensor of dimension 0 (got 1)") }
        // The values' shape is checked before the positions (but for a dimension of size 0).
        if info.shape[0] == 0 && indices.count > 0 { _ = try Self.wrappedIndices(indices, size: 0) }
        let target = Self.indexedShape(info.shape, 0, indices.info.shape)
        guard let common = try? Shapes.broadcast(target, values.info.shape), common == target else {
            throw .runtime("shape mismatch: value tensor of shape \(values.shape.bracketed) cannot be broadcast to indexing result of shape \(target.array.bracketed)")
        }
        let rows = try Self.wrappedIndices(indices, size: info.shape[0], checked: count > 0 || info.shape[0] == 0)
        let e = engine
        let flatShape = Self.indexedShape(info.shape, 0, Dims(CollectionOfOne(rows.count)))
        let spread = noGrad { values.expanded(to: target) }.reshaped(flatShape)
        let out = e.memory.addSlices(into: self, dim: 0, index: rows.reshaped(Dims(CollectionOfOne(rows.count))), source: spread,
                                      mode: accumulate ? .add : .assign)
        var record = Record(.indexPutRows, result: out, a: self, b: values)
        record.c = rows
        record.s0 = accumulate ? 1 : 0
        return e.pointee.recordIfNeeded(record)
    }

    /// `indexPut(indices:_:accumulate:)` in place (`tensor.index_put_`, `t[indices] = values`).
    @discardableResult
    public func indexPut_(indices: Tensor, _ values: Tensor, accumulate: Bool = false) throws(TapeGradError) -> Tensor {
        try checkNoInternalOverlap()
        try commitInPlace(try indexPut(indices: indices, values, accumulate: accumulate))
        return self
    }

    /// This tensor with `values` (shaped as `index(rows, dim:)`'s result) added at the slices
    /// along `dim` that `rows` names (in range, int64): `index_put_(…, accumulate=True)`,
    /// recorded as `IndexPutImplBackward0`.
    func accumulatingRows(_ rows: Tensor, _ values: Tensor, dim: Int) -> Tensor {
        let e = engine
        let flatRows = rows.reshaped(Dims(CollectionOfOne(rows.count)))
        let flatShape = Self.indexedShape(info.shape, dim, Dims(CollectionOfOne(rows.count)))
        let out = e.memory.addSlices(into: self, dim: dim, index: flatRows, source: values.reshaped(flatShape))
        var record = Record(.indexAccumulate, result: out, a: self, b: values)
        record.c = rows
        record.i0 = Int16(dim)
        return e.pointee.recordIfNeeded(record)
    }
}

enum IntegerIndexingBackward {
    /// index_select: the gradient's slices added back at the positions they came from.
    static func indexSelect(_ r: Record, _ g: Tensor) -> Gradients {
        let d = Int(r.i0)
        let zeros = r.a.zerosLike()
        let gSlices = r.a.rank == 0 ? g.reshaped(Dims(CollectionOfOne(1))) : g
        let grad = trapping { try (r.a.rank == 0 ? zeros.reshaped(Dims(CollectionOfOne(1))) : zeros).indexAdd(dim: d, r.c, gSlices) }
        return Gradients(a: r.a.rank == 0 ? grad.reshaped(Dims()) : grad)
    }

    /// index_add: the input's gradient passes through; the source's is the gradient's slices
    /// at the positions it was added to.
    static func indexAdd(_ r: Record, _ g: Tensor) -> Gradients {
        let d = Int(r.i0)
        return Gradients(a: r.needsA ? g : .null,
                         b: r.needsB ? trapping { try g.indexSelect(dim: d, r.c) }.reshaped(r.b.info.shape) : .null)
    }

    /// `t[indices]`: the gradient's rows added into zeros at the rows they came from.
    static func indexRows(_ r: Record, _ g: Tensor) -> Gradients {
        Gradients(a: r.a.zerosLike().accumulatingRows(r.c, g, dim: Int(r.i0)))
    }

    /// index_put: the input's gradient without the written positions (all of it when they
    /// accumulated); the values' is the gradient there, summed to their shape.
    static func indexPutRows(_ r: Record, _ g: Tensor) -> Gradients {
        trapping { () throws(TapeGradError) -> Gradients in
            let kept = r.s0 == 1 ? g : try g.indexPut(indices: r.c, memory.scalar(0, dtype: g.dtype))
            return Gradients(a: r.needsA ? kept : .null, b: r.needsB ? try g.index(r.c).sumTo(shapeOf: r.b) : .null)
        }
    }

    /// The accumulating put: the zeros' gradient passes through, the values' is the
    /// gradient's rows at the indices.
    static func indexAccumulate(_ r: Record, _ g: Tensor) -> Gradients {
        Gradients(a: r.needsA ? g : .null, b: r.needsB ? trapping { try g.index(r.c, dim: Int(r.i0)) } : .null)
    }
}

extension Shapes {
    /// A shape seen as `[outer, size, inner]` around `dim` (a 0-dim shape as one element).
    static func sliceExtents(_ shape: Dims, _ dim: Int) -> (outer: Int, size: Int, inner: Int) {
        guard shape.count > 0 else { return (1, 1, 1) }
        var outer = 1, inner = 1
        for d in 0..<dim { outer *= shape[d] }
        for d in (dim + 1)..<shape.count { inner *= shape[d] }
        return (outer, shape[dim], inner)
    }
}
