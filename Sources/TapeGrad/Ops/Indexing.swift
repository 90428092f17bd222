// Indexing: selecting and slicing views, subscripts with PyTorch's meaning, boolean masks,
// and joining tensors (cat, stack).

/// One position in a subscript: an index (removes the dimension), a range with a step,
/// everything (`:`), `...`, a new axis (`None`), or an index tensor.
public enum TensorIndex: Sendable {
    /// `t[i]`: one index of the dimension, which goes away; negative counts from the end.
    case index(Int)
    /// `t[start:end:step]`: `nil` bounds mean the dimension's ends; bounds are clamped as in Python.
    case range(start: Int?, end: Int?, step: Int)
    /// `t[..., 0]`: as many `:` as the dimensions the other items leave.
    case ellipsis
    /// `t[None]`: a new dimension of size 1 here.
    case newAxis
    /// `t[:, indices]`: the slices an int64 (or int32) tensor names, its dimensions in place of
    /// this one (`IndexBackward0`); a bool tensor first is a mask. One per subscript.
    case tensor(Tensor)
}

/// Things that can stand in a tensor subscript: `Int`, ranges of `Int`, `[Int]`, tensors, and
/// ``TensorIndex``.
public protocol TensorIndexConvertible {
    /// The subscript position this value means.
    var tensorIndex: TensorIndex { get }
}

extension TensorIndex: TensorIndexConvertible {
    /// Itself.
    public var tensorIndex: TensorIndex { self }
}
extension Int: TensorIndexConvertible {
    /// `t[i]`.
    public var tensorIndex: TensorIndex { .index(self) }
}
extension Range: TensorIndexConvertible where Bound == Int {
    /// `t[a..<b]` is `t[a:b]`.
    public var tensorIndex: TensorIndex { .range(start: lowerBound, end: upperBound, step: 1) }
}
extension ClosedRange: TensorIndexConvertible where Bound == Int {
    /// `t[a...b]` is `t[a:b+1]`.
    public var tensorIndex: TensorIndex { .range(start: lowerBound, end: upperBound + 1, step: 1) }
}
extension PartialRangeFrom: TensorIndexConvertible where Bound == Int {
    /// `t[a...]` is `t[a:]`.
    public var tensorIndex: TensorIndex { .range(start: lowerBound, end: nil, step: 1) }
}
extension PartialRangeUpTo: TensorIndexConvertible where Bound == Int {
    /// `t[..<b]` is `t[:b]`.
    public var tensorIndex: TensorIndex { .range(start: nil, end: upperBound, step: 1) }
}
extension PartialRangeThrough: TensorIndexConvertible where Bound == Int {
    /// `t[...b]` is `t[:b+1]`.
    public var tensorIndex: TensorIndex { .range(start: nil, end: upperBound + 1, step: 1) }
}

extension Array: TensorIndexConvertible where Element == Int {
    /// `t[[0, 2]]` is `t[tensor([0, 2])]`.
    public var tensorIndex: TensorIndex { .tensor(trapping { try Tensor(integers: map(Int64.init), shape: [count]) }) }
}
extension Tensor: TensorIndexConvertible {
    /// An index tensor (see ``TensorIndex/tensor(_:)``).
    public var tensorIndex: TensorIndex { .tensor(self) }
}

extension TensorIndexConvertible where Self == TensorIndex {
    /// `:`, the whole dimension.
    public static var all: TensorIndex { .range(start: nil, end: nil, step: 1) }
    /// `start:end:step`: `t[.slice(1, 4)]`, `t[.slice(step: 2)]` for `::2`.
    public static func slice(_ start: Int? = nil, _ end: Int? = nil, step: Int = 1) -> TensorIndex {
        .range(start: start, end: end, step: step)
    }
}

extension Tensor {
    /// The slice at `index` along `dim`, without that dimension; a view (`tensor.select`).
    public func select(dim: Int, index: Int) throws(TapeGradError) -> Tensor {
        try select(dim: dim, index: index, fromSubscript: false)
    }

    /// `select`, with the message PyTorch gives for a subscript (`t[5]`) or for `select()`.
    func select(dim: Int, index: Int, fromSubscript: Bool, position: Int? = nil) throws(TapeGradError) -> Tensor {
        let s = info
        guard s.shape.count > 0 else {
            // PyTorch's subscript takes index 0 of a 0-dim tensor for an item() mistake, and
            // checks any other index against a size of 0.
            throw .index(!fromSubscript ? "select() cannot be applied to a 0-dim tensor."
                         : index == 0 ? "invalid index of a 0-dim tensor. Use `tensor.item()` in Python or `tensor.item<T>()` in C++ to convert a 0-dim tensor to a number"
                         : "index \(index) is out of bounds for dimension 0 with size 0")
        }
        let d = try Shapes.normalize(dim: dim, rank: s.shape.count)
        let size = s.shape[d]
        guard index >= -size && index < size else {
            throw .index(fromSubscript ? "index \(index) is out of bounds for dimension \(position ?? d) with size \(size)"
                                   : "select(): index \(index) out of range for tensor of size \(s.shape.array.bracketed) at dimension \(d)")
        }
        let i = index < 0 ? index + size : index
        var shape = s.shape, strides = s.strides
        shape.remove(at: d)
        strides.remove(at: d)
        return view(.select, shape: shape, strides: strides, offset: s.offset + i * s.strides[d]) { r in
            r.i0 = Int16(d)
            r.s0 = Double(i)
        }
    }

    /// Elements `start, start+step, …` below `end` along `dim`; a view (`tensor[..., a:b:c]`).
    public func slice(dim: Int, start: Int? = nil, end: Int? = nil, step: Int = 1) throws(TapeGradError) -> Tensor {
        let s = info
        guard s.shape.count > 0 else { throw .index("slice() cannot be applied to a 0-dim tensor.") }
        guard step != 0 else { throw TapeGradError(.valueError, "slice step cannot be zero") }
        guard step > 0 else { throw TapeGradError(.valueError, "step must be greater than zero") }
        let d = try Shapes.normalize(dim: dim, rank: s.shape.count)
        let size = s.shape[d]
        func clamp(_ v: Int?, _ fallback: Int) -> Int {
            guard var v else { return fallback }
            if v < 0 { v += size }
            return Swift.min(Swift.max(v, 0), size)
        }
        let lower = clamp(start, 0)
        let upper = Swift.max(clamp(end, size), lower)
        let length = (upper - lower + step - 1) / step
        var shape = s.shape, strides = s.strides
        shape[d] = length
        strides[d] = s.strides[d] * step
        return view(.slice, shape: shape, strides: strides, offset: s.offset + lower * s.strides[d]) { r in
            r.i0 = Int16(d)
            r.s0 = Double(lower)
            r.s1 = Double(step)
        }
    }

    /// What a subscript names (PyTorch's indexing): a view for indices, ranges, `...` and new
    /// axes; with an index tensor, the slices it names (a copy, `IndexBackward0`).
    public func index(_ items: [any TensorIndexConvertible]) throws(TapeGradError) -> Tensor {
        let given = items.map(\.tensorIndex)
        // More items than dimensions: PyTorch's error before any of them is applied (a lone
        // index of a 0-dim tensor gets select's message instead).
        let lone: Bool = if given.count == 1, case .index = given[0] { true } else { false }
        if Self.consumedDimensions(given) > rank && !lone { throw .index("too many indices for tensor of dimension \(rank)") }
        var result = self
        var dim = 0
        // The item's place in the subscript, which PyTorch's messages name.
        var position = 0
        var indexTensor: (tensor: Tensor, dim: Int, position: Int)? = nil
        for (item, counts) in try expandingEllipsis(given) {
            // An ellipsis takes one place, whatever it stands for.
            if !counts { position -= 1 }
            switch item {
            case .index(let i):
                result = try result.select(dim: dim, index: i, fromSubscript: true, position: position)
                position += 1
            case .range(let start, let end, let step):
                result = try result.slice(dim: dim, start: start, end: end, step: step)
                dim += 1
                position += 1
            case .newAxis:
                result = try result.unsqueeze(dim)
                dim += 1
                position += 1
            case .tensor(let t):
                guard indexTensor == nil else { throw .runtime("TapeGrad: subscripts with more than one index tensor are not supported yet") }
                // Applied last, so that the items after it index the dimensions it leaves.
                indexTensor = (t, dim, position)
                dim += t.dtype == .bool || t.dtype == .uint8 ? t.rank : 1
                position += 1
            case .ellipsis:
                // An ellipsis that stands for no dimension still takes a place.
                position += 1
            }
        }
        guard let (t, d, place) = indexTensor else { return result }
        return try result.index(t, dim: d, position: place)
    }

    /// The subscript with its first `...` replaced by as many `:` as the dimensions the other
    /// items leave (later ones stand for none, as PyTorch takes them).
    /// Each item with whether it takes a place of its own in PyTorch's messages (the `:`s an
    /// ellipsis stands for take one between them).
    private func expandingEllipsis(_ items: [TensorIndex]) throws(TapeGradError) -> [(TensorIndex, Bool)] {
        guard let first = items.firstIndex(where: { if case .ellipsis = $0 { true } else { false } }) else {
            return items.map { ($0, true) }
        }
        let expansion = Swift.max(rank - Self.consumedDimensions(items), 0)
        var out = items[..<first].map { ($0, true) }
        out.append((.ellipsis, true))
        out += Array(repeating: (TensorIndex.all, false), count: expansion)
        out += items[(first + 1)...].filter { if case .ellipsis = $0 { false } else { true } }.map { ($0, true) }
        return out
    }

    /// The dimensions a subscript's items index (a mask takes as many as it has).
    private static func consumedDimensions(_ items: [TensorIndex]) -> Int {
        var consumed = 0
        for item in items {
            switch item {
            case .index, .range: consumed += 1
            case .tensor(let t): consumed += t.dtype == .bool || t.dtype == .uint8 ? t.rank : 1
            case .ellipsis, .newAxis: break
            }
        }
        return consumed
    }

    /// Writes `value` (broadcast) into the elements a subscript names (`t[i, a:b] = value`).
    public func setItem(_ items: any TensorIndexConvertible..., to value: Tensor) throws(TapeGradError) {
        try setItem(items, to: value)
    }

    /// Writes `value` (broadcast) into the elements a subscript names.
    public func setItem(_ items: [any TensorIndexConvertible], to value: Tensor) throws(TapeGradError) {
        if items.count == 1, case .tensor(let indices) = items[0].tensorIndex {
            // `t[indices] = value`: PyTorch's index_put_, the value in this tensor's dtype.
            try indexPut_(indices: indices, value.dtype == dtype ? value : value.to(dtype))
            return
        }
        if items.contains(where: { if case .tensor = $0.tensorIndex { true } else { false } }) {
            throw .runtime("TapeGrad: writing through an index tensor after other subscript items is not supported yet; use indexPut_(indices:_:) or scatter_")
        }
        let region = try noGrad { () throws(TapeGradError) -> Tensor in try self.index(items) }
        let rs = region.info.shape, vs = value.info.shape
        var value = value
        if rs != vs && vs.count > 0 {
            // PyTorch's copy_to: the value without its leading 1s, expanded to the region (with
            // expand's errors, which are made only when the shapes do not fit).
            var lead = 0
            while lead < vs.count && vs[lead] == 1 { lead += 1 }
            var stripped = Dims()
            for d in lead..<vs.count { stripped.append(vs[d]) }
            if (try? Shapes.broadcast(stripped, rs)) != rs {
                _ = try noGrad { () throws(TapeGradError) -> Tensor in try value.reshaped(stripped).expand(rs.array) }
            }
            if lead > 0 { value = value.reshaped(stripped) }
        }
        try region.copy_(value)
    }

    /// Basic indexing, PyTorch's `t[1]`, `t[1..<4, .slice(step: 2)]`: the getter is a view; the
    /// setter writes a value into those elements (in place, recorded like PyTorch's CopySlices).
    /// Traps where ``index(_:)`` or ``setItem(_:to:)-([TensorIndexConvertible],_)`` throw.
    public subscript(_ items: any TensorIndexConvertible...) -> Tensor {
        get { trapping { try index(items) } }
        nonmutating set { trapping { try setItem(items, to: newValue) } }
    }

    /// One element as a number, or a value written into the elements a subscript names:
    /// `y[0] = -2.0`, `a[0, 1] = 10` (the tensor-valued subscript is preferred for reading).
    @_disfavoredOverload
    public subscript(_ items: any TensorIndexConvertible...) -> Double {
        get { trapping { try index(items).item() } }
        nonmutating set {
            trapping {
                try Number(newValue).checkFits(in: dtype, count: try index(items).count)
                try setItem(items, to: Tensor.full(dims: Dims(), newValue, dtype: dtype))
            }
        }
    }

    /// Boolean-mask indexing with a number: the getter reads the one selected element
    /// (`t[mask].item()`), the setter writes a number where `mask` (over the leading
    /// dimensions) is true: `g[mask: input < 0] = 0`. Traps where ``maskedAssign_(mask:_:)`` throws.
    @_disfavoredOverload
    public subscript(mask mask: Tensor) -> Double {
        get { trapping { try index(mask: mask).item() } }
        nonmutating set { trapping { try maskedAssign_(mask: mask, newValue) } }
    }

    /// Boolean-mask indexing, PyTorch's `t[mask]`: the rows where `mask` (over the leading
    /// dimensions) is true; the setter writes a value there (`t[mask] = v`). Traps where
    /// ``index(mask:)`` or ``indexPut_(mask:_:)`` throw.
    public subscript(mask mask: Tensor) -> Tensor {
        get { trapping { try index(mask: mask) } }
        nonmutating set { trapping { try indexPut_(mask: mask, newValue) } }
    }

    /// Joins tensors along an existing dimension (`torch.cat`).
    public static func cat(_ tensors: [Tensor], dim: Int = 0) throws(TapeGradError) -> Tensor {
        try joined(tensors, dim: dim, op: .cat)
    }

    /// `cat`, recorded as `op` (`stack` records its join as StackBackward0).
    private static func joined(_ tensors: [Tensor], dim: Int, op: OpCode) throws(TapeGradError) -> Tensor {
        guard !tensors.isEmpty else { throw .runtime("torch.cat(): expected a non-empty list of Tensors") }
        if tensors.count > 3 {
            // A record has three operand slots: join the first three, then the rest onto them.
            return try joined([try cat(Array(tensors[0..<3]), dim: dim)] + tensors[3...], dim: dim, op: op)
        }
        // PyTorch's legacy rule: beside tensors of higher rank, a 1-D tensor of size 0 is left
        // out of the shape checks and the copy, but counts in the result type and the graph.
        let legacy = tensors.contains { $0.rank > 1 }
        func skipped(_ t: Tensor) -> Bool { legacy && t.rank == 1 && t.count == 0 }
        // PyTorch checks for 0-dim tensors before it wraps the dimension.
        for (i, t) in tensors.enumerated() where t.rank == 0 {
            throw .runtime("zero-dimensional tensor (at position \(i)) cannot be concatenated")
        }
        let first = tensors.first { !skipped($0) } ?? tensors[0]
        let rank = first.rank
        let d = try Shapes.normalize(dim: dim, rank: rank)
        var total = 0
        for (i, t) in tensors.enumerated() where !skipped(t) {
            let s = t.info.shape
            guard s.count == rank else {
                throw .runtime("Tensors must have same number of dimensions: got \(rank) and \(s.count)")
            }
            for k in 0..<rank where k != d && s[k] != first.info.shape[k] {
                throw .runtime("Sizes of tensors must match except in dimension \(d). Expected size \(first.info.shape[k]) but got size \(s[k]) for tensor number \(i) in the list.")
            }
            total += s[d]
        }
        var shape = first.info.shape
        shape[d] = total
        let dtype = tensors.dropFirst().reduce(tensors[0].dtype) { DType.promote($0, $1.dtype) }
        let e = engine
        let out = e.pointee.makeTensor(shape: shape, dtype: dtype)
        var offset = 0
        for t in tensors where !skipped(t) {
            let part = try out.slice(dim: d, start: offset, end: offset + t.info.shape[d])
            e.memory.copyValues(from: t, into: part)
            offset += t.info.shape[d]
        }
        if e.pointee.gradEnabled && tensors.contains(where: { $0.requiresGrad }) {
            var r = Record(op, result: out, a: tensors[0])
            r.b = tensors.count > 1 ? tensors[1] : .null
            r.c = tensors.count > 2 ? tensors[2] : .null
            r.i0 = Int16(d)
            e.pointee.append(r)
        }
        return out
    }

    /// Joins tensors of one shape along a new dimension (`torch.stack`).
    public static func stack(_ tensors: [Tensor], dim: Int = 0) throws(TapeGradError) -> Tensor {
        guard let first = tensors.first else { throw .runtime("stack expects a non-empty TensorList") }
        let d = try Shapes.normalize(dim: dim, rank: first.rank + 1)
        for (i, t) in tensors.enumerated() where t.info.shape != first.info.shape {
            throw .runtime("stack expects each tensor to be equal size, but got \(first.info.shape.array) at entry 0 and \(t.info.shape.array) at entry \(i)")
        }
        var parts: [Tensor] = []
        for t in tensors { parts.append(try t.unsqueeze(d)) }
        return try joined(parts, dim: d, op: .stack)
    }
}

enum IndexingBackward {
    /// Zeros of the input's shape with the gradient in the selected or sliced region, recorded
    /// (SelectBackwardBackward0, SliceBackwardBackward0) when the sweep is.
    static func select(_ r: Record, _ g: Tensor) -> Gradients {
        Gradients(a: embed(g, in: r.a.info.shape, like: r))
    }

    /// `g` placed into zeros of `shape` where the select or slice of `r` reads.
    static func embed(_ g: Tensor, in shape: Dims, like r: Record) -> Tensor {
        let e = engine
        let zeros = Tensor.full(dims: shape, 0, dtype: g.dtype)
        let length = r.op.selectsOneIndex ? 0 : g.info.shape[Int(r.i0)]
        let window = noGrad { () -> Tensor in IndexingBackward.region(of: zeros, like: r, length: length) }
        e.memory.copyValues(from: g, into: window)
        var record = Record(r.op.selectsOneIndex ? .selectBackward : .sliceBackward, result: zeros, a: g)
        record.i0 = r.i0
        record.s0 = r.s0
        record.s1 = r.s1
        return e.pointee.recordIfNeeded(record)
    }

    /// The view of `t` that a select (index `s0` of dimension `i0`) or a slice (`length`
    /// elements from `s0` with step `s1`) names.
    static func region(of t: Tensor, like r: Record, length: Int) -> Tensor {
        let dim = Int(r.i0), start = Int(r.s0)
        return trapping { () throws(TapeGradError) -> Tensor in
            if r.op.selectsOneIndex { return try t.select(dim: dim, index: start) }
            let step = Int(r.s1)
            return try t.slice(dim: dim, start: start, end: length == 0 ? start : start + (length - 1) * step + 1, step: step)
        }
    }

    /// The embedding's backward: the region of the gradient (what the forward select or slice read).
    static func selectBackward(_ r: Record, _ g: Tensor) -> Gradients {
        Gradients(a: region(of: g, like: r, length: r.op.selectsOneIndex ? 0 : r.a.info.shape[Int(r.i0)]))
    }

    /// The output's gradient cut back into the inputs' pieces along the joined dimension.
    static func cat(_ r: Record, _ g: Tensor) -> Gradients {
        let d = Int(r.i0)
        var start = 0
        func piece(_ t: Tensor, _ needed: Bool) -> Tensor {
            guard !t.isNull else { return .null }
            // A 1-D empty tensor that the legacy rule left out gets an empty gradient.
            if t.info.shape.count != g.info.shape.count {
                return needed ? memory.makeZeros(shape: t.info.shape, dtype: g.info.dtype) : .null
            }
            let width = t.info.shape[d]
            defer { start += width }
            guard needed else { return .null }
            return trapping { try g.slice(dim: d, start: start, end: start + width) }
        }
        let a = piece(r.a, r.needsA)
        let b = piece(r.b, r.needsB)
        let c = piece(r.c, r.needsC)
        return Gradients(a: a, b: b, c: c)
    }
}

extension OpCode {
    /// A select or its embedding (one index of a dimension), as opposed to a slice's.
    var selectsOneIndex: Bool { self == .select || self == .selectBackward }
}
