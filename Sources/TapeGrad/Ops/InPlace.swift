// In-place ops: they write into the tensor's storage (shared with its views) and bump the
// storage's version, so records that saved the old values can tell. When gradients are
// recorded, the new value's history is that of an out-of-place computation from the old
// value, and the tensor takes it over (PyTorch's "rebase history"); writing through a view
// also gives the view's base a CopySlices record.

extension Tensor {
    /// Checks that an in-place write is allowed, and bumps the version unless told not to.
    /// PyTorch refuses writes into a leaf that requires grad, or a view of one, while grad
    /// mode is on.
    func prepareInPlaceWrite(bumpVersion: Bool = true, markedDirty: Bool = false) throws(TapeGradError) {
        let e = engine
        let s = info
        if e.pointee.gradEnabled {
            if s.gradFn < 0 && s.flags.contains(.requiresGrad) && s.base.isNull {
                throw .runtime(markedDirty
                    ? "a leaf Variable that requires grad has been used in an in-place operation."
                    : "a leaf Variable that requires grad is being used in an in-place operation.")
            }
            if !s.base.isNull {
                let base = s.base.info
                if base.gradFn < 0 && base.flags.contains(.requiresGrad) {
                    throw .runtime("a view of a leaf Variable that requires grad is being used in an in-place operation.")
                }
            }
        }
        if bumpVersion { e.pointee.bumpVersion(self) }
    }

    /// Makes `newValues` (same shape, computed out of place from this tensor's old value and
    /// recorded as such when grad mode wants it) the contents and history of this tensor.
    func commitInPlace(_ newValues: Tensor, overwrite: OpCode = .copy) throws(TapeGradError) {
        let e = engine
        try Shapes.checkInPlace(target: info.shape, source: newValues.info.shape)
        try prepareInPlaceWrite()
        e.memory.copyValues(from: newValues, into: self)
        let history = newValues.info.gradFn
        guard e.pointee.gradEnabled else { return }
        e.pointee.rebaseCount += 1
        let s = info
        if !s.base.isNull {
            if history >= 0 || s.base.info.gradFn >= 0 { recordCopySlices(values: newValues) }
        } else if history < 0 && s.flags.contains(.requiresGrad) && s.gradFn >= 0 {
            // Overwritten by values that need no gradient: the old history gets zeros.
            var r = Record(overwrite, result: self, a: self)
            r.edgeA = e.pointee.edge(self)
            e.pointee.append(r, edgesFilled: true)
            return
        }
        if history >= 0 {
            // This tensor now is the record's result: hooks, retained gradients and the end of
            // a step find it through the record.
            let record = e.pointee.tape.pointer(at: Int(history))
            record.pointee.result = self
            record.pointee.versionResult = e.pointee.version(self)
            let slot = e.pointee.slot(self)
            slot.pointee.gradFn = history
            slot.pointee.flags.insert(.requiresGrad)
        }
    }

    /// Gives this view's base a CopySlices record: the base's new value is its old value with
    /// this view's region replaced by `values`.
    private func recordCopySlices(values: Tensor) {
        let e = engine
        let base = info.base
        guard base.requiresGrad || values.requiresGrad else { return }
        var r = Record(.copySlices, result: base, a: base, b: values)
        r.c = self
        r.edgeA = e.pointee.edge(base)
        r.edgeB = e.pointee.edge(values)
        e.pointee.append(r, edgesFilled: true)
    }

    @inline(__always)
    private func inPlace(
        _ other: Tensor, number: ScalarKind = .floating, _ compute: (Tensor) throws(TapeGradError) -> Tensor, savesSelf: Bool
    ) throws(TapeGradError) -> Tensor {
        try checkNoInternalOverlap()
        try checkCast(other, number: number)
        let e = engine
        let recording = e.pointee.shouldRecord(self, other)
        // The old value must outlive the write when the op's backward reads it.
        let old = recording && savesSelf ? clone() : self
        try commitInPlace(try compute(old))
        return self
    }

    /// Refuses to compute into a tensor whose elements share memory (an expanded tensor: a
    /// dimension of stride 0 and size above 1), as PyTorch's computing in-place ops do; `fill_`,
    /// `zero_` and masked writes of a number are allowed there, as in PyTorch.
    func checkNoInternalOverlap() throws(TapeGradError) {
        let s = info
        for d in 0..<s.shape.count where s.strides[d] == 0 && s.shape[d] > 1 {
            throw .runtime("unsupported operation: more than one element of the written-to tensor refers to a single memory location. Please clone() the tensor before performing the operation.")
        }
    }

    /// Refuses an in-place op whose result type cannot be written into this tensor's dtype, as
    /// PyTorch does (`bool.add_(1.5)`); `other` is `.null` for a Swift number operand, of
    /// kind `number`.
    private func checkCast(_ other: Tensor, number: ScalarKind = .floating) throws(TapeGradError) {
        let s = info
        let result = other.isNull
            ? s.dtype.resultType(withNumber: number)
            : DType.resultType(s.dtype, dimensioned: s.shape.count > 0, other.dtype, dimensioned: other.rank > 0)
        guard result.canCast(to: s.dtype) else {
            throw .runtime("result type \(result.scalarTypeName) can't be cast to the desired output type \(s.dtype.scalarTypeName)")
        }
    }

    /// Writes `K(self, other)` straight into this tensor's memory when nothing is recorded and
    /// the layout allows (contiguous, same dtype, `other` broadcasting to this shape); returns
    /// false to let the general path run.
    @inline(__always)
    private func applyDirectly<K: BinaryKernel>(_ kernel: K.Type, _ other: Tensor) throws(TapeGradError) -> Bool {
        let e = engine
        let s = e.pointee.slot(self).pointee, o = e.pointee.slot(other).pointee
        // Reading `other` while writing `self` is safe only when they do not overlap, or
        // overlap element for element.
        let aliasSafe = s.storage != o.storage || (o.isContiguous && o.shape == s.shape && o.offset == s.offset)
        guard !e.pointee.shouldRecord(self, other), s.isContiguous, s.dtype == o.dtype, s.dtype.isFloatingPoint, aliasSafe,
              try Shapes.broadcast(s.shape, o.shape) == s.shape
        else { return false }
        try prepareInPlaceWrite()
        try e.memory.applyInPlace(kernel, into: self, other)
        return true
    }

    /// Adds `other` into this tensor (`tensor.add_`); returns `self`.
    @discardableResult
    public func add_(_ other: Tensor) throws(TapeGradError) -> Tensor {
        if try applyDirectly(AddKernel.self, other) { return self }
        return try inPlace(other, { old throws(TapeGradError) in try old.add(other) }, savesSelf: false)
    }
    /// Subtracts `other` from this tensor (`tensor.sub_`); returns `self`.
    @discardableResult
    public func sub_(_ other: Tensor) throws(TapeGradError) -> Tensor {
        try Self.checkSubtraction(dtype, other.dtype)
        if try applyDirectly(SubKernel.self, other) { return self }
        return try inPlace(other, { old throws(TapeGradError) in try old.sub(other) }, savesSelf: false)
    }
    /// Multiplies this tensor by `other` (`tensor.mul_`); returns `self`.
    @discardableResult
    public func mul_(_ other: Tensor) throws(TapeGradError) -> Tensor {
        if try applyDirectly(MulKernel.self, other) { return self }
        return try inPlace(other, { old throws(TapeGradError) in try old.mul(other) }, savesSelf: true)
    }
    /// Divides this tensor by `other` (`tensor.div_`); returns `self`.
    @discardableResult
    public func div_(_ other: Tensor) throws(TapeGradError) -> Tensor {
        if try applyDirectly(DivKernel.self, other) { return self }
        return try inPlace(other, { old throws(TapeGradError) in try old.div(other) }, savesSelf: true)
    }

    /// Adds `alpha * other` into this tensor (`tensor.add_(other, alpha=)`), the update step of
    /// SGD: one pass (BLAS `axpy`) when nothing is recorded and both are contiguous alike.
    @discardableResult
    public func add_(_ other: Tensor, alpha: Double) throws(TapeGradError) -> Tensor {
        let e = engine
        let s = e.pointee.slot(self), o = e.pointee.slot(other)
        if !e.pointee.shouldRecord(self, other) && s.pointee.flags.contains(.contiguous)
            && o.pointee.flags.contains(.contiguous) && s.pointee.shape == o.pointee.shape
            && s.pointee.dtype == o.pointee.dtype && s.pointee.dtype != .bool && s.pointee.storage != o.pointee.storage {
            try prepareInPlaceWrite()
            e.memory.axpy(alpha, other, into: self)
            return self
        }
        return try inPlace(other, { old throws(TapeGradError) in try old.add(other * alpha) }, savesSelf: false)
    }

    /// Subtracts `alpha * other` from this tensor (`tensor.sub_(other, alpha=)`).
    @discardableResult
    public func sub_(_ other: Tensor, alpha: Double) throws(TapeGradError) -> Tensor {
        try Self.checkSubtraction(dtype, other.dtype)
        return try add_(other, alpha: -alpha)
    }

    /// Adds a scalar to every element in place; returns `self`.
    @discardableResult
    public func add_(_ value: Double) throws(TapeGradError) -> Tensor {
        try inPlace(.null, { old in old + value }, savesSelf: false)
    }
    /// Adds an integer to every element in place (an integer tensor stays exact); returns `self`.
    @discardableResult
    public func add_(_ value: Int) throws(TapeGradError) -> Tensor {
        try inPlace(.null, number: .integer, { old in old + value }, savesSelf: false)
    }
    /// Subtracts an integer from every element in place; returns `self`.
    @discardableResult
    public func sub_(_ value: Int) throws(TapeGradError) -> Tensor {
        try Self.checkSubtraction(dtype, nil)
        return try inPlace(.null, number: .integer, { (old) throws(TapeGradError) in try old.sub(value) }, savesSelf: false)
    }
    /// Multiplies every element by an integer in place; returns `self`.
    @discardableResult
    public func mul_(_ value: Int) throws(TapeGradError) -> Tensor {
        try inPlace(.null, number: .integer, { old in old * value }, savesSelf: false)
    }

    /// `indexAdd(dim:_:_:)` in place (`tensor.index_add_`); returns `self`.
    @discardableResult
    public func indexAdd_(dim: Int, _ index: Tensor, _ source: Tensor) throws(TapeGradError) -> Tensor {
        // index_add's own checks come before the in-place ones.
        _ = try checkIndexAdd(dim: dim, index, source)
        return try inPlace(source, { (old) throws(TapeGradError) in try old.indexAdd(dim: dim, index, source) }, savesSelf: false)
    }

    /// `scatterAdd(dim:_:_:)` in place (`tensor.scatter_add_`); returns `self`.
    @discardableResult
    public func scatterAdd_(dim: Int, _ index: Tensor, _ source: Tensor) throws(TapeGradError) -> Tensor {
        _ = try checkedAlong(dim: dim, index, name: "scatter", source: source)
        return try inPlace(source, { (old) throws(TapeGradError) in try old.scatterAdd(dim: dim, index, source) }, savesSelf: false)
    }

    /// `scatter(dim:_:_:)` in place (`tensor.scatter_`); returns `self`.
    @discardableResult
    public func scatter_(dim: Int, _ index: Tensor, _ source: Tensor) throws(TapeGradError) -> Tensor {
        _ = try checkedAlong(dim: dim, index, name: "scatter", source: source)
        return try inPlace(source, { (old) throws(TapeGradError) in try old.scatter(dim: dim, index, source) }, savesSelf: false)
    }

    /// Subtracts a scalar from every element in place; returns `self`.
    @discardableResult
    public func sub_(_ value: Double) throws(TapeGradError) -> Tensor {
        try Self.checkSubtraction(dtype, nil)
        return try add_(-value)
    }

    /// Divides every element by a scalar in place; returns `self`.
    @discardableResult
    public func div_(_ value: Double) throws(TapeGradError) -> Tensor { try mul_(1 / value) }

    /// Multiplies every element by a scalar in place; returns `self`.
    @discardableResult
    public func mul_(_ value: Double) throws(TapeGradError) -> Tensor {
        try inPlace(.null, { old in old * value }, savesSelf: false)
    }

    /// Limits every element to `[min, max]` in place (`tensor.clamp_`); returns `self`.
    @discardableResult
    public func clamp_(min: Double? = nil, max: Double? = nil) throws(TapeGradError) -> Tensor {
        guard min != nil || max != nil else {
            throw .runtime("torch.clamp: At least one of 'min' or 'max' must not be None")
        }
        // (PyTorch's clamp_ names the type in lower case here.)
        guard dtype.isFloatingPoint else { throw .runtime("result type Float can't be cast to the desired output type \(dtype.torchName)") }
        return try inPlace(.null, { old in old.clamp(min: min, max: max) }, savesSelf: true)
    }

    /// Copies `source` (broadcast to this shape, converted to this dtype) into this tensor
    /// (`tensor.copy_`); returns `self`.
    @discardableResult
    public func copy_(_ source: Tensor) throws(TapeGradError) -> Tensor {
        let target = info
        try Shapes.checkInPlace(target: target.shape, source: source.info.shape)
        try checkNoInternalOverlap()
        let e = engine
        let values = noGrad { source.expanded(to: target.shape).to(target.dtype) }
        if e.pointee.gradEnabled && source.requiresGrad {
            // CopyBackwards: the source gets the gradient (summed to its shape, in its dtype);
            // the overwritten value gets none.
            var r = Record(.copy, result: values, a: .null, b: source)
            r.edgeB = e.pointee.edge(source)
            e.pointee.append(r, edgesFilled: true)
        }
        try commitInPlace(values, overwrite: .copy)
        return self
    }

    /// Sets every element to zero (`tensor.zero_()`); returns `self`.
    @discardableResult
    public func zero_() throws(TapeGradError) -> Tensor { try fill(Number(0), zeroing: true) }

    /// Sets every element to `value` (`tensor.fill_`); returns `self`.
    @discardableResult
    public func fill_(_ value: Double) throws(TapeGradError) -> Tensor { try fill(Number(value), zeroing: false) }

    /// Sets every element to an integer (`tensor.fill_(7)`), exactly in an integer tensor;
    /// returns `self`.
    @discardableResult
    public func fill_(_ value: Int) throws(TapeGradError) -> Tensor { try fill(Number(value), zeroing: false) }

    private func fill(_ number: Number, zeroing: Bool) throws(TapeGradError) -> Tensor {
        try number.checkFits(in: dtype, count: count)
        let value = number.double
        let e = engine
        if !e.pointee.gradEnabled || !requiresGrad {
            try prepareInPlaceWrite()
            // Zeros are written when first needed: a gradient zeroed between steps is usually
            // overwritten whole by the next backward, which then skips both passes.
            if value == 0 && e.pointee.zeroLazily(self) { return self }
            fillStorage(number)
            return self
        }
        try commitInPlace(Tensor.full(dims: info.shape, number, dtype: dtype), overwrite: value == 0 && zeroing ? .zero : .fill)
        return self
    }

    /// Adds in place; traps where `add_` would throw.
    public static func += (lhs: Tensor, rhs: Tensor) { trapping { try lhs.add_(rhs) } }
    /// Subtracts in place; traps where `sub_` would throw.
    public static func -= (lhs: Tensor, rhs: Tensor) { trapping { try lhs.sub_(rhs) } }
    /// Multiplies in place; traps where `mul_` would throw.
    public static func *= (lhs: Tensor, rhs: Tensor) { trapping { try lhs.mul_(rhs) } }
    /// Divides in place; traps where `div_` would throw.
    public static func /= (lhs: Tensor, rhs: Tensor) { trapping { try lhs.div_(rhs) } }
}

enum InPlaceBackward {
    /// fill_, zero_, copy_: the overwritten value gets a zero gradient; a copied source gets
    /// the gradient, summed to its shape and in its dtype.
    static func overwrite(_ r: Record, _ g: Tensor) -> Gradients {
        Gradients(a: r.needsA ? g.zerosLike() : .null,
                  b: r.needsB ? g.sumTo(shapeOf: r.b).to(r.b.info.dtype) : .null)
    }

    /// The base's old value gets the gradient outside the view's region; the written values
    /// get the region's gradient.
    static func copySlices(_ r: Record, _ g: Tensor) throws(TapeGradError) -> Gradients {
        let region = r.c.info, base = r.a.info
        let e = engine
        var grads = Gradients()
        if r.needsB { grads.b = try e.memory.extract(g, region, in: base).sumTo(shapeOf: r.b) }
        if r.needsA {
            if e.pointee.backwardIsRecorded {
                // A recorded fill, so that a second sweep sees the zeros.
                grads.a = try g.maskedFill(e.memory.regionMask(region, in: base), 0)
            } else {
                let gBase = g.clone()
                e.memory.regionView(of: gBase, region, in: base).fillStorage(0)
                grads.a = gBase
            }
        }
        return grads
    }
}
