import Synchronization
import Testing
import TapeGrad

/// Gradient hooks and post-accumulate-grad hooks, against PyTorch 2.15.
@Suite struct HookTests {
    /// What hooks saw: values copied out when the hook ran.
    final class Seen: Sendable {
        private let storage = Mutex<[[Double]]>([])
        func append(_ values: [Double]) { storage.withLock { $0.append(values) } }
        var all: [[Double]] { storage.withLock { $0 } }
    }

    @Test func hookOnANonLeafSeesItsGradient() throws {
        let x = Tensor([1.0, 2.0], requiresGrad: true)
        let y = x * 3
        let seen = Seen()
        try y.registerHook { g in
            seen.append(g.scalars())
            return nil
        }
        try (y * y).sum().backward()
        #expect(seen.all == [[6, 12]])
        #expect(x.grad?.description == "tensor([18., 36.])")
    }

    @Test func hookOnANonLeafCanReplaceTheGradient() throws {
        let x = Tensor([1.0, 2.0], requiresGrad: true)
        let y = x * 3
        try y.registerHook { g in g * 2 }
        try (y * y).sum().backward()
        #expect(x.grad?.description == "tensor([36., 72.])")
    }

    @Test func hookOnALeafRunsBeforeAccumulation() throws {
        let x = Tensor([1.0, 2.0], requiresGrad: true)
        let seen = Seen()
        let gradAtHook = Seen()
        let handle = try x.registerHook { g in
            seen.append(g.scalars())
            gradAtHook.append(x.grad?.scalars() ?? [])
            return g + 1
        }
        try (x * x).sum().backward()
        #expect(seen.all == [[2, 4]])
        #expect(gradAtHook.all == [[]])  // x.grad was still nil when the hook ran
        // The replaced gradient is what accumulates.
        #expect(x.grad?.description == "tensor([3., 5.])")

        handle.remove()
        try (x * x).sum().backward()
        #expect(x.grad?.description == "tensor([5., 9.])")
        #expect(seen.all.count == 1)
    }

    @Test func hooksRunInRegistrationOrder() throws {
        let x = Tensor([1.0, 2.0], requiresGrad: true)
        let y = x * 1
        let seen = Seen()
        try y.registerHook { g in
            seen.append([1] + g.scalars())
            return g * 10
        }
        try y.registerHook { g in
            seen.append([2] + g.scalars())
            return nil
        }
        try y.sum().backward()
        #expect(seen.all == [[1, 1, 1], [2, 10, 10]])
        #expect(x.grad?.description == "tensor([10., 10.])")
    }

    @Test func removingOneHookKeepsTheOthers() throws {
        let x = Tensor([1.0, 2.0], requiresGrad: true)
        let doubling = try x.registerHook { g in g * 2 }
        try x.registerHook { g in g * 5 }
        try (x * 1).sum().backward()
        #expect(x.grad?.description == "tensor([10., 10.])")
        doubling.remove()
        try (x * 1).sum().backward()
        #expect(x.grad?.description == "tensor([15., 15.])")
    }

    @Test func retainedGradSeesTheHookedGradient() throws {
        let x = Tensor([1.0, 2.0], requiresGrad: true)
        let y = x * 1
        try y.retainGrad()
        try y.registerHook { g in g * 2 }
        try y.sum().backward()
        #expect(y.grad?.description == "tensor([2., 2.])")
        #expect(x.grad?.description == "tensor([2., 2.])")
    }

    @Test func hooksRunForGradOf() throws {
        let x = Tensor([1.0, 2.0], requiresGrad: true)
        let y = x * 1
        try y.registerHook { g in g * 2 }
        #expect(try grad(of: y.sum(), withRespectTo: [x])[0]?.description == "tensor([2., 2.])")

        let leaf = Tensor([1.0, 2.0], requiresGrad: true)
        try leaf.registerHook { g in g * 2 }
        #expect(try grad(of: (leaf * leaf).sum(), withRespectTo: [leaf])[0]?.description == "tensor([4., 8.])")
        #expect(leaf.grad == nil)
    }

    @Test func hookOnATensorThatDoesNotRequireGrad() {
        #expect(throws: TapeGradError(.runtimeError, "cannot register a hook on a tensor that doesn't require gradient")) {
            try Tensor.ones(2).registerHook { _ in nil }
        }
    }

    @Test func postAccumulateHookSeesTheAccumulatedGrad() throws {
        let x = Tensor([1.0, 2.0], requiresGrad: true)
        let seen = Seen()
        try x.registerPostAccumulateGradHook { leaf in
            seen.append(leaf.grad?.scalars() ?? [])
        }
        try (x * x).sum().backward()
        try (x * 5).sum().backward()
        #expect(seen.all == [[2, 4], [7, 9]])
        #expect(x.grad?.description == "tensor([7., 9.])")
    }

    @Test func postAccumulateHookCanBeRemoved() throws {
        let x = Tensor([1.0, 2.0], requiresGrad: true)
        let seen = Seen()
        let handle = try x.registerPostAccumulateGradHook { leaf in seen.append(leaf.grad!.scalars()) }
        try (x * 2).sum().backward()
        handle.remove()
        try (x * 2).sum().backward()
        #expect(seen.all == [[2, 2]])
        #expect(x.grad?.description == "tensor([4., 4.])")
    }

    @Test func postAccumulateHookOnANonLeafFails() {
        let x = Tensor([1.0, 2.0], requiresGrad: true)
        #expect(throws: TapeGradError(.runtimeError, "post accumulate grad hooks cannot be registered on non-leaf tensors")) {
            try (x * 2).registerPostAccumulateGradHook { _ in }
        }
    }

    @Test func gradientClippingWithAPostAccumulateHook() throws {
        // A typical use: clamp the accumulated gradient in place after accumulation.
        let x = Tensor([1.0, -3.0], requiresGrad: true)
        try x.registerPostAccumulateGradHook { leaf in
            try! noGrad { () throws(TapeGradError) in _ = try leaf.grad!.clamp_(min: -1, max: 1) }
        }
        try (x * x).sum().backward()
        #expect(x.grad?.description == "tensor([ 1., -1.])")
    }
}
