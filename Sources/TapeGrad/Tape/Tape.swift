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

    /// Appends a record to the tape and makes its result a non-leaf that requires grad.
    @inline(__always)
    mutating func append(_ record: Record) {
        var record = record
        record.versionA = record.a.isNull ? 0 : version(record.a)
        record.versionB = record.b.isNull ? 0 : version(record.b)
        let result = slot(record.result)
        result.pointee.gradFn = Int32(tape.count)
        result.pointee.flags.insert(.requiresGrad)
        tape.append(record)
    }

    /// Records `record` when its operands call for it; returns its result either way.
    @inline(__always)
    mutating func recordIfNeeded(_ record: Record) -> Tensor {
        if shouldRecord(record.a, record.b, record.c) { append(record) }
        return record.result
    }
}
