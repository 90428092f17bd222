extension Engine {
    /// Whether an op on these operands must be recorded: grad mode is on and one of them
    /// requires grad.
    @inline(__always)
    mutating func shouldRecord(_ a: Tensor, _ b: Tensor = .null, _ c: Tensor = .null) -> Bool {
        guard gradEnabled else { return false }
        if slot(a).pointee.flags.contains(.requiresGrad) { return true }
        if !b.isNull && slot(b).pointee.flags.contains(.requiresGrad) { return true }
        if !c.isNull && slot(c).pointee.flags.contains(.requiresGrad) { return true }
        return false
    }

    /// Where a gradient for `operand` goes now: the record that made it, `leafEdge`, or `noEdge`.
    @inline(__always)
    mutating func edge(_ operand: Tensor) -> Int32 {
        if operand.isNull { return Record.noEdge }
        if !slot(operand).pointee.base.isNull { Engine.refreshView(operand) }
        let s = slot(operand).pointee
        guard s.flags.contains(.requiresGrad) else { return Record.noEdge }
        return s.gradFn >= 0 ? s.gradFn : Record.leafEdge
    }

    /// The record that made `tensor` now (-1: none), after bringing a view's history up to date.
    @inline(__always)
    mutating func history(_ tensor: Tensor) -> Int32 {
        if !slot(tensor).pointee.base.isNull { Engine.refreshView(tensor) }
        return slot(tensor).pointee.gradFn
    }

    /// Gives an autograd view whose storage was written in place since its history was made an
    /// `AsStridedBackward0` record reading its base's history, as PyTorch regenerates such a
    /// view's `grad_fn`: the view's values are the base's new ones, so its old record could
    /// send gradients to the base's old history.
    /// (Static, through the engine's pointer: the hot path never copies the engine.)
    @inline(never)
    static func refreshView(_ view: Tensor) {
        let e = engine
        let s = e.pointee.slot(view)
        let version = e.pointee.storages.pointer(at: Int(s.pointee.storage)).pointee.version
        guard version != s.pointee.historyVersion else { return }
        s.pointee.historyVersion = version
        let base = s.pointee.base
        guard e.pointee.isAlive(base) else { return }
        let root = e.pointee.slot(base)
        guard root.pointee.gradFn >= 0 && root.pointee.flags.contains(.requiresGrad) else { return }
        var r = Record(.asStrided, result: view, a: base)
        r.edgeA = root.pointee.gradFn
        e.pointee.append(r, edgesFilled: true)
        // New history for a tensor that may be older than the step: the step's end resets it.
        e.pointee.rebaseCount += 1
    }

    /// Appends a record to the tape, filling in its edges and saved versions, and makes its
    /// result a non-leaf that requires grad. Returns the record's index.
    @inline(__always)
    @discardableResult
    mutating func append(_ record: Record, edgesFilled: Bool = false) -> Int32 {
        var record = record
        if !edgesFilled {
            record.edgeA = edge(record.a)
            record.edgeB = edge(record.b)
            record.edgeC = edge(record.c)
        }
        record.versionA = record.a.isNull ? 0 : version(record.a)
        record.versionB = record.b.isNull ? 0 : version(record.b)
        record.versionC = record.c.isNull ? 0 : version(record.c)
        let index = Int32(tape.count)
        if !record.result.isNull {
            record.versionResult = version(record.result)
            let result = slot(record.result)
            result.pointee.gradFn = index
            result.pointee.flags.insert(.requiresGrad)
        }
        tape.append(record)
        if anomalyMode { Anomaly.noteCreation(of: index) }
        return index
    }

    /// Records `record` when its operands call for it; returns its result either way.
    @inline(__always)
    mutating func recordIfNeeded(_ record: Record) -> Tensor {
        if shouldRecord(record.a, record.b, record.c) { append(record) }
        return record.result
    }
}
