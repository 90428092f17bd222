import Testing
import TapeGrad

/// Saved values are freed by backward unless the graph is retained, as in PyTorch 2.15.
@Suite struct GraphLifetimeTests {
    @Test func secondBackwardFails() throws {
        let x = Tensor.ones(2, requiresGrad: true)
        let y = (x * x).sum()
        try y.backward()
        #expect(x.grad?.description == "tensor([2., 2.])")
        #expect(throws: TapeGradError(.runtimeError, secondBackwardMessage)) { try y.backward() }
        // The failed sweep left the gradient alone.
        #expect(x.grad?.description == "tensor([2., 2.])")
    }

    @Test func secondBackwardThroughSavedOutputFails() throws {
        let x = Tensor.ones(2, requiresGrad: true)
        let y = x.exp().sum()
        try y.backward()
        #expect(throws: TapeGradError(.runtimeError, secondBackwardMessage)) { try y.backward() }
    }

    @Test func retainGraphAllowsAnotherBackwardAndGradientsAccumulate() throws {
        let x = Tensor.ones(2, requiresGrad: true)
        let y = (x * x).sum()
        try y.backward(retainGraph: true)
        #expect(x.grad?.description == "tensor([2., 2.])")
        try y.backward(retainGraph: true)
        #expect(x.grad?.description == "tensor([4., 4.])")
        try y.backward()
        #expect(x.grad?.description == "tensor([6., 6.])")
        // The last backward did not retain the graph.
        #expect(throws: TapeGradError(.runtimeError, secondBackwardMessage)) { try y.backward() }
        #expect(x.grad?.description == "tensor([6., 6.])")
    }

    @Test func graphWithoutSavedTensorsCanBeSweptTwice() throws {
        // PyTorch: (x + x).sum() saves no tensors, so a second backward works: grad [4., 4.].
        let x = Tensor.ones(2, requiresGrad: true)
        let y = (x + x).sum()
        try y.backward()
        try y.backward()
        #expect(x.grad?.description == "tensor([4., 4.])")
    }

    @Test func gradOfTwiceWithoutRetainFails() throws {
        let x = Tensor([1.0, 2.0], requiresGrad: true)
        let y = (x * x).sum()
        let first = try grad(of: y, withRespectTo: [x])
        #expect(first[0]?.description == "tensor([2., 4.])")
        #expect(throws: TapeGradError(.runtimeError, secondBackwardMessage)) {
            try grad(of: y, withRespectTo: [x])
        }
    }

    @Test func gradOfWithRetainGraphThenBackward() throws {
        let x = Tensor([1.0, 2.0], requiresGrad: true)
        let y = (x * x * x).sum()
        let g = try grad(of: y, withRespectTo: [x], retainGraph: true)
        #expect(g[0]?.description == "tensor([ 3., 12.])")
        #expect(x.grad == nil)
        try y.backward()
        #expect(x.grad?.description == "tensor([ 3., 12.])")
    }

    @Test func sharedSubgraphRetainedForASecondOutput() throws {
        // Two losses share h; the first backward retains the graph so the second can run.
        let x = Tensor([0.5, -1.0], requiresGrad: true)
        let h = x.tanh()
        let loss1 = (h * h).sum()
        let loss2 = (h * 3).sum()
        try loss1.backward(retainGraph: true)
        try loss2.backward()
        // d/dx [tanh² + 3 tanh] = (2 tanh + 3)(1 - tanh²); PyTorch's float32 values.
        #expect(allClose(x.grad!.scalars(), [3.086205005645752, 0.6202229261398315], atol: 1e-6, rtol: 1e-6))
    }

    @Test func freshGraphEachIterationWorksWithoutRetaining() throws {
        let x = Tensor([1.0, 2.0], requiresGrad: true)
        for _ in 0..<3 {
            try withStep { try (x * x).sum().backward() }
        }
        #expect(x.grad?.description == "tensor([ 6., 12.])")
    }
}
