// Leaves and history: turning recording on, cutting tensors loose from their history, keeping
// non-leaf gradients.

extension Tensor {
    /// Makes this leaf record operations (or stop recording) and returns it
    /// (`tensor.requires_grad_()`). Throws for non-leaves asked to stop, and for non-float dtypes.
    @discardableResult
    public func requiresGrad_(_ requiresGrad: Bool = true) throws(TapeGradError) -> Tensor {
        try setRequiresGrad(requiresGrad)
        return self
    }

    /// A new leaf that shares this tensor's storage (and version counter) but has no history
    /// and does not require grad (`tensor.detach()`).
    public func detach() -> Tensor {
        let s = info
        let e = engine
        // Shares the storage and its version counter, but is no autograd view of `self`.
        return e.pointee.makeView(of: self, shape: s.shape, strides: s.strides, offset: s.offset, autogradView: false)
    }

    /// Cuts this tensor from its history in place: it becomes a leaf that does not require
    /// grad (`tensor.detach_()`).
    @discardableResult
    public func detach_() throws(TapeGradError) -> Tensor {
        let s = engine.pointee.slot(self)
        if !s.pointee.base.isNull && s.pointee.gradFn >= 0 {
            throw .runtime("Can't detach views in-place. Use detach() instead. If you are using DistributedDataParallel (DDP) for training, and gradient_as_bucket_view is set as True, gradients are views of DDP buckets, and hence detach_() cannot be called on these gradients. To fix this error, please refer to the Optimizer.zero_grad() function in torch/optim/optimizer.py as the solution.")
        }
        s.pointee.gradFn = -1
        s.pointee.flags.remove(.requiresGrad)
        return self
    }

    /// The same values with no history, sharing storage (PyTorch's `tensor.data`, as used in
    /// `x.grad.data.zero_()`): a new handle each time, like `detach()`.
    public var data: Tensor { detach() }

    /// Whether backward keeps this non-leaf's gradient in `grad` (`tensor.retains_grad`).
    public var retainsGrad: Bool { info.flags.contains(.retainsGrad) }

    /// Keeps this non-leaf's gradient in `grad` during backward (`tensor.retain_grad()`); a
    /// no-op on leaves. Throws for tensors that do not require grad.
    public func retainGrad() throws(TapeGradError) {
        let s = engine.pointee.slot(self)
        guard s.pointee.flags.contains(.requiresGrad) else {
            throw .runtime("can't retain_grad on Tensor that has requires_grad=False")
        }
        if s.pointee.gradFn >= 0 { s.pointee.flags.insert(.retainsGrad) }
    }
}
