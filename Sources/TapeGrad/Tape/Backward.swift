// The reverse sweep: one loop over the tape from the output's record down, each record's
// vector-Jacobian product sending gradients along its edges.

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
        _ = try Autograd.sweep(from: self, gradient: gradient, retainGraph: retainGraph ?? createGraph,
                               createGraph: createGraph, inputs: nil, allowUnused: true)
    }
}

/// The gradients of `output` with respect to each of `inputs`, without touching any `grad`
/// (`torch.autograd.grad`). An input the output does not depend on throws unless
/// `allowUnused`, in which case its entry is `nil`.
public func grad(
    of output: Tensor, withRespectTo inputs: [Tensor], gradOutputs: Tensor? = nil,
    retainGraph: Bool? = nil, createGraph: Bool = false, allowUnused: Bool = false
) throws(TapeGradError) -> [Tensor?] {
    for input in inputs where !input.requiresGrad {
        throw .runtime("One of the differentiated Tensors does not require grad")
    }
    return try Autograd.sweep(from: output, gradient: gradOutputs, retainGraph: retainGraph ?? createGraph,
                              createGraph: createGraph, inputs: inputs, allowUnused: allowUnused)
}

enum Autograd {
    static let secondBackwardMessage = "Trying to backward through the graph a second time (or directly access saved tensors after they have already been freed). Saved intermediate values of the graph are freed when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the graph a second time or if you need to access saved tensors after calling backward."

    /// Runs one sweep. With `inputs`, gradients reaching them are returned instead of
    /// accumulated (and no leaf's `grad` changes).
    static func sweep(
        from root: Tensor, gradient: Tensor?, retainGraph: Bool, createGraph: Bool,
        inputs: [Tensor]?, allowUnused: Bool
    ) throws(TapeGradError) -> [Tensor?] {
        let e = engine
        _ = e.pointee.history(root)
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
        // it computes is recorded; leaf gradients and returned gradients live in slots that
        // outlast the sweep.
        let previousMode = e.pointee.gradEnabled
        e.pointee.gradEnabled = createGraph
        if !createGraph { e.pointee.beginScope() }
        // What `grad(of:)` returns: copies made to outlive the sweep's scope (or, with
        // createGraph, the graph-carrying gradients themselves).
        var results = [Tensor](repeating: .null, count: inputs?.count ?? 0)
        defer {
            e.pointee.gradEnabled = previousMode
            if !createGraph {
                e.pointee.endScope()
                for t in results where !t.isNull { e.pointee.adoptIntoCurrentScope(t) }
            }
        }

        var seed = gradient ?? Tensor.full(dims: rootInfo.shape, 1, dtype: rootInfo.dtype)
        if seed.info.dtype != rootInfo.dtype { seed = seed.to(rootInfo.dtype) }

        var sweep = Sweep(createGraph: createGraph, inputs: inputs)
        let previousDirect = e.pointee.directAccumulation
        e.pointee.directAccumulation = inputs == nil && !createGraph
        defer { e.pointee.directAccumulation = previousDirect }
        do {
            if rootInfo.gradFn < 0 {
                sweep.deliver(seed, edge: Record.leafEdge, operand: root)
            } else {
                sweep.deliver(seed, edge: rootInfo.gradFn, operand: root)
                try sweep.run(from: Int(rootInfo.gradFn), retainGraph: retainGraph)
            }
            try sweep.finishLeaves()
        } catch {
            sweep.abandon()
            throw error
        }
        if let inputs {
            for i in 0..<inputs.count {
                let g = sweep.captured[i]
                if g.isNull {
                    guard allowUnused else {
                        throw .runtime("The differentiated Tensor at index \(i) appears to not have been used in the graph. Set allow_unused=True if this is the desired behavior.")
                    }
                } else {
                    results[i] = createGraph ? g : e.memory.copyDetached(g)
                }
            }
        }
        return results.map { $0.isNull ? nil : $0 }
    }
}

/// The state of one reverse sweep.
struct Sweep {
    let createGraph: Bool
    let inputs: [Tensor]?
    var captured: [Tensor]
    var pendingCount = 0
    var lowest = Int.max

    init(createGraph: Bool, inputs: [Tensor]?) {
        self.createGraph = createGraph
        self.inputs = inputs
        captured = [Tensor](repeating: .null, count: inputs?.count ?? 0)
    }

    /// Runs the records from `start` down while gradients are pending.
    mutating func run(from start: Int, retainGraph: Bool) throws(TapeGradError) {
        let e = engine
        // Gradients are released as soon as no pending slot holds them, so that backward's
        // working set stays small; not when they may escape (createGraph, grad(of:)).
        let previousMarking = e.pointee.markSweepTemporaries
        e.pointee.markSweepTemporaries = !createGraph && inputs == nil
        defer { e.pointee.markSweepTemporaries = previousMarking }
        var index = start
        while index >= 0 && pendingCount > 0 {
            defer { index -= 1 }
            var g = e.pointee.tape[index].pending
            if g.isNull { continue }
            e.pointee.tape.pointer(at: index).pointee.pending = .null
            pendingCount -= 1
            Self.drop(g, release: false)
            let record = e.pointee.tape[index]
            if record.flags.contains(.released) && !record.op.savedValues.isEmpty {
                throw .runtime(Autograd.secondBackwardMessage)
            }
            do {
                try checkSavedVersions(record, at: index)
            } catch {
                if e.pointee.anomalyMode { Anomaly.reportFailure(at: index) }
                throw error
            }

            // The record's result, if it still carries this history: hooks, retained grad,
            // and a requested input.
            let result = record.result
            var hooked = false
            if !result.isNull && e.pointee.isAlive(result) && e.pointee.slot(result).pointee.gradFn == Int32(index) {
                let flags = e.pointee.slot(result).pointee.flags
                hooked = flags.contains(.hasHooks)
                if hooked { g = Hooks.runTensorHooks(on: result, g) }
                if flags.contains(.retainsGrad) { Autograd.accumulateLeaf(result, g, createGraph: createGraph) }
                capture(g, for: result)
            }

            let grads: Gradients
            if e.pointee.anomalyMode {
                do {
                    grads = try record.op.row.backward(record, g)
                    try Anomaly.check(grads, of: record)
                } catch {
                    Anomaly.reportFailure(at: index)
                    throw error
                }
            } else {
                grads = try record.op.row.backward(record, g)
            }
            deliver(grads.a, edge: record.edgeA, operand: record.a)
            deliver(grads.b, edge: record.edgeB, operand: record.b)
            deliver(grads.c, edge: record.edgeC, operand: record.c)
            // What no pending slot took is done with (a hook may have kept `g`).
            if !hooked { Self.releaseIfUnused(g) }
            Self.releaseIfUnused(grads.a)
            Self.releaseIfUnused(grads.b)
            Self.releaseIfUnused(grads.c)
            if !retainGraph { e.pointee.tape.pointer(at: index).pointee.flags.insert(.released) }
            lowest = index
        }
    }

    /// Sends a gradient along an edge: into the pending gradient of the record it names, or of
    /// the leaf.
    @inline(__always)
    mutating func deliver(_ g: Tensor, edge: Int32, operand: Tensor) {
        guard !g.isNull, edge != Record.noEdge else { return }
        let e = engine
        if edge >= 0 {
            let target = e.pointee.tape.pointer(at: Int(edge))
            if target.pointee.pending.isNull {
                target.pointee.pending = g
                Self.hold(g)
                pendingCount += 1
            } else {
                let previous = target.pointee.pending
                let sum = previous + g
                e.pointee.tape.pointer(at: Int(edge)).pointee.pending = sum
                Self.hold(sum)
                Self.drop(previous, release: true)
            }
        } else {
            let s = e.pointee.slot(operand)
            if s.pointee.pending.isNull {
                s.pointee.pending = g
                Self.hold(g)
                e.pointee.touchedLeaves.append(operand)
            } else {
                let previous = s.pointee.pending
                let sum = previous + g
                e.pointee.slot(operand).pointee.pending = sum
                Self.hold(sum)
                Self.drop(previous, release: true)
            }
        }
    }

    /// Notes that a pending slot holds `g`.
    @inline(__always)
    static func hold(_ g: Tensor) {
        let s = engine.pointee.slot(g)
        if s.pointee.flags.contains(.sweepTemporary) { s.pointee.pendingUses += 1 }
    }

    /// Notes that a pending slot no longer holds `g`, releasing it when asked and nothing does.
    @inline(__always)
    static func drop(_ g: Tensor, release: Bool) {
        let e = engine
        let s = e.pointee.slot(g)
        guard s.pointee.flags.contains(.sweepTemporary) else { return }
        s.pointee.pendingUses -= 1
        if release && s.pointee.pendingUses == 0 { e.pointee.release(slotIndex: g.slot) }
    }

    /// Releases a sweep temporary that no pending slot holds.
    @inline(__always)
    static func releaseIfUnused(_ g: Tensor) {
        guard !g.isNull else { return }
        let e = engine
        guard e.pointee.isAlive(g) else { return }
        let s = e.pointee.slot(g)
        if s.pointee.flags.contains(.sweepTemporary) && s.pointee.pendingUses == 0 { e.pointee.release(slotIndex: g.slot) }
    }

    /// Hands each leaf its total gradient: to the caller of `grad(of:)`, or through the
    /// leaf's hooks into its `grad`.
    mutating func finishLeaves() throws(TapeGradError) {
        let e = engine
        var i = 0
        while i < e.pointee.touchedLeaves.count {
            let leaf = e.pointee.touchedLeaves[i]
            i += 1
            let s = e.pointee.slot(leaf)
            var g = s.pointee.pending
            s.pointee.pending = .null
            Self.drop(g, release: false)
            let hooked = s.pointee.flags.contains(.hasHooks)
            if hooked { g = Hooks.runTensorHooks(on: leaf, g) }
            if inputs != nil {
                capture(g, for: leaf)
            } else {
                Autograd.accumulateLeaf(leaf, g, createGraph: createGraph)
                if hooked { Hooks.runPostAccumulateHooks(on: leaf) } else { Self.releaseIfUnused(g) }
            }
        }
        e.pointee.touchedLeaves.truncate(to: 0)
    }

    @inline(__always)
    private mutating func capture(_ g: Tensor, for tensor: Tensor) {
        guard let inputs else { return }
        for i in 0..<inputs.count where inputs[i].isSame(tensor) {
            captured[i] = captured[i].isNull ? g : captured[i] + g
        }
    }

    private func checkSavedVersions(_ record: Record, at index: Int) throws(TapeGradError) {
        let saved = record.op.savedValues
        if saved.isEmpty { return }
        let e = engine
        func check(_ t: Tensor, _ expected: UInt32, savedOutput: Bool) throws(TapeGradError) {
            guard !t.isNull else { return }
            guard e.pointee.isAlive(t) else { throw .runtime(Autograd.secondBackwardMessage) }
            let current = e.pointee.version(t)
            guard current == expected else {
                let s = t.info
                let typeName = s.dtype.torchTypeName, shape = s.shape.array.bracketed
                // PyTorch names the node that saved an output, else the tensor's own node.
                let node: Int32 = savedOutput ? Int32(index) : s.gradFn
                let origin = node >= 0 ? ", which is output 0 of \(e.pointee.tape[Int(node)].errorName)," : ""
                let hint = e.pointee.anomalyMode
                    ? "Hint: the backtrace further above shows the operation that failed to compute its gradient. The variable in question was changed in there or anywhere later. Good luck!"
                    : "Hint: enable anomaly detection to find the operation that failed to compute its gradient, with torch.autograd.set_detect_anomaly(True, check_nan=False)."
                throw .runtime("one of the variables needed for gradient computation has been modified by an inplace operation: [\(typeName) \(shape)]\(origin) is at version \(current); expected version \(expected) instead. \(hint)")
            }
        }
        if saved.contains(.a) { try check(record.a, record.versionA, savedOutput: false) }
        if saved.contains(.b) { try check(record.b, record.versionB, savedOutput: false) }
        if saved.contains(.result) { try check(record.result, record.versionResult, savedOutput: true) }
        if saved.contains(.c) || saved.contains(.cOperand) { try check(record.c, record.versionC, savedOutput: false) }
        if record.op == .custom { try CustomNode.checkSavedVersions(record, at: index, check) }
    }

    /// Clears what a failed sweep left pending.
    func abandon() {
        let e = engine
        for i in 0..<e.pointee.tape.count where !e.pointee.tape[i].pending.isNull {
            e.pointee.tape.pointer(at: i).pointee.pending = .null
        }
        for i in 0..<e.pointee.touchedLeaves.count {
            let leaf = e.pointee.touchedLeaves[i]
            if e.pointee.isAlive(leaf) { e.pointee.slot(leaf).pointee.pending = .null }
        }
        e.pointee.touchedLeaves.truncate(to: 0)
    }
}

extension Autograd {
    /// Adds `g` into a leaf's `grad`, making it (a copy of `g`, in a slot owned by the leaf)
    /// the first time.
    static func accumulateLeaf(_ leaf: Tensor, _ g: Tensor, createGraph: Bool) {
        let e = engine
        let existing = e.pointee.slot(leaf).pointee.grad
        if existing.isNull || !e.pointee.isAlive(existing) {
            storeGrad(g, into: leaf, createGraph: createGraph)
        } else if createGraph {
            let sum = existing + g
            e.pointee.slot(leaf).pointee.grad = sum
        } else if existing.requiresGrad {
            // A gradient that carries a graph is never changed in place: replaced by the sum.
            storeGrad(existing + g, into: leaf, createGraph: false)
        } else {
            e.memory.accumulate(g, into: existing)
        }
    }

    /// Sets `tensor.grad` to `g`: with `createGraph` the graph-carrying tensor itself, else a
    /// contiguous copy owned by `tensor`.
    static func storeGrad(_ g: Tensor, into tensor: Tensor, createGraph: Bool) {
        let e = engine
        e.pointee.releaseOwned(e.pointee.slot(tensor).pointee.grad)
        if createGraph {
            e.pointee.slot(tensor).pointee.grad = g
            return
        }
        let dtype = e.pointee.slot(tensor).pointee.dtype
        let shape = e.pointee.slot(tensor).pointee.shape
        let stored: Tensor
        if let stolen = e.pointee.stealSweepTemporary(g, dtype: dtype, shape: shape) {
            e.pointee.slot(stolen).pointee.flags.insert(.ownedByTensor)
            stored = stolen
        } else {
            stored = e.memory.copyOwned(g, dtype: dtype)
        }
        e.pointee.slot(tensor).pointee.grad = stored
    }
}

extension Engine {
    /// The `grad` of `leaf` if a backward op may add its contribution straight into it: the
    /// sweep accumulates (no `grad(of:)`, no createGraph), the leaf has no hooks, and its
    /// gradient is a plain contiguous tensor of its own.
    @inline(__always)
    mutating func directAccumulationTarget(_ leaf: Tensor) -> Tensor? {
        guard directAccumulation else { return nil }
        let s = slot(leaf).pointee
        // A float16 or bfloat16 product is computed in float32 and then rounded: it goes
        // through the usual accumulation, whose temporaries are the same in every step.
        guard !s.flags.contains(.hasHooks), !s.dtype.isReducedPrecision, !s.grad.isNull, isAlive(s.grad) else { return nil }
        let g = slot(s.grad).pointee
        guard g.flags.contains(.ownedByTensor), g.flags.contains(.contiguous), !g.flags.contains(.requiresGrad),
              g.dtype == s.dtype, g.shape == s.shape else { return nil }
        return s.grad
    }

    /// A slot that takes over `g`'s buffer, if `g` is a temporary of the running sweep that
    /// nothing else shares (so a gradient is stored without copying); else nil.
    mutating func stealSweepTemporary(_ g: Tensor, dtype: DType, shape: Dims) -> Tensor? {
        let s = slot(g).pointee
        guard scopes.count > 0, !s.flags.contains(.persistent), s.flags.contains(.contiguous), s.offset == 0,
              s.base.isNull, s.dtype == dtype, s.shape == shape, storages[Int(s.storage)].references == 1
        else { return nil }
        // Only a tensor the sweep itself made (never one the caller passed in) may be taken.
        let mark = scopes[scopes.count - 1].slotCount
        var i = scopeSlots.count
        var found = false
        while i > mark {
            i -= 1
            if scopeSlots[i] == g.slot { found = true; break }
        }
        guard found else { return nil }
        return makeView(of: g, shape: s.shape, strides: s.strides, offset: 0, persistent: true, autogradView: false)
    }


    /// Whether backward formulas must be built from recorded ops (createGraph), or may use
    /// fused kernels.
    @inline(__always)
    var backwardIsRecorded: Bool { gradEnabled }

    /// Puts a slot made with `persistent: true` into the innermost open step, if any.
    mutating func adoptIntoCurrentScope(_ tensor: Tensor) {
        guard scopes.count > 0 else { return }
        slot(tensor).pointee.flags.remove(.persistent)
        scopeSlots.append(tensor.slot)
    }
}

extension TensorMemory {
    /// A contiguous copy of `source` in a slot that belongs to no step and is released with
    /// the tensor whose `grad` it becomes.
    func copyOwned(_ source: Tensor, dtype: DType) -> Tensor {
        let copy = copyDetached(source, dtype: dtype)
        slot(copy).pointee.flags.insert(.ownedByTensor)
        return copy
    }

    /// A contiguous copy of `source` (in `dtype`, else its own) that outlives the current
    /// scope; the caller hands it to the enclosing scope with `adoptIntoCurrentScope` once the
    /// inner one has ended.
    func copyDetached(_ source: Tensor, dtype: DType? = nil) -> Tensor {
        let s = slot(source).pointee
        let copy = makeTensor(shape: s.shape, dtype: dtype ?? s.dtype, persistent: true)
        copyValues(from: source, into: copy)
        return copy
    }
}
