// Steps (`withStep`): a scope's tensors and tape records are released when it ends, so a
// training loop's iteration gives back everything it made.

/// A scope's start: the tensors and records made after it are released when it ends.
struct ScopeMark: BitwiseCopyable {
    var slotCount: Int
    var tapeCount: Int
    var customCount: Int
    var rebaseCount: Int
}

extension Engine {
    /// Opens a scope: what is made from here on belongs to it.
    mutating func beginScope() {
        scopes.append(ScopeMark(slotCount: scopeSlots.count, tapeCount: tape.count, customCount: customNodes.count,
                                rebaseCount: rebaseCount))
    }

    /// Leaves every table at most half full after an outermost step (a fuller one grows to
    /// four times its count): the second iteration of a loop can need a few more entries than
    /// the first (gradients made in the first are alive when the second's are made), and must
    /// find them without growing a table, at its end either.
    private mutating func keepHeadroom() {
        slots.keepHeadroom()
        freeSlots.reserve(slots.capacity)
        storages.keepHeadroom()
        freeStorages.reserve(storages.capacity)
        tape.keepHeadroom()
        scopeSlots.keepHeadroom()
        customNodes.keepHeadroom()
        touchedLeaves.keepHeadroom()
    }

    /// Ends the innermost scope: its tensors are released and its records dropped from the tape.
    mutating func endScope() {
        let mark = scopes.removeLast()
        if scopes.count == 0 { keepHeadroom() }
        var i = scopeSlots.count
        while i > mark.slotCount {
            i -= 1
            // A slot a sweep released early may since hold a tensor of no step (a gradient).
            let index = scopeSlots[i]
            if !slots.pointer(at: Int(index)).pointee.flags.contains(.persistent) { release(slotIndex: index) }
        }
        scopeSlots.truncate(to: mark.slotCount)
        // History recorded inside the step ends with it: a tensor from before the step that an
        // in-place op gave a record here becomes a leaf again instead of pointing past the tape.
        // Only in-place ops move a tensor's history, so without one there is nothing to look at.
        var r = rebaseCount != mark.rebaseCount ? tape.count : mark.tapeCount
        while r > mark.tapeCount {
            r -= 1
            let result = tape[r].result
            if !result.isNull && isAlive(result) && slots[Int(result.slot)].gradFn == Int32(r) {
                slots.pointer(at: Int(result.slot)).pointee.gradFn = -1
            }
        }
        if !creationTraces.isEmpty { creationTraces = creationTraces.filter { $0.key < Int32(mark.tapeCount) } }
        tape.truncate(to: mark.tapeCount)
        if customNodes.count > mark.customCount { customNodes.truncate(to: mark.customCount) }
    }
}
