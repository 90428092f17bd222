import Testing
@testable import TapeGrad

/// Steps release what they made, and handles to released tensors are caught.
@Suite struct StepTests {
    @Test func stepReleasesIntermediatesAndKeepsLeafGradients() throws {
        let w = Tensor.randn(4, 3, requiresGrad: true)
        let x = Tensor.randn(2, 4)
        let e = engine
        var inside = Tensor.null
        try withStep {
            let loss = try x.mm(w).tanh().sum()
            try loss.backward()
            inside = loss
            #expect(inside.isAlive)
        }
        #expect(!inside.isAlive)
        #expect(w.grad != nil && w.grad!.isAlive)
        let slotsAfterFirst = e.pointee.slots.count
        let bytesAfterFirst = e.pointee.bufferBytesInUse
        for _ in 0..<5 {
            try withStep { try x.mm(w).tanh().sum().backward() }
        }
        #expect(e.pointee.slots.count == slotsAfterFirst)
        #expect(e.pointee.bufferBytesInUse == bytesAfterFirst)
    }

    static let staleMessage = "this tensor was released when the step that made it ended (withStep), and its memory now belongs to another tensor. To keep a value past its step, read it out with item() or scalars(), make the tensor before the step, or copy it into one made before the step with copy_()."

    @Test func staleHandleIsNotAlive() {
        let stale = withStep { Tensor.ones(2) * 3 }
        #expect(!stale.isAlive)
        // The slot is reused by the next tensor, whose handle differs by generation.
        let fresh = Tensor.zeros(2)
        #expect(fresh.isAlive && !stale.isAlive)
    }

    @Test func printingAStaleHandleTraps() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let stale = withStep { Tensor.ones(2) * 3 }
            print(stale)
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(text.contains(Self.staleMessage))
    }

    @Test func readingAStaleHandleTraps() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let stale = withStep { Tensor.ones(2) * 3 }
            _ = Tensor.zeros(2)  // takes the released slot and buffer
            _ = stale.scalars()
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(text.contains(Self.staleMessage))
    }

    @Test func writingAStaleHandleTraps() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let stale = withStep { Tensor.ones(2) * 3 }
            _ = try? stale.fill_(1)
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(text.contains(Self.staleMessage))
    }

    @Test func backwardThroughAStaleHandleTraps() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let x = Tensor.ones(2, requiresGrad: true)
            let stale = withStep { (x * 3).sum() }
            try? stale.backward()
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(text.contains(Self.staleMessage))
    }

    @Test func stepReleasesTheTapeAndHistoryOfOuterTensors() throws {
        let e = engine
        let tapeBefore = e.pointee.tape.count
        let y = Tensor.ones(2, requiresGrad: true) * 2   // made outside: persists
        try withStep {
            _ = (y * y).sum()
            try y.add_(Tensor.ones(2))                   // in-place inside the step
        }
        #expect(e.pointee.tape.count == tapeBefore + 1)
        #expect(y.isAlive)
        // The in-place op's history ended with the step: y is a leaf again, never a dangling record.
        #expect(y.isLeaf)
    }
}
