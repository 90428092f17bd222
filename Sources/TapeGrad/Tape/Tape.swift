extension Engine {
    /// Whether an op on these operands must be recorded: grad mode is on and one of them
    /// requires grad.
    @inline(__always)
    func shouldRecord(_ a: Tensor, _ b: Tensor = .null, _ c: Tensor = .null) -> Bool {
        guard gradEnabled else { return false }
        if slot(a).pointee.flags.contains(.requiresGrad) { return true }
        if !b.isNull && slot(b).pointee.flags.contains(.requiresGrad) { return true }
        if !c.isNull && slot(c).pointee.flags.contains(.requiresGrad) { return true }
        return false
    }

    /// Where a gradient for `operand` goes now: the record that made it, `leafEdge`, or `noEdge`.
    @inline(__always)
    func edge(_ operand: Tensor) -> Int32 {
        if operand.isNull { return Record.noEdge }
        let s = slot(operand).pointee
        guard s.flags.contains(.requiresGrad) else { return Record.noEdge }
        return s.gradFn >= 0 ? s.gradFn : Record.leafEdge
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
