// Selection by a boolean condition: `where`, masked fill, boolean-mask indexing (`t[mask]`,
// `t[mask] = v`) and `masked_select`. Every element is chosen, never blended, so ±inf and NaN
// land only where they are written. Each backward is made of these same ops, so a gradient
// through them can be differentiated again.

// MARK: Kernels

extension TensorMemory {
    /// `condition ? x : y` elementwise over the broadcast of the three shapes, in `dtype` (no
    /// record). `condition` is a bool tensor.
    func choose(_ condition: Tensor, _ x: Tensor, _ y: Tensor, dtype: DType) throws(TapeGradError) -> Tensor {
        let shape = try Shapes.broadcast(try Shapes.broadcast(slot(condition).pointee.shape, slot(x).pointee.shape),
                                         slot(y).pointee.shape)
        let x = slot(x).pointee.dtype == dtype ? x : convert(x, to: dtype)
        let y = slot(y).pointee.dtype == dtype ? y : convert(y, to: dtype)
        let out = makeTensor(shape: shape, dtype: dtype)
        let sc = slot(condition).pointee, sx = slot(x).pointee, sy = slot(y).pointee
        let stridesC = Shapes.broadcastStrides(shape: sc.shape, strides: sc.strides, to: shape)
        let stridesX = Shapes.broadcastStrides(shape: sx.shape, strides: sx.strides, to: shape)
        let stridesY = Shapes.broadcastStrides(shape: sy.shape, strides: sy.strides, to: shape)
        dtype.withElement(Choose(condition: base(condition, as: UInt8.self), stridesC: stridesC,
                                 x: UnsafeRawPointer(rawBase(x)), stridesX: stridesX, y: UnsafeRawPointer(rawBase(y)), stridesY: stridesY,
                                 shape: shape, out: rawBase(out)))
        return out
    }


    /// The rows of `source` where `mask` is true, in row-major order of the mask: a new tensor
    /// of shape `[k] + source.shape[mask.rank...]`. The mask's shape is the leading part of
    /// `source`'s (checked by the caller).
    func gatherRows(_ source: Tensor, mask: Tensor) -> Tensor {
        let s = slot(source).pointee
        let maskRank = slot(mask).pointee.shape.count
        let m = contiguousOperand(mask, as: .bool)
        let src = contiguousOperand(source, as: s.dtype)
        let positions = slot(m).pointee.shape.product
        let flags = base(m, as: UInt8.self)
        var k = 0
        for p in 0..<positions where flags[p] != 0 { k += 1 }
        var shape = Dims()
        shape.append(k)
        for d in maskRank..<s.shape.count { shape.append(s.shape[d]) }
        let out = makeTensor(shape: shape, dtype: s.dtype)
        let rowBytes = (positions == 0 ? 0 : s.shape.product / positions) * s.dtype.itemSize
        Kernels.copyRows(flags, positions: positions, rowBytes: rowBytes, from: rawBase(src), to: rawBase(out), gather: true)
        return out
    }

    /// A copy of `target` whose rows where `mask` is true are the rows of `rows` in order
    /// (`rows`, of shape `[k] + target.shape[mask.rank...]`, any layout, converted to the
    /// target's dtype).
    func scatterRows(_ rows: Tensor, into target: Tensor, mask: Tensor) -> Tensor {
        let t = slot(target).pointee
        let m = contiguousOperand(mask, as: .bool)
        let out = makeTensor(shape: t.shape, dtype: t.dtype)
        copyValues(from: target, into: out)
        let values = contiguousOperand(rows, as: t.dtype)
        let positions = slot(m).pointee.shape.product
        let rowBytes = (positions == 0 ? 0 : t.shape.product / positions) * t.dtype.itemSize
        Kernels.copyRows(base(m, as: UInt8.self), positions: positions, rowBytes: rowBytes,
                         from: rawBase(values), to: rawBase(out), gather: false)
        return out
    }
}

extension Kernels {
    /// For the `j`-th position `p` whose flag is set, copies row `p` of `from` to row `j` of
    /// `to` (`gather`), or row `j` of `from` to row `p` of `to`.
    static func copyRows(
        _ flags: UnsafePointer<UInt8>, positions: Int, rowBytes: Int,
        from: UnsafeRawPointer, to: UnsafeMutableRawPointer, gather: Bool
    ) {
        guard rowBytes > 0 else { return }
        var j = 0
        for p in 0..<positions where flags[p] != 0 {
            let (source, target) = gather ? (p, j) : (j, p)
            (to + target * rowBytes).copyMemory(from: from + source * rowBytes, byteCount: rowBytes)
            j += 1
        }
    }

    /// `out[i] = c[i] != 0 ? x[i] : y[i]` over `shape`, each operand read through its own
    /// (broadcast) strides; `out` is contiguous.
    @inline(__always)
    static func choose<T>(
        _ c: UnsafePointer<UInt8>, _ sc: Dims, _ x: UnsafePointer<T>, _ sx: Dims, _ y: UnsafePointer<T>, _ sy: Dims,
        shape: Dims, _ out: UnsafeMutablePointer<T>
    ) {
        let rank = shape.count
        let total = shape.product
        if total == 0 { return }
        if rank == 0 { out[0] = c[0] != 0 ? x[0] : y[0]; return }
        let last = rank - 1
        let n = shape[last], ic = sc[last], ix = sx[last], iy = sy[last]
        var index = Dims()
        for _ in 0..<last { index.append(0) }
        var oc = 0, ox = 0, oy = 0, start = 0
        while start < total {
            for j in 0..<n { out[start + j] = c[oc + j * ic] != 0 ? x[ox + j * ix] : y[oy + j * iy] }
            start += n
            var d = last - 1
            while d >= 0 {
                index[d] += 1
                oc += sc[d]; ox += sx[d]; oy += sy[d]
                if index[d] < shape[d] { break }
                oc -= sc[d] * shape[d]; ox -= sx[d] * shape[d]; oy -= sy[d] * shape[d]
                index[d] = 0
                d -= 1
            }
        }
    }
}

// MARK: where

/// `Kernels.choose` in the operands' element type.
private struct Choose: ElementComputation {
    let condition: UnsafePointer<UInt8>, stridesC: Dims
    let x: UnsafeRawPointer, stridesX: Dims, y: UnsafeRawPointer, stridesY: Dims
    let shape: Dims, out: UnsafeMutableRawPointer

    func run<T: TensorElement>(_: T.Type) {
        Kernels.choose(condition, stridesC, x.assumingMemoryBound(to: T.self), stridesX, y.assumingMemoryBound(to: T.self), stridesY,
                       shape: shape, out.assumingMemoryBound(to: T.self))
    }
}

extension Tensor {
    /// `input` where `condition` is true, else `other`, with broadcasting (`torch.where`).
    public static func `where`(_ condition: Tensor, _ input: Tensor, _ other: Tensor) throws(TapeGradError) -> Tensor {
        // PyTorch still takes a uint8 condition (nonzero is true).
        let condition = condition.dtype == .uint8 ? condition.to(.bool) : condition
        guard condition.dtype == .bool else {
            throw .runtime("where expected condition to be a boolean tensor, but got a tensor with dtype \(condition.dtype.scalarTypeName)")
        }
        let e = engine
        let x = input.info, y = other.info
        let dtype = DType.resultType(x.dtype, dimensioned: x.shape.count > 0, y.dtype, dimensioned: y.shape.count > 0)
        let out = try e.memory.choose(condition, input, other, dtype: dtype)
        var r = Record(.where, result: out, a: input, b: other)
        r.c = condition
        return e.pointee.recordIfNeeded(r)
    }

    /// `input` where `condition` is true, else the number `other` (`torch.where(c, x, 0.)`).
    public static func `where`(_ condition: Tensor, _ input: Tensor, _ other: Double) throws(TapeGradError) -> Tensor {
        try Tensor.where(condition, input, input.numberOperand(Number(other)))
    }

    /// The number `input` where `condition` is true, else `other`.
    public static func `where`(_ condition: Tensor, _ input: Double, _ other: Tensor) throws(TapeGradError) -> Tensor {
        try Tensor.where(condition, other.numberOperand(Number(input)), other)
    }

    /// `input` where `condition` is true, else the integer `other` (an integer tensor stays integer).
    public static func `where`(_ condition: Tensor, _ input: Tensor, _ other: Int) throws(TapeGradError) -> Tensor {
        try Tensor.where(condition, input, input.numberOperand(Number(other)))
    }

    /// The integer `input` where `condition` is true, else `other`.
    public static func `where`(_ condition: Tensor, _ input: Int, _ other: Tensor) throws(TapeGradError) -> Tensor {
        try Tensor.where(condition, other.numberOperand(Number(input)), other)
    }


    /// This tensor where `condition` is true, else `other` (`tensor.where(condition, other)`).
    public func `where`(_ condition: Tensor, _ other: Tensor) throws(TapeGradError) -> Tensor {
        try Tensor.where(condition, self, other)
    }
}

/// `torch.where(condition, input, other)`.
public func `where`(_ condition: Tensor, _ input: Tensor, _ other: Tensor) throws(TapeGradError) -> Tensor {
    try Tensor.where(condition, input, other)
}

// MARK: Masked fill

extension Tensor {
    /// A copy with `value` where `mask` (broadcast with this tensor) is true (`masked_fill`).
    public func maskedFill(_ mask: Tensor, _ value: Double) throws(TapeGradError) -> Tensor {
        try maskedFilled(mask, value: .null, number: value)
    }

    /// A copy with the 0-dim `value` where `mask` is true (`masked_fill` with a tensor value).
    public func maskedFill(_ mask: Tensor, _ value: Tensor) throws(TapeGradError) -> Tensor {
        try maskedFilled(mask, value: value, number: 0)
    }

    /// Writes `value` into the elements where `mask` is true, in place (`masked_fill_`).
    @discardableResult
    public func maskedFill_(_ mask: Tensor, _ value: Double) throws(TapeGradError) -> Tensor {
        try commitInPlace(checkedInPlace(try maskedFilled(mask, value: .null, number: value, inPlace: true)))
        return self
    }

    /// Writes the 0-dim `value` into the elements where `mask` is true, in place.
    @discardableResult
    public func maskedFill_(_ mask: Tensor, _ value: Tensor) throws(TapeGradError) -> Tensor {
        try commitInPlace(checkedInPlace(try maskedFilled(mask, value: value, number: 0, inPlace: true)))
        return self
    }

    /// `newValues` after checking that an in-place op may write it here.
    private func checkedInPlace(_ newValues: Tensor) throws(TapeGradError) -> Tensor {
        try Shapes.checkInPlace(target: info.shape, source: newValues.info.shape)
        return newValues
    }

    /// The out-of-place masked fill, recorded as MaskedFillBackward0 (a number) or
    /// MaskedFillBackward1 (a tensor value).
    private func maskedFilled(_ mask: Tensor, value: Tensor, number: Double, inPlace: Bool = false) throws(TapeGradError) -> Tensor {
        guard mask.dtype == .bool else {
            throw .runtime("masked_fill_ only supports boolean masks, but got mask with dtype \(mask.dtype.torchName)")
        }
        if !value.isNull && value.rank != 0 {
            throw .runtime("masked_fill_ only supports a 0-dimensional value tensor, but got tensor with \(value.rank) dimension(s).")
        }
        if inPlace { try Shapes.checkInPlace(target: info.shape, source: try Shapes.broadcast(info.shape, mask.info.shape)) }
        let e = engine
        // The value is written as a number: PyTorch checks that it fits (`value.item()`).
        try (value.isNull ? Number(number) : value.number()).checkFits(in: dtype)
        let fill = value.isNull ? e.memory.scalar(number, dtype: dtype) : value
        let out = try e.memory.choose(mask, fill, self, dtype: dtype)
        var r = Record(value.isNull ? .maskedFill : .maskedFillTensor, result: out, a: self, b: value)
        r.c = mask
        r.s0 = number
        return e.pointee.recordIfNeeded(r)
    }
}

// MARK: Boolean-mask indexing

extension Tensor {
    /// Checks a boolean index against this tensor's leading dimensions, with PyTorch's messages.
    func checkMaskIndex(_ mask: Tensor) throws(TapeGradError) {
        let m = mask.info.shape, s = info.shape
        guard mask.dtype == .bool else {
            // Any other index takes one dimension, which a 0-dim tensor lacks.
            throw .index(s.count == 0 ? "too many indices for tensor of dimension 0" : "tensors used as indices must be long, int, byte or bool tensors")
        }
        guard m.count <= s.count else { throw .index("too many indices for tensor of dimension \(s.count)") }
        for i in 0..<m.count where m[i] != s[i] {
            throw .index("The shape of the mask \(m.array.bracketed) at index \(i) does not match the shape of the indexed tensor \(s.array.bracketed) at index \(i)")
        }
    }

    /// This tensor and the mask as indexing sees them: a 0-dim mask indexes a new leading
    /// dimension of size 1 (`t[True]` is `t.unsqueeze(0)`).
    private func maskIndexOperands(_ mask: Tensor) throws(TapeGradError) -> (Tensor, Tensor) {
        guard mask.rank == 0 else { return (self, mask) }
        return (try unsqueeze(0), try mask.view([1]))
    }

    /// The rows where a boolean `mask` over the leading dimensions is true, stacked: shape
    /// `[k] + shape[mask.rank...]` (PyTorch's `t[mask]`, `IndexBackward0`).
    public func index(mask: Tensor) throws(TapeGradError) -> Tensor {
        try checkMaskIndex(mask)
        let (source, m) = try maskIndexOperands(mask)
        return source.takeRows(m, op: .maskIndex)
    }

    /// Writes `value` (broadcast to the selected rows) where a boolean `mask` over the leading
    /// dimensions is true, in place (PyTorch's `t[mask] = value`, `IndexPutBackward0`).
    public func indexPut_(mask: Tensor, _ value: Tensor) throws(TapeGradError) {
        try checkMaskIndex(mask)
        guard mask.rank > 0 else {
            try noGrad { () throws(TapeGradError) in try self.unsqueeze(0) }.indexPut_(mask: try mask.view([1]), value)
            return
        }
        let newValues = try putRows(mask, value, op: .indexPut)
        try commitInPlace(newValues)
    }

    /// Writes a number where a boolean `mask` over the leading dimensions is true, in place
    /// (PyTorch's `t[mask] = 0.5`, which it runs as `masked_fill_`).
    public func maskedAssign_(mask: Tensor, _ value: Double) throws(TapeGradError) {
        try checkMaskIndex(mask)
        // The mask's dimensions are this tensor's leading ones: trailing 1s broadcast it.
        var shape = mask.info.shape
        if shape.count == rank { try maskedFill_(mask, value); return }
        while shape.count < rank { shape.append(1) }
        let m = memory.contiguousOperand(mask, as: .bool).reshaped(shape)
        try maskedFill_(m, value)
    }

    /// The elements where `mask` (broadcast with this tensor) is true, as a 1-dimensional
    /// tensor (`torch.masked_select`, `MaskedSelectBackward0`).
    public func maskedSelect(_ mask: Tensor) throws(TapeGradError) -> Tensor {
        guard mask.dtype == .bool else {
            throw .runtime("masked_select: expected BoolTensor for mask")
        }
        // PyTorch broadcasts the mask first (its message names the mask tensor a).
        let shape = try Shapes.broadcast(mask.info.shape, info.shape)
        let e = engine
        let (x, m) = noGrad { (self.expanded(to: shape), mask.expanded(to: shape)) }
        // A full-rank mask: every row is one element, so the result is 1-dimensional.
        let out = e.memory.gatherRows(x.rank == 0 ? noGrad { x.reshaped(Dims([1])) } : x,
                                       mask: m.rank == 0 ? m.reshaped(Dims([1])) : m)
        var r = Record(.maskedSelect, result: out, a: self)
        r.c = mask
        return e.pointee.recordIfNeeded(r)
    }

    /// The rows where `mask` is true, recorded as `op`.
    func takeRows(_ mask: Tensor, op: OpCode) -> Tensor {
        let e = engine
        var r = Record(op, result: e.memory.gatherRows(self, mask: mask), a: self)
        r.c = mask
        return e.pointee.recordIfNeeded(r)
    }

    /// A copy with the rows where `mask` is true replaced by `value` broadcast to them,
    /// recorded as `op`.
    func putRows(_ mask: Tensor, _ value: Tensor, op: OpCode) throws(TapeGradError) -> Tensor {
        let e = engine
        let s = info
        let flags = e.memory.contiguousOperand(mask, as: .bool)
        let positions = flags.count
        let p = e.pointee.base(flags, as: UInt8.self)
        var k = 0
        for i in 0..<positions where p[i] != 0 { k += 1 }
        var target = Dims()
        target.append(k)
        for d in mask.rank..<s.shape.count { target.append(s.shape[d]) }
        let v = value.info.shape
        guard let broadcast = try? Shapes.broadcast(target, v), broadcast == target else {
            throw .runtime("shape mismatch: value tensor of shape \(v.array.bracketed) cannot be broadcast to indexing result of shape \(target.array.bracketed)")
        }
        let rows = noGrad { value.expanded(to: target) }
        var r = Record(op, result: e.memory.scatterRows(rows, into: self, mask: mask), a: self, b: value)
        r.c = mask
        return e.pointee.recordIfNeeded(r)
    }
}

// MARK: Backward

enum SelectionBackward {
    /// `where(c, x, y)`: the gradient goes to `x` where `c` holds, to `y` elsewhere.
    static func `where`(_ r: Record, _ g: Tensor) -> Gradients {
        let zero = memory.scalar(0, dtype: g.dtype)
        return trapping { () throws(TapeGradError) -> Gradients in
            Gradients(a: r.needsA ? try Tensor.where(r.c, g, zero).sumTo(shapeOf: r.a) : .null,
                      b: r.needsB ? try Tensor.where(r.c, zero, g).sumTo(shapeOf: r.b) : .null)
        }
    }

    /// Masked fill: the filled elements' gradient goes to the value, the rest to the input.
    static func maskedFill(_ r: Record, _ g: Tensor) -> Gradients {
        trapping { () throws(TapeGradError) -> Gradients in
            Gradients(a: r.needsA ? try g.maskedFill(r.c, 0).sumTo(shapeOf: r.a) : .null,
                      b: r.needsB ? try Tensor.where(r.c, g, 0).sum().to(r.b.dtype) : .null)
        }
    }

    /// Rows taken by a mask (`t[mask]`, `masked_select`): the gradient scattered back into zeros.
    static func takeRows(_ r: Record, _ g: Tensor) -> Gradients {
        trapping { () throws(TapeGradError) -> Gradients in
            if r.op == .maskedSelect {
                let shape = try Shapes.broadcast(r.a.info.shape, r.c.info.shape)
                let m = r.c.expanded(to: shape)
                let zeros = Tensor.full(dims: shape, 0, dtype: g.dtype)
                let flatZeros = shape.count == 0 ? zeros.reshaped(Dims([1])) : zeros
                let flatMask = shape.count == 0 ? m.reshaped(Dims([1])) : m
                let scattered = try flatZeros.putRows(flatMask, g, op: .maskedScatter)
                return Gradients(a: scattered.reshaped(shape).sumTo(shapeOf: r.a))
            }
            return Gradients(a: try r.a.zerosLike().putRows(r.c, g, op: .indexPutImpl))
        }
    }

    /// Rows replaced by a mask: the input's gradient without those rows, the values' gradient
    /// those rows (summed over the value's broadcast).
    static func putRows(_ r: Record, _ g: Tensor) -> Gradients {
        trapping { () throws(TapeGradError) -> Gradients in
            Gradients(a: r.needsA ? try g.putRows(r.c, memory.scalar(0, dtype: g.dtype), op: .indexPut) : .null,
                      b: r.needsB ? g.takeRows(r.c, op: .maskIndex).sumTo(shapeOf: r.b) : .null)
        }
    }
}
