// In-place ops: they write into the tensor's storage (shared with its views) and bump the
// storage's version, so records that saved the old values can tell.

extension Tensor {
    /// Checks that an in-place write is allowed and marks it: PyTorch refuses writes into a
    /// leaf that requires grad while grad mode is on.
    func prepareInPlaceWrite() throws(TapeGradError) {
        let e = engine
        let s = info
        if e.pointee.gradEnabled && s.gradFn < 0 && s.flags.contains(.requiresGrad) {
            throw .runtime("a leaf Variable that requires grad is being used in an in-place operation.")
        }
        e.pointee.bumpVersion(self)
    }

    /// Replaces the values with `result`'s (same shape), in place.
    func overwrite(with result: Tensor) {
        engine.pointee.copyValues(from: result, into: self)
    }

    @inline(__always)
    private func inPlace<K: BinaryKernel>(_ kernel: K.Type, _ other: Tensor) throws(TapeGradError) -> Tensor {
        let e = engine
        let result = try e.pointee.mapBinary(kernel, self, other)
        guard result.info.shape == info.shape else {
            throw .runtime("output with shape \(info.shape.array) doesn't match the broadcast shape \(result.info.shape.array)")
        }
        try prepareInPlaceWrite()
        overwrite(with: result)
        return self
    }

    /// Adds `other` into this tensor (`tensor.add_`); returns `self`.
    @discardableResult
    public func add_(_ other: Tensor) throws(TapeGradError) -> Tensor { try inPlace(AddKernel.self, other) }
    /// Subtracts `other` from this tensor (`tensor.sub_`); returns `self`.
    @discardableResult
    public func sub_(_ other: Tensor) throws(TapeGradError) -> Tensor { try inPlace(SubKernel.self, other) }
    /// Multiplies this tensor by `other` (`tensor.mul_`); returns `self`.
    @discardableResult
    public func mul_(_ other: Tensor) throws(TapeGradError) -> Tensor { try inPlace(MulKernel.self, other) }
    /// Divides this tensor by `other` (`tensor.div_`); returns `self`.
    @discardableResult
    public func div_(_ other: Tensor) throws(TapeGradError) -> Tensor { try inPlace(DivKernel.self, other) }

    /// Sets every element to zero (`tensor.zero_()`); returns `self`.
    @discardableResult
    public func zero_() throws(TapeGradError) -> Tensor { try fill_(0) }

    /// Sets every element to `value` (`tensor.fill_`); returns `self`.
    @discardableResult
    public func fill_(_ value: Double) throws(TapeGradError) -> Tensor {
        try prepareInPlaceWrite()
        fillStorage(value)
        return self
    }

    /// Adds `other` in place; traps where `add_` would throw.
    public static func += (lhs: Tensor, rhs: Tensor) { trapping { try lhs.add_(rhs) } }
    /// Subtracts `other` in place; traps where `sub_` would throw.
    public static func -= (lhs: Tensor, rhs: Tensor) { trapping { try lhs.sub_(rhs) } }
    /// Multiplies in place; traps where `mul_` would throw.
    public static func *= (lhs: Tensor, rhs: Tensor) { trapping { try lhs.mul_(rhs) } }
    /// Divides in place; traps where `div_` would throw.
    public static func /= (lhs: Tensor, rhs: Tensor) { trapping { try lhs.div_(rhs) } }
}
