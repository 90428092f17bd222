import Testing
import TapeGrad

/// requires_grad_, detach, detach_, retain_grad, the non-leaf .grad warning, grad modes and
/// comparisons, against PyTorch 2.15.
@Suite struct LeafToolsTests {
    static let nonLeafGradWarning = "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad attribute won't be populated during autograd.backward(). If you indeed want the .grad field to be populated for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. If you access the non-leaf Tensor by mistake, make sure you access the leaf Tensor instead. See github.com/pytorch/pytorch/pull/30531 for more information."

    // MARK: requiresGrad_

    @Test func requiresGradMakesAComputedTensorALeafThatRecords() throws {
        let x = Tensor([1.0, 2.0])
        let y = x * 2
        #expect(!y.requiresGrad && y.isLeaf)
        let returned = try y.requiresGrad_()
        #expect(returned.description == "tensor([2., 4.], requires_grad=True)")
        #expect(y.requiresGrad && y.isLeaf)
        let z = (y * y).sum()
        #expect(z.gradFn?.name == "SumBackward0")
        try z.backward()
        #expect(y.grad?.description == "tensor([4., 8.])")
        #expect(x.grad == nil)
    }

    @Test func seed003ex1And2() throws {
        let data = [[4.0, 4, 4, 4], [9, 9, 9, 9]]
        let input = Tensor(data, dtype: .float32)
        let output = sqrt(input)
        let target = Tensor([1.0, 2, 3, 4], dtype: .float32)
        let (loss, _) = try WarningCapture.capture { try MSELoss()(output, target) }
        #expect(input.isLeaf && !output.requiresGrad && output.isLeaf && target.isLeaf)
        #expect(!loss.requiresGrad && loss.isLeaf)

        try output.requiresGrad_(true)
        let (loss2, _) = try WarningCapture.capture { try MSELoss()(output, target) }
        #expect(output.requiresGrad && output.isLeaf && loss2.requiresGrad && !loss2.isLeaf)
        #expect(loss2.description == "tensor(1.5000, grad_fn=<MseLossBackward0>)")
        try loss2.backward()
        #expect(output.grad?.description == "tensor([[ 0.2500,  0.0000, -0.2500, -0.5000],\n        [ 0.5000,  0.2500,  0.0000, -0.2500]])")
    }

    @Test func requiresGradFalseOnANonLeafFails() throws {
        let x = Tensor([1.0, 2.0], requiresGrad: true)
        let y = x * 2
        #expect(throws: TapeGradError(.runtimeError, "you can only change requires_grad flags of leaf variables. If you want to use a computed variable in a subgraph that doesn't require differentiation use var_no_grad = var.detach().")) {
            try y.requiresGrad_(false)
        }
        // Asking a non-leaf to require grad is fine.
        #expect(try y.requiresGrad_(true).description == "tensor([2., 4.], grad_fn=<MulBackward0>)")
        // A leaf may stop.
        try x.requiresGrad_(false)
        #expect(x.description == "tensor([1., 2.])")
        #expect(!x.requiresGrad)
    }

    @Test func boolTensorsCannotRequireGrad() {
        #expect(throws: TapeGradError(.runtimeError, "only Tensors of floating point dtype can require gradients")) {
            try Tensor([true]).requiresGrad_()
        }
    }

    // MARK: detach

    @Test func detachSharesStorageWithoutHistory() throws {
        let x = Tensor([1.0, 2.0], requiresGrad: true)
        let y = x * 2
        let d = y.detach()
        #expect(d.description == "tensor([2., 4.])")
        #expect(!d.requiresGrad && d.isLeaf && d.gradFn == nil)
        // Writing through the detached tensor changes the original, whose history is untouched.
        d[0] = 100.0
        #expect(y.description == "tensor([100.,   4.], grad_fn=<MulBackward0>)")
        #expect(d.description == "tensor([100.,   4.])")
        try d.mul_(0.5)
        #expect(y.scalars() == [50, 2])
    }

    @Test func detachOfALeafCanBeWrittenInPlace() throws {
        // PyTorch: dx = x.detach(); dx.add_(1) is allowed and changes x.
        let x = Tensor([1.0, 2.0], requiresGrad: true)
        let dx = x.detach()
        try dx.add_(1.0)
        #expect(x.description == "tensor([2., 3.], requires_grad=True)")
        #expect(x.isLeaf && dx.isLeaf && !dx.requiresGrad)
    }

    @Test func detachSharesTheVersionCounter() throws {
        // PyTorch: y = x.sigmoid(); d = y.detach(); d.zero_(); y.sum().backward() fails.
        let x = Tensor([1.0, 2.0, 3.0], requiresGrad: true)
        let y = x.sigmoid()
        let d = y.detach()
        try d.zero_()
        #expect(y.description == "tensor([0., 0., 0.], grad_fn=<SigmoidBackward0>)")
        let error = #expect(throws: TapeGradError.self) { try y.sum().backward() }
        #expect(error?.message.hasPrefix("one of the variables needed for gradient computation has been modified by an inplace operation: [torch.FloatTensor [3]], which is output 0 of ") == true)
        #expect(error?.message.contains(", is at version 1; expected version 0 instead." + inplaceHintPrefix) == true, "\(error?.message ?? "")")
    }

    @Test func detachInPlace() throws {
        let x = Tensor([1.0, 2.0], requiresGrad: true)
        let y = x * 3
        let returned = try y.detach_()
        #expect(returned.description == "tensor([3., 6.])")
        #expect(y.description == "tensor([3., 6.])")
        #expect(y.isLeaf && !y.requiresGrad && y.gradFn == nil)
        // Further ops on it record nothing.
        #expect(!(y * x).isLeaf)
        #expect(!(y * y).requiresGrad)
    }

    @Test func detachInPlaceOfAViewFails() throws {
        let x = Tensor([1.0, 2.0], requiresGrad: true)
        let y = x * 2
        let v = y[0]
        #expect(throws: TapeGradError(.runtimeError, "Can't detach views in-place. Use detach() instead. If you are using DistributedDataParallel (DDP) for training, and gradient_as_bucket_view is set as True, gradients are views of DDP buckets, and hence detach_() cannot be called on these gradients. To fix this error, please refer to the Optimizer.zero_grad() function in torch/optim/optimizer.py as the solution.")) {
            try v.detach_()
        }
    }

    // MARK: retainGrad

    @Test func retainGradKeepsANonLeafGradient() throws {
        let x = Tensor([1.0, 2.0], requiresGrad: true)
        let y = x * 2
        try y.retainGrad()
        let z = (y * y).sum()
        try z.backward()
        #expect(y.grad?.description == "tensor([4., 8.])")
        #expect(x.grad?.description == "tensor([ 8., 16.])")
    }

    @Test func retainedGradAccumulates() throws {
        let x = Tensor([1.0, 2.0], requiresGrad: true)
        let y = x * 2
        try y.retainGrad()
        let z = (y * y).sum()
        try z.backward(retainGraph: true)
        try z.backward()
        #expect(y.grad?.description == "tensor([ 8., 16.])")
        #expect(x.grad?.description == "tensor([16., 32.])")
    }

    @Test func retainGradOnALeafIsANoOpAndNeedsRequiresGrad() throws {
        let x = Tensor([1.0, 2.0], requiresGrad: true)
        try x.retainGrad()
        try (x * 3).sum().backward()
        #expect(x.grad?.description == "tensor([3., 3.])")
        #expect(throws: TapeGradError(.runtimeError, "can't retain_grad on Tensor that has requires_grad=False")) {
            try Tensor.ones(2).retainGrad()
        }
    }

    @Test func readingGradOfANonLeafWarns() throws {
        let x = Tensor([1.0, 2.0], requiresGrad: true)
        let y = x * 2
        let (value, warnings) = WarningCapture.capture { y.grad }
        #expect(value == nil)
        #expect(warnings.contains(Self.nonLeafGradWarning))

        // No warning for a leaf, nor for a non-leaf that retains its gradient.
        let z = x * 3
        try z.retainGrad()
        let (_, quiet) = WarningCapture.capture { (x.grad, z.grad) }
        #expect(!quiet.contains(Self.nonLeafGradWarning))
    }

    // MARK: Grad modes

    @Test func enableGradInsideNoGradRecords() throws {
        let x = Tensor([1.0, 2.0], requiresGrad: true)
        #expect(isGradEnabled)
        let (a, b, inner, outer) = noGrad {
            let a = x * 2
            let (b, inner) = enableGrad { (x * 2, isGradEnabled) }
            return (a, b, inner, isGradEnabled)
        }
        #expect(!a.requiresGrad && a.isLeaf)
        #expect(b.requiresGrad && !b.isLeaf)
        #expect(b.description == "tensor([2., 4.], grad_fn=<MulBackward0>)")
        #expect(inner && !outer)
        #expect(isGradEnabled)
        try b.sum().backward()
        #expect(x.grad?.description == "tensor([2., 2.])")
    }

    @Test func noGradRestoresModeAfterAThrow() {
        struct Boom: Error {}
        #expect(throws: Boom.self) { try noGrad { () throws(Boom) in throw Boom() } }
        #expect(isGradEnabled)
    }

    // MARK: Comparisons

    @Test func comparisonsAreBoolLeavesWithoutGrad() throws {
        let data = [[4.0, 4, 4, 4], [9, 9, 9, 9]]
        let a = Tensor(data, dtype: .float32, requiresGrad: true)
        let b = Tensor([[4.0, 5, 4, 3], [9, 9, 1, 9]], dtype: .float32, requiresGrad: true)
        let expected: [(String, Tensor)] = [
            ("tensor([[ True, False,  True, False],\n        [ True,  True, False,  True]])", try a.eq(b)),
            ("tensor([[False,  True, False,  True],\n        [False, False,  True, False]])", try a.ne(b)),
            ("tensor([[False,  True, False, False],\n        [False, False, False, False]])", try a.lt(b)),
            ("tensor([[ True,  True,  True, False],\n        [ True,  True, False,  True]])", try a.le(b)),
            ("tensor([[False, False, False,  True],\n        [False, False,  True, False]])", try a.gt(b)),
            ("tensor([[ True, False,  True,  True],\n        [ True,  True,  True,  True]])", try a.ge(b)),
        ]
        for (text, result) in expected {
            #expect(result.description == text)
            #expect(result.dtype == .bool)
            #expect(!result.requiresGrad && result.isLeaf && result.gradFn == nil)
        }
        #expect((a == b).description == expected[0].0)
        #expect((a > 4.5).description == "tensor([[False, False, False, False],\n        [ True,  True,  True,  True]])")
        #expect(!(a > 4.5).requiresGrad)
    }

    @Test func seed003ex4BackwardThroughAComparisonFails() throws {
        let data = [[4.0, 4, 4, 4], [9, 9, 9, 9]]
        let a = Tensor(data, dtype: .float32, requiresGrad: true)
        let b = Tensor(data, dtype: .float32, requiresGrad: true)
        let output = try a.ne(b)
        #expect(a.isLeaf && b.isLeaf && output.dtype == .bool && !output.requiresGrad && output.isLeaf)
        let message = "element 0 of tensors does not require grad and does not have a grad_fn"
        #expect(throws: TapeGradError(.runtimeError, message)) { try output.backward() }
        #expect(throws: TapeGradError(.runtimeError, message)) { try (a < 5).backward(gradient: Tensor.ones(2, 4)) }
    }
}
