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

    @Test func staleHandleTraps() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let stale = withStep { Tensor.ones(2) * 3 }
            print(stale)
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(text.contains("this tensor was released when the step that made it ended"))
    }
}
