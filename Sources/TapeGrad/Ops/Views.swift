// Views: tensors that share their base's storage with other sizes, strides or offset. Each
// op's backward maps the gradient back to the base's layout (reshape, transpose back, or sum
// over expanded dimensions).

extension Tensor {
    /// Makes and records a view of `self`.
    @inline(__always)
    func view(_ op: OpCode, shape: Dims, strides: Dims, offset: Int? = nil, configure: (inout Record) -> Void = { _ in }) -> Tensor {
        let e = engine
        let source = info
        // `_unsafe_view` (of a fresh product or copy) is no view for autograd: an in-place op
        // on its result gives that op's node, not CopySlices.
        let out = e.pointee.makeView(of: self, shape: shape, strides: strides, offset: offset ?? source.offset,
                                     autogradView: op != .unsafeView)
        var record = Record(op, result: out, a: self)
        configure(&record)
        return e.pointee.recordIfNeeded(record)
    }

    /// Resolves one `-1` in a requested shape and checks the element count.
    static func resolve(shape requested: [Int], count: Int) throws(TapeGradError) -> Dims {
        try requested.withUnsafeBufferPointer { (sizes) throws(TapeGradError) -> Dims in try resolve(shape: sizes, count: count) }
    }

    /// `resolve` of up to four sizes held inline (no array).
    static func resolve(shape requested: ShapeArguments, count: Int) throws(TapeGradError) -> Dims {
        var values = requested.values
        return try withUnsafePointer(to: &values) { (tuple) throws(TapeGradError) -> Dims in
            try tuple.withMemoryRebound(to: Int.self, capacity: 4) { (first) throws(TapeGradError) -> Dims in
                try resolve(shape: UnsafeBufferPointer(start: first, count: requested.count), count: count)
            }
        }
    }

    private static func resolve(shape requested: UnsafeBufferPointer<Int>, count: Int) throws(TapeGradError) -> Dims {
        var inferred: Int? = nil
        var known = 1
        var overflow = false
        var i = 0
        for size in requested {
            if size == -1 {
                if inferred != nil { throw .runtime("only one dimension can be inferred") }
                inferred = i
            } else if size < 0 {
                throw .runtime("invalid shape dimension \(size) at index \(i) of shape \(Array(requested).bracketed)")
            } else {
                let (product, overflowed) = known.multipliedReportingOverflow(by: size)
                known = product
                overflow = overflow || overflowed || size > Int(Int32.max)
            }
            i += 1
        }
        // Sizes TapeGrad cannot hold are sizes no element count matches.
        if overflow { throw invalidShape(Array(requested), count) }
        try Shapes.checkRank(requested.count)
        var shape = Dims()
        for size in requested { shape.append(size) }
        if let inferred {
            if known == 0 && count == 0 {
                throw .runtime("cannot reshape tensor of 0 elements into shape \(Array(requested).bracketed) because the unspecified dimension size -1 can be any value and is ambiguous")
            }
            guard known != 0, count % known == 0 else { throw invalidShape(Array(requested), count) }
            shape[inferred] = count / known
        } else if known != count {
            throw invalidShape(Array(requested), count)
        }
        return shape
    }

    private static func invalidShape(_ shape: [Int], _ count: Int) -> TapeGradError {
        .runtime("shape '\(shape.bracketed)' is invalid for input of size \(count)")
    }

    /// Strides that let a tensor of `shape`/`strides` be seen with `newShape` without copying,
    /// or nil (PyTorch's `computeStride`).
    static func viewStrides(shape: Dims, strides: Dims, newShape: Dims) -> Dims? {
        if shape.product == 0 || shape.count == 0 { return newShape.contiguousStrides }
        var newStrides = Dims()
        for _ in 0..<newShape.count { newStrides.append(0) }
        var viewD = newShape.count - 1
        var chunkBaseStride = strides[shape.count - 1]
        var tensorNumel = 1
        var viewNumel = 1
        var tensorD = shape.count - 1
        while tensorD >= 0 {
            tensorNumel *= shape[tensorD]
            if tensorD == 0 || (shape[tensorD - 1] != 1 && strides[tensorD - 1] != tensorNumel * chunkBaseStride) {
                while viewD >= 0 && (viewNumel < tensorNumel || newShape[viewD] == 1) {
                    newStrides[viewD] = viewNumel * chunkBaseStride
                    viewNumel *= newShape[viewD]
                    viewD -= 1
                }
                if viewNumel != tensorNumel { return nil }
                if tensorD > 0 {
                    chunkBaseStride = strides[tensorD - 1]
                    tensorNumel = 1
                    viewNumel = 1
                }
            }
            tensorD -= 1
        }
        return viewD == -1 ? newStrides : nil
    }

    /// The same elements with another shape, sharing storage (`tensor.view`); one size may be
    /// -1. Throws when the count differs or the layout cannot be viewed that way.
    public func view(_ shape: [Int]) throws(TapeGradError) -> Tensor { try view(shape: shape) }

    /// `view` to one size (`x.view(-1)`), without an array: allocation-free in a training step.
    public func view(_ d0: Int) throws(TapeGradError) -> Tensor { try view(shape: ShapeArguments(d0)) }
    /// `view` to two sizes, without an array.
    public func view(_ d0: Int, _ d1: Int) throws(TapeGradError) -> Tensor { try view(shape: ShapeArguments(d0, d1)) }
    /// `view` to three sizes, without an array.
    public func view(_ d0: Int, _ d1: Int, _ d2: Int) throws(TapeGradError) -> Tensor { try view(shape: ShapeArguments(d0, d1, d2)) }
    /// `view` to four sizes, without an array.
    public func view(_ d0: Int, _ d1: Int, _ d2: Int, _ d3: Int) throws(TapeGradError) -> Tensor {
        try view(shape: ShapeArguments(d0, d1, d2, d3))
    }

    /// `reshape` to one size, without an array.
    public func reshape(_ d0: Int) throws(TapeGradError) -> Tensor { reshaped(try Self.resolve(shape: ShapeArguments(d0), count: info.shape.product)) }
    /// `reshape` to two sizes, without an array.
    public func reshape(_ d0: Int, _ d1: Int) throws(TapeGradError) -> Tensor {
        reshaped(try Self.resolve(shape: ShapeArguments(d0, d1), count: info.shape.product))
    }
    /// `reshape` to three sizes, without an array.
    public func reshape(_ d0: Int, _ d1: Int, _ d2: Int) throws(TapeGradError) -> Tensor {
        reshaped(try Self.resolve(shape: ShapeArguments(d0, d1, d2), count: info.shape.product))
    }
    /// `reshape` to four sizes, without an array.
    public func reshape(_ d0: Int, _ d1: Int, _ d2: Int, _ d3: Int) throws(TapeGradError) -> Tensor {
        reshaped(try Self.resolve(shape: ShapeArguments(d0, d1, d2, d3), count: info.shape.product))
    }

    private func view(shape: ShapeArguments) throws(TapeGradError) -> Tensor {
        try view(resolved: try Self.resolve(shape: shape, count: info.shape.product))
    }

    private func view(shape: [Int]) throws(TapeGradError) -> Tensor {
        try view(resolved: try Self.resolve(shape: shape, count: info.shape.product))
    }

    private func view(resolved newShape: Dims) throws(TapeGradError) -> Tensor {
        let source = info
        guard let strides = Self.viewStrides(shape: source.shape, strides: source.strides, newShape: newShape) else {
            throw .runtime("view size is not compatible with input tensor's size and stride (at least one dimension spans across two contiguous subspaces). Use .reshape(...) instead.")
        }
        return view(.view, shape: newShape, strides: strides)
    }

    /// `view` with the sizes as separate arguments: `x.view(2, 2)`.
    public func view(_ shape: Int...) throws(TapeGradError) -> Tensor { try view(shape) }

    /// The same elements with another shape: a view when the layout allows, else a copy.
    public func reshape(_ shape: [Int]) throws(TapeGradError) -> Tensor {
        let newShape = try Self.resolve(shape: shape, count: info.shape.product)
        return reshaped(newShape)
    }

    /// `reshape` with the sizes as separate arguments.
    public func reshape(_ shape: Int...) throws(TapeGradError) -> Tensor { try reshape(shape) }

    /// Reshape to a shape with the right count (internal, cannot fail).
    func reshaped(_ newShape: Dims) -> Tensor {
        let source = info
        if let strides = Self.viewStrides(shape: source.shape, strides: source.strides, newShape: newShape) {
            return view(.view, shape: newShape, strides: strides)
        }
        let copy = contiguous()
        return copy.view(.unsafeView, shape: newShape, strides: newShape.contiguousStrides)
    }

    /// A contiguous tensor with the same values: `self` when already contiguous, else a copy.
    public func contiguous() -> Tensor {
        if info.isContiguous { return self }
        return clone()
    }

    /// A copy with its own storage, recorded so gradients flow back (`tensor.clone()`).
    public func clone() -> Tensor {
        let e = engine
        let out = e.memory.convert(self, to: info.dtype)
        return e.pointee.recordIfNeeded(Record(.clone, result: out, a: self))
    }

    /// Flattens dimensions `startDim...endDim` into one (`torch.flatten`).
    public func flatten(startDim: Int = 0, endDim: Int = -1) throws(TapeGradError) -> Tensor {
        let shape = info.shape
        // Checked first: a 0-dim tensor takes only -1 and 0, as in PyTorch.
        let start = try Shapes.normalize(dim: startDim, rank: shape.count)
        let end = try Shapes.normalize(dim: endDim, rank: shape.count)
        if shape.count == 0 { return reshaped(Dims(CollectionOfOne(1))) }
        guard start <= end else { throw .runtime("flatten() has invalid args: start_dim cannot come after end_dim") }
        if start == end { return self }
        var newShape = Dims()
        for d in 0..<start { newShape.append(shape[d]) }
        var merged = 1
        for d in start...end { merged *= shape[d] }
        newShape.append(merged)
        for d in (end + 1)..<shape.count { newShape.append(shape[d]) }
        return reshaped(newShape)
    }

    /// The transpose of a matrix; vectors and scalars come back as they are (`tensor.t()`).
    public func t() throws(TapeGradError) -> Tensor {
        let s = info
        guard s.shape.count <= 2 else {
            throw .runtime("t() expects a tensor with <= 2 dimensions, but self is \(s.shape.count)D")
        }
        if s.shape.count < 2 { return view(.t, shape: s.shape, strides: s.strides) }
        return view(.t, shape: Dims(s.shape[1], s.shape[0]), strides: Dims(s.strides[1], s.strides[0]))
    }

    /// Swaps two dimensions (`tensor.transpose(d0, d1)`).
    public func transpose(_ dim0: Int, _ dim1: Int) throws(TapeGradError) -> Tensor {
        let s = info
        let d0 = try Shapes.normalize(dim: dim0, rank: s.shape.count)
        let d1 = try Shapes.normalize(dim: dim1, rank: s.shape.count)
        var shape = s.shape, strides = s.strides
        if s.shape.count > 0 {
            shape.swapAt(d0, d1)
            strides.swapAt(d0, d1)
        }
        return view(.transpose, shape: shape, strides: strides) { record in
            record.dims = UInt32(d0) | UInt32(d1) << 8
        }
    }

    /// Reorders the dimensions: dimension `i` of the result is dimension `dims[i]` of `self`.
    public func permute(_ dims: [Int]) throws(TapeGradError) -> Tensor {
        let s = info
        let rank = s.shape.count
        guard dims.count == rank else {
            throw .runtime("permute(sparse_coo): number of dimensions in the tensor input does not match the length of the desired ordering of dimensions i.e. input.dim() = \(rank) is not equal to len(dims) = \(dims.count)")
        }
        var seen: UInt32 = 0
        var packed: UInt32 = 0
        for (i, dim) in dims.enumerated() {
            let d = try Shapes.normalize(dim: dim, rank: rank)
            guard seen & (1 << d) == 0 else { throw .runtime("permute(): duplicate dims are not allowed.") }
            seen |= 1 << d
            packed |= UInt32(d) << (4 * i)
        }
        return permuted(packed: packed)
    }

    /// The view whose dimension `i` is dimension `(packed >> 4i) & 0xf` of `self`: a checked
    /// permutation, as the record stores it (no array, so backward can use it too).
    func permuted(packed: UInt32) -> Tensor {
        let s = info
        var shape = Dims(), strides = Dims()
        for i in 0..<s.shape.count {
            let d = Int((packed >> (4 * UInt32(i))) & 0xf)
            shape.append(s.shape[d])
            strides.append(s.strides[d])
        }
        return view(.permute, shape: shape, strides: strides) { $0.dims = packed }
    }

    /// `permute` with the dimensions as separate arguments.
    public func permute(_ dims: Int...) throws(TapeGradError) -> Tensor { try permute(dims) }

    /// Inserts a dimension of size 1 at `dim` (`tensor.unsqueeze`).
    public func unsqueeze(_ dim: Int) throws(TapeGradError) -> Tensor {
        try Shapes.checkRank(rank + 1)
        let s = info
        let d = try Shapes.normalize(dim: dim, rank: s.shape.count + 1)
        var shape = s.shape, strides = s.strides
        let stride = d < s.shape.count ? s.shape[d] * s.strides[d] : 1
        shape.insert(1, at: d)
        strides.insert(stride, at: d)
        return view(.unsqueeze, shape: shape, strides: strides)
    }

    /// Removes dimension `dim` if its size is 1 (`tensor.squeeze(dim)`).
    public func squeeze(_ dim: Int) throws(TapeGradError) -> Tensor {
        let s = info
        let d = try Shapes.normalize(dim: dim, rank: s.shape.count)
        var shape = s.shape, strides = s.strides
        if s.shape.count > 0 && s.shape[d] == 1 {
            shape.remove(at: d)
            strides.remove(at: d)
        }
        return view(.squeezeDim, shape: shape, strides: strides)
    }

    /// Removes every dimension of size 1 (`tensor.squeeze()`).
    public func squeeze() -> Tensor {
        let s = info
        var shape = Dims(), strides = Dims()
        for d in 0..<s.shape.count where s.shape[d] != 1 {
            shape.append(s.shape[d])
            strides.append(s.strides[d])
        }
        return view(.squeeze, shape: shape, strides: strides)
    }

    /// Repeats size-1 dimensions (and prepends new ones) to `shape` without copying; -1 keeps a
    /// size (`tensor.expand`).
    public func expand(_ shape: [Int]) throws(TapeGradError) -> Tensor {
        let s = info
        try Shapes.checkRank(shape.count)
        guard shape.count >= s.shape.count else {
            throw .runtime("expand(\(s.dtype.torchTypeName){\(s.shape.array.bracketed)}, size=\(shape.bracketed)): the number of sizes provided (\(shape.count)) must be greater or equal to the number of dimensions in the tensor (\(s.shape.count))")
        }
        // PyTorch's infer_expand_geometry: from the last dimension to the first, so the first
        // mismatch named is the last one; a negative size left in a new or size-1 dimension
        // fails only when the elements are counted.
        let lead = shape.count - s.shape.count
        var target = Dims()
        for _ in 0..<shape.count { target.append(0) }
        var negative = false
        for i in (0..<shape.count).reversed() {
            let d = i - lead
            let existing = d >= 0 ? s.shape[d] : 1
            var size = shape[i]
            if size == -1 && s.shape.count > 0 {
                // (A 0-dim tensor has no sizes to keep: PyTorch counts -1 as a negative size.)
                guard d >= 0 else { throw .runtime("The expanded size of the tensor (-1) isn't allowed in a leading, non-existing dimension \(i)") }
                size = existing
            }
            if existing != size && existing != 1 {
                throw .runtime("The expanded size of the tensor (\(size)) must match the existing size (\(existing)) at non-singleton dimension \(i).  Target sizes: \(shape.bracketed).  Tensor sizes: \(s.shape.array.bracketed)")
            }
            if size < 0 { negative = true } else { target[i] = size }
        }
        if negative { throw .runtime("numel: integer multiplication overflow") }
        return expanded(to: target)
    }

    /// `expand` with the sizes as separate arguments.
    public func expand(_ shape: Int...) throws(TapeGradError) -> Tensor { try expand(shape) }

    /// Expand to a shape known to be a broadcast of this one (internal, cannot fail).
    func expanded(to target: Dims) -> Tensor {
        let s = info
        if s.shape == target { return self }
        let strides = Shapes.broadcastStrides(shape: s.shape, strides: s.strides, to: target)
        return view(.expand, shape: target, strides: strides)
    }
}

enum ViewBackward {
    static func reshape(_ r: Record, _ g: Tensor) -> Gradients { Gradients(a: g.reshaped(r.a.info.shape)) }
    static func t(_ r: Record, _ g: Tensor) -> Gradients { Gradients(a: trapping { try g.t() }) }
    static func transpose(_ r: Record, _ g: Tensor) -> Gradients {
        Gradients(a: trapping { try g.transpose(Int(r.dims & 0xff), Int(r.dims >> 8)) })
    }
    static func permute(_ r: Record, _ g: Tensor) -> Gradients {
        let rank = r.a.info.shape.count
        var inverse: UInt32 = 0
        for i in 0..<rank { inverse |= UInt32(i) << (4 * ((r.dims >> (4 * UInt32(i))) & 0xf)) }
        return Gradients(a: g.permuted(packed: inverse))
    }
    static func expand(_ r: Record, _ g: Tensor) -> Gradients { Gradients(a: g.sumTo(shapeOf: r.a)) }
    static func passThrough(_ r: Record, _ g: Tensor) -> Gradients { Gradients(a: g) }
}

/// Up to four requested sizes held inline: `view(2, 3)` builds no array.
struct ShapeArguments {
    var values: (Int, Int, Int, Int)
    let count: Int

    init(_ d0: Int) { values = (d0, 0, 0, 0); count = 1 }
    init(_ d0: Int, _ d1: Int) { values = (d0, d1, 0, 0); count = 2 }
    init(_ d0: Int, _ d1: Int, _ d2: Int) { values = (d0, d1, d2, 0); count = 3 }
    init(_ d0: Int, _ d1: Int, _ d2: Int, _ d3: Int) { values = (d0, d1, d2, d3); count = 4 }
}
