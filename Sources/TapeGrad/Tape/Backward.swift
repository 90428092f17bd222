// The reverse sweep: one loop over the tape from the output's record down, each record's
// vector-Jacobian product sending gradients to its operands.

extension Tensor {
    /// Computes the gradient of this tensor with respect to the leaves that require grad and
    /// accumulates it into their `grad` (`tensor.backward()`).
    ///
    /// - Parameters:
    ///   - gradient: the gradient of some scalar with respect to this tensor; may be omitted
    ///     for a one-element tensor (it is then 1).
    ///   - retainGraph: keep the records swept so that backward can run through them again
    ///     (defaults to `createGraph`).
    ///   - createGraph: record the sweep's own ops, so the gradients can be differentiated.
    public func backward(gradient: Tensor? = nil, retainGraph: Bool? = nil, createGraph: Bool = false) throws(TapeGradError) {
        try Autograd.sweep(from: self, gradient: gradient, retainGraph: retainGraph ?? createGraph, createGraph: createGraph)
    }
}

enum Autograd {
    static func sweep(from root: Tensor, gradient: Tensor?, retainGraph: Bool, createGraph: Bool) throws(TapeGradError) {
        let e = engine
        let rootInfo = root.info
        guard rootInfo.flags.contains(.requiresGrad) else {
            throw .runtime("element 0 of tensors does not require grad and does not have a grad_fn")
        }
        if let gradient {
            let given = gradient.info.shape
            guard given == rootInfo.shape else {
                throw .runtime("Mismatch in shape: grad_output[0] has a shape of \(given.torchSize) and output[0] has a shape of \(rootInfo.shape.torchSize).")
            }
        } else if rootInfo.shape.product != 1 {
            throw .runtime("grad can be implicitly created only for scalar outputs")
        }

        // Without createGraph the sweep's temporaries are released when it ends and nothing
        // it computes is recorded; leaf gradients live in slots of their own.
        let previousMode = e.pointee.gradEnabled
        e.pointee.gradEnabled = createGraph
        if !createGraph { e.pointee.beginScope() }
        defer {
            if !createGraph { e.pointee.endScope() }
            e.pointee.gradEnabled = previousMode
        }

        var seed = gradient ?? Tensor.full(rootInfo.shape.array, 1, dtype: rootInfo.dtype)
        if seed.info.dtype != rootInfo.dtype { seed = seed.to(rootInfo.dtype) }
        if rootInfo.gradFn < 0 {
            accumulateLeaf(root, seed, createGraph: createGraph)
            return
        }

        var pendingCount = 1
        e.pointee.slot(root).pointee.pending = seed
        var index = Int(rootInfo.gradFn)
        while index >= 0 && pendingCount > 0 {
            let record = e.pointee.tape[index]
            defer { index -= 1 }
            guard e.pointee.isAlive(record.result) else { continue }
            let resultSlot = e.pointee.slot(record.result)
            let g = resultSlot.pointee.pending
            if g.isNull { continue }
            resultSlot.pointee.pending = .null
            pendingCount -= 1
            if record.flags.contains(.released) {
                clearPending(below: index)
                throw .runtime("Trying to backward through the graph a second time (or directly access saved tensors after they have already been freed). Saved intermediate values of the graph are freed when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the graph a second time or if you need to access saved tensors after calling backward.")
            }
            if resultSlot.pointee.flags.contains(.retainsGrad) {
                storeGrad(g, into: record.result, createGraph: createGraph)
            }
            let grads = record.op.vectorJacobianProduct(record, g)
            deliver(grads.a, to: record.a, pendingCount: &pendingCount, createGraph: createGraph)
            deliver(grads.b, to: record.b, pendingCount: &pendingCount, createGraph: createGraph)
            deliver(grads.c, to: record.c, pendingCount: &pendingCount, createGraph: createGraph)
            if !retainGraph { e.pointee.tape.pointer(at: index).pointee.flags.insert(.released) }
        }
    }

    /// Sends a gradient to an operand: leaves accumulate it, non-leaves collect it until their
    /// own record is swept.
    @inline(__always)
    private static func deliver(_ g: Tensor, to operand: Tensor, pendingCount: inout Int, createGraph: Bool) {
        guard !g.isNull, !operand.isNull else { return }
        let e = engine
        let s = e.pointee.slot(operand)
        guard s.pointee.flags.contains(.requiresGrad) else { return }
        if s.pointee.gradFn < 0 {
            accumulateLeaf(operand, g, createGraph: createGraph)
        } else if s.pointee.pending.isNull {
            s.pointee.pending = g
            pendingCount += 1
        } else {
            let sum = s.pointee.pending + g
            e.pointee.slot(operand).pointee.pending = sum
        }
    }

    /// Adds `g` into a leaf's `grad`, making it (a copy of `g`, in a slot owned by the leaf)
    /// the first time.
    static func accumulateLeaf(_ leaf: Tensor, _ g: Tensor, createGraph: Bool) {
        let e = engine
        let existing = e.pointee.slot(leaf).pointee.grad
        if existing.isNull {
            storeGrad(g, into: leaf, createGraph: createGraph)
        } else if createGraph || existing.requiresGrad {
            let sum = existing + g
            e.pointee.slot(leaf).pointee.grad = sum
        } else {
            e.pointee.accumulate(g, into: existing)
        }
    }

    /// Sets `tensor.grad` to `g`: with `createGraph` the graph-carrying tensor itself, else a
    /// contiguous copy owned by `tensor`.
    private static func storeGrad(_ g: Tensor, into tensor: Tensor, createGraph: Bool) {
        let e = engine
        if createGraph {
            e.pointee.slot(tensor).pointee.grad = g
            return
        }
        let dtype = e.pointee.slot(tensor).pointee.dtype
        let existing = e.pointee.slot(tensor).pointee.grad
        if !existing.isNull && e.pointee.slot(existing).pointee.flags.contains(.ownedByTensor) {
            e.pointee.release(slotIndex: existing.slot)
        }
        let copy = e.pointee.copyOwned(g, dtype: dtype)
        e.pointee.slot(tensor).pointee.grad = copy
    }

    private static func clearPending(below index: Int) {
        let e = engine
        var i = index
        while i >= 0 {
            let result = e.pointee.tape[i].result
            if e.pointee.isAlive(result) { e.pointee.slot(result).pointee.pending = .null }
            i -= 1
        }
    }
}

extension Engine {
    /// A contiguous copy of `source` in a slot that belongs to no step and is released with
    /// the tensor whose `grad` it becomes.
    mutating func copyOwned(_ source: Tensor, dtype: DType) -> Tensor {
        let s = slot(source).pointee
        let copy = makeTensor(shape: s.shape, dtype: dtype, persistent: true)
        slot(copy).pointee.flags.insert(.ownedByTensor)
        copyValues(from: source, into: copy)
        return copy
    }

    /// Copies the values of `source` into `target` (same element count, any layouts).
    mutating func copyValues(from source: Tensor, into target: Tensor) {
        let t = slot(target).pointee
        if t.isContiguous && slot(source).pointee.dtype == t.dtype {
            let converted = source
            let s = slot(converted).pointee
            switch t.dtype {
            case .float32: Kernels.copy(base(converted, as: Float.self), shape: s.shape, strides: s.strides, base(target, as: Float.self)) { $0 }
            case .float64: Kernels.copy(base(converted, as: Double.self), shape: s.shape, strides: s.strides, base(target, as: Double.self)) { $0 }
            case .bool: Kernels.copy(base(converted, as: UInt8.self), shape: s.shape, strides: s.strides, base(target, as: UInt8.self)) { $0 }
            }
            return
        }
        // A strided target: write through a contiguous staging copy in the target's dtype.
        let staged = convert(source, to: t.dtype)
        let s = slot(staged).pointee
        switch t.dtype {
        case .float32: Kernels.scatter(base(staged, as: Float.self), into: base(target, as: Float.self), shape: t.shape, strides: t.strides, count: s.shape.product)
        case .float64: Kernels.scatter(base(staged, as: Double.self), into: base(target, as: Double.self), shape: t.shape, strides: t.strides, count: s.shape.product)
        case .bool: Kernels.scatter(base(staged, as: UInt8.self), into: base(target, as: UInt8.self), shape: t.shape, strides: t.strides, count: s.shape.product)
        }
    }

    /// `target += source` elementwise, in place, with `source` broadcast to `target`'s shape.
    mutating func accumulate(_ source: Tensor, into target: Tensor) {
        let t = slot(target).pointee
        var source = source
        if slot(source).pointee.dtype != t.dtype { source = convert(source, to: t.dtype) }
        let s = slot(source).pointee
        let stridesS = Shapes.broadcastStrides(shape: s.shape, strides: s.strides, to: t.shape)
        let flatS = s.shape == t.shape && s.isContiguous
        precondition(t.isContiguous, "accumulate(_:into:) needs a contiguous target")
        if t.dtype == .float64 {
            let p = base(target, as: Double.self)
            Kernels.binary(AddKernel.self, p, t.strides, base(source, as: Double.self), stridesS,
                           shape: t.shape, flatA: true, flatB: flatS, p)
        } else {
            let p = base(target, as: Float.self)
            Kernels.binary(AddKernel.self, p, t.strides, base(source, as: Float.self), stridesS,
                           shape: t.shape, flatA: true, flatB: flatS, p)
        }
    }
}
