import Testing
import TapeGrad

/// In-place ops, subscript and mask assignment, views sharing storage, version counters and
/// the gradients of in-place computations, against PyTorch 2.15.
@Suite struct InPlaceTests {
    // MARK: Values

    @Test func arithmeticInPlaceValues() throws {
        let a = Tensor([1.0, 2.0, 3.0])
        let returned = try a.add_(Tensor([1.0, 1.0, 1.0]))
        #expect(a.description == "tensor([2., 3., 4.])")
        #expect(returned.description == "tensor([2., 3., 4.])")
        try a.sub_(Tensor([0.5, 0.5, 0.5]))
        #expect(a.description == "tensor([1.5000, 2.5000, 3.5000])")
        try a.mul_(Tensor([2.0, 2.0, 2.0]))
        #expect(a.description == "tensor([3., 5., 7.])")
        try a.div_(Tensor([4.0, 2.0, 1.0]))
        #expect(a.description == "tensor([0.7500, 2.5000, 7.0000])")
        try a.add_(2.0)
        #expect(a.description == "tensor([2.7500, 4.5000, 9.0000])")
        try a.mul_(3.0)
        #expect(a.description == "tensor([ 8.2500, 13.5000, 27.0000])")
        try a.clamp_(min: 10, max: 17)
        #expect(a.description == "tensor([10.0000, 13.5000, 17.0000])")
        try a.fill_(2.5)
        #expect(a.description == "tensor([2.5000, 2.5000, 2.5000])")
        try a.zero_()
        #expect(a.description == "tensor([0., 0., 0.])")
        // The returned tensor is the same tensor: writing through it changes `a`.
        try returned.add_(1.0)
        #expect(a.description == "tensor([1., 1., 1.])")
    }

    @Test func inPlaceWithBroadcastOperand() throws {
        let m = Tensor([[1.0, 2.0], [3.0, 4.0]])
        try m.add_(Tensor([10.0, 20.0]))
        #expect(m.description == "tensor([[11., 22.],\n        [13., 24.]])")
        try m.mul_(Tensor([[2.0], [0.5]]))
        #expect(m.scalars() == [22, 44, 6.5, 12])
        try m.clamp_(max: 20)
        #expect(m.scalars() == [20, 20, 6.5, 12])
        try m.clamp_(min: 7)
        #expect(m.scalars() == [20, 20, 7, 12])
    }

    @Test func copyBroadcastsAndConverts() throws {
        let b = Tensor.zeros(2, 3)
        try b.copy_(Tensor([1.0, 2.0, 3.0]))
        #expect(b.description == "tensor([[1., 2., 3.],\n        [1., 2., 3.]])")
        try b.copy_(Tensor([[1.5], [2.5]], dtype: .float64))
        #expect(b.dtype == .float32)
        #expect(b.description == "tensor([[1.5000, 1.5000, 1.5000],\n        [2.5000, 2.5000, 2.5000]])")
        #expect(throws: TapeGradError(.runtimeError, "The size of tensor a (3) must match the size of tensor b (2) at non-singleton dimension 1")) {
            try b.copy_(Tensor([1.0, 2.0]))
        }
    }

    @Test func compoundAssignmentOperators() {
        let c = Tensor.ones(3)
        c += Tensor([1.0, 2.0, 3.0])
        #expect(c.description == "tensor([2., 3., 4.])")
        c -= Tensor([0.5, 0.5, 0.5])
        #expect(c.description == "tensor([1.5000, 2.5000, 3.5000])")
        c *= Tensor([2.0, 2.0, 2.0])
        #expect(c.description == "tensor([3., 5., 7.])")
        c /= Tensor([4.0, 4.0, 4.0])
        #expect(c.description == "tensor([0.7500, 1.2500, 1.7500])")
    }

    @Test func inPlaceShapeErrors() {
        #expect(throws: TapeGradError(.runtimeError, "The size of tensor a (2) must match the size of tensor b (3) at non-singleton dimension 0")) {
            try Tensor.ones(2).add_(Tensor.ones(3))
        }
        #expect(throws: TapeGradError(.runtimeError, "output with shape [2] doesn't match the broadcast shape [2, 2]")) {
            try Tensor.ones(2).add_(Tensor.ones(2, 2))
        }
        #expect(throws: TapeGradError(.runtimeError, "output with shape [2] doesn't match the broadcast shape [2, 2]")) {
            try Tensor.ones(2).mul_(Tensor.ones(2, 2))
        }
    }

    @Test func maskedFillWithAFloatMask() {
        // PyTorch: h.masked_fill_(torch.tensor([1., 0., 0.]), 0.)
        let h = Tensor([1.0, -2.0, 3.0])
        #expect(throws: TapeGradError(.runtimeError, "masked_fill_ only supports boolean masks, but got mask with dtype float")) {
            try h.maskedFill_(Tensor([1.0, 0.0, 0.0]), Tensor(0.0))
        }
    }

    // MARK: Views and subscripts share storage

    @Test func writesThroughViewsChangeTheBase() throws {
        // An int64 tensor refuses a float added in place, as PyTorch does.
        #expect(throws: TapeGradError(.runtimeError, "result type Float can't be cast to the desired output type Long")) {
            try Tensor.arange(0, 6).add_(10.0)
        }
        let base = try Tensor.arange(0.0, 6).view(2, 3)
        let row = base[0]
        try row.add_(10.0)
        #expect(base.description == "tensor([[10., 11., 12.],\n        [ 3.,  4.,  5.]])")
        base[1][2] = -1.0
        #expect(base.description == "tensor([[10., 11., 12.],\n        [ 3.,  4., -1.]])")
        base[0, 1] = 7.0
        #expect(base.description == "tensor([[10.,  7., 12.],\n        [ 3.,  4., -1.]])")
        // The row view sees the writes made through the base.
        #expect(row.description == "tensor([10.,  7., 12.])")
        let read: Double = base[1, 2]
        #expect(read == -1)

        let column = try Tensor.arange(0.0, 6).view(2, 3)
        let middle = column[.all, 1]
        try middle.mul_(2.0)
        #expect(column.description == "tensor([[0., 2., 2.],\n        [3., 8., 5.]])")

        let transposed = try Tensor.arange(0.0, 6).view(2, 3).t()
        transposed[0] = 100.0
        #expect(transposed.description == "tensor([[100., 100.],\n        [  1.,   4.],\n        [  2.,   5.]])")
    }

    @Test func sliceAndSetItemAssignment() throws {
        // An int64 range, as `torch.arange(0, 5)`: float values written into it are truncated.
        let t = try Tensor.arange(0, 5)
        t[1..<3] = 5.7
        #expect(t.description == "tensor([0, 5, 5, 3, 4])")
        try t.setItem(0, to: Tensor(9.0))
        #expect(t.description == "tensor([9, 5, 5, 3, 4])")
        t[3...] = Tensor([8.0, 6.0])
        #expect(t.description == "tensor([9, 5, 5, 8, 6])")
        try t.setItem(.slice(step: 2), to: Tensor(0.0))
        #expect(t.description == "tensor([0, 5, 0, 8, 0])")
    }

    @Test func maskAssignment() throws {
        let g = Tensor([[-1.0, 2.0], [3.0, -4.0]])
        let m = g < 0
        g[mask: m] = 0
        #expect(g.description == "tensor([[0., 2.],\n        [3., 0.]])")

        let h = Tensor([1.0, -2.0, 3.0])
        try h.maskedFill_(h > 2, Tensor(-9.0))
        #expect(h.description == "tensor([ 1., -2., -9.])")
        let negatives: Tensor = h[mask: h < 0]
        #expect(negatives.description == "tensor([-2., -9.])")

        // The mask broadcasts against the tensor.
        let h2 = Tensor([[1.0, -2.0], [3.0, 4.0]])
        try h2.maskedFill_(Tensor([true, false]), Tensor(0.5))
        #expect(h2.description == "tensor([[ 0.5000, -2.0000],\n        [ 0.5000,  4.0000]])")
    }

    // MARK: Version counters

    @Test func seed003ex6aScalingDoesNotSaveTheTensor() throws {
        let x = Tensor([1.0], requiresGrad: true)
        let y = x + 2
        let z = 2 * y
        y[0] = -2.0
        #expect(x.isLeaf && !y.isLeaf && !z.isLeaf)
        #expect(x.requiresGrad && y.requiresGrad && z.requiresGrad)
        #expect(y.description == "tensor([-2.], grad_fn=<CopySlices>)")
        #expect(z.description == "tensor([6.], grad_fn=<MulBackward0>)")
        try z.backward()
        #expect(x.grad?.description == "tensor([2.])")
    }

    @Test func seed003ex6bModifiedSavedTensorFailsBackward() throws {
        let x = Tensor([1.0], requiresGrad: true)
        let y = x + 2
        let z = y * y
        y[0] = -2.0
        #expect(x.isLeaf && !y.isLeaf && !z.isLeaf)
        #expect(x.requiresGrad && y.requiresGrad && z.requiresGrad)
        let error = #expect(throws: TapeGradError.self) { try z.backward() }
        #expect(error?.kind == .runtimeError)
        let expected = "one of the variables needed for gradient computation has been modified by an inplace operation: [torch.FloatTensor [1]], which is output 0 of torch::autograd::CopySlices, is at version 1; expected version 0 instead."
        #expect(error?.message.hasPrefix(expected + inplaceHintPrefix) == true, "\(error?.message ?? "")")
        #expect(x.grad == nil)
    }

    @Test func modifiedOperandWithoutHistory() throws {
        // PyTorch: y = x * a; a.mul_(2); y.sum().backward()
        let x = Tensor.ones(3, requiresGrad: true)
        let a = Tensor([1.0, 2.0, 3.0])
        let y = x * a
        try a.mul_(2.0)
        let error = #expect(throws: TapeGradError.self) { try y.sum().backward() }
        let expected = "one of the variables needed for gradient computation has been modified by an inplace operation: [torch.FloatTensor [3]] is at version 1; expected version 0 instead."
        #expect(error?.message.hasPrefix(expected + inplaceHintPrefix) == true, "\(error?.message ?? "")")
    }

    @Test func modifiedSavedInputNamesItsNodeAsPyTorchDoes() throws {
        // PyTorch 2.15 names the node without its "Backward0" suffix: "output 0 of Add".
        let x = Tensor([1.0, 2.0, 3.0], requiresGrad: true)
        let y = x + 1
        let z = y * y
        try y.add_(1.0)
        let error = #expect(throws: TapeGradError.self) { try z.sum().backward() }
        let expected = "one of the variables needed for gradient computation has been modified by an inplace operation: [torch.FloatTensor [3]], which is output 0 of Add, is at version 1; expected version 0 instead."
        #expect(error?.message.hasPrefix(expected + inplaceHintPrefix) == true, "\(error?.message ?? "")")

        let x64 = try Tensor(values: [1, 2, 3], shape: [3], dtype: .float64, requiresGrad: true)
        let y64 = x64 * 1
        let z64 = y64.pow(2)
        try y64.mul_(2.0)
        let error64 = #expect(throws: TapeGradError.self) { try z64.sum().backward() }
        let expected64 = "one of the variables needed for gradient computation has been modified by an inplace operation: [torch.DoubleTensor [3]], which is output 0 of Mul, is at version 1; expected version 0 instead."
        #expect(error64?.message.hasPrefix(expected64 + inplaceHintPrefix) == true, "\(error64?.message ?? "")")
    }

    @Test func modifiedSavedOutputNamesTheNodeThatSavedIt() throws {
        // exp saves its result; after y.add_(1) PyTorch still names Exp (the saving node).
        let x = Tensor([1.0, 2.0, 3.0], requiresGrad: true)
        let y = x.exp()
        try y.add_(1.0)
        #expect(y.gradFn?.name == "AddBackward0")
        let error = #expect(throws: TapeGradError.self) { try y.sum().backward() }
        let expected = "one of the variables needed for gradient computation has been modified by an inplace operation: [torch.FloatTensor [3]], which is output 0 of Exp, is at version 1; expected version 0 instead."
        #expect(error?.message.hasPrefix(expected + inplaceHintPrefix) == true, "\(error?.message ?? "")")
    }

    @Test func writeAfterWriteCountsVersions() throws {
        // PyTorch: y = x * 2; y[0] = 5; z = y * y; y[1] = 3 -> "is at version 2; expected version 1"
        let x = Tensor([1.0, 2.0, 3.0], requiresGrad: true)
        let y = x * 2
        y[0] = 5.0
        let z = y * y
        y[1] = 3.0
        let error = #expect(throws: TapeGradError.self) { try z.sum().backward() }
        let expected = "one of the variables needed for gradient computation has been modified by an inplace operation: [torch.FloatTensor [3]], which is output 0 of torch::autograd::CopySlices, is at version 2; expected version 1 instead."
        #expect(error?.message.hasPrefix(expected + inplaceHintPrefix) == true, "\(error?.message ?? "")")
    }

    @Test func updatingASavedLeafInsideNoGradFailsBackward() throws {
        // PyTorch: y = x * x; with no_grad: x.add_(1); y.sum().backward() fails; y = x * 3 does not.
        let x = Tensor([1.0, 2.0], requiresGrad: true)
        let y = x * x
        try noGrad { () throws(TapeGradError) in _ = try x.add_(1.0) }
        let error = #expect(throws: TapeGradError.self) { try y.sum().backward() }
        let expected = "one of the variables needed for gradient computation has been modified by an inplace operation: [torch.FloatTensor [2]] is at version 1; expected version 0 instead."
        #expect(error?.message.hasPrefix(expected + inplaceHintPrefix) == true, "\(error?.message ?? "")")

        let w = Tensor([1.0, 2.0], requiresGrad: true)
        let scaled = w * 3
        try noGrad { () throws(TapeGradError) in _ = try w.add_(1.0) }
        try scaled.sum().backward()
        #expect(w.grad?.description == "tensor([3., 3.])")
        #expect(w.description == "tensor([2., 3.], requires_grad=True)")
    }

    // MARK: Leaves

    @Test func inPlaceOnALeafThatRequiresGradIsRefused() {
        let x = Tensor.ones(2, requiresGrad: true)
        let leaf = TapeGradError(.runtimeError, leafInPlaceMessage)
        let view = TapeGradError(.runtimeError, viewOfLeafInPlaceMessage)
        #expect(throws: leaf) { try x.add_(1.0) }
        #expect(throws: leaf) { try x.add_(Tensor.ones(2)) }
        #expect(throws: leaf) { try x.sub_(Tensor.ones(2)) }
        #expect(throws: leaf) { try x.mul_(2.0) }
        #expect(throws: leaf) { try x.div_(Tensor.ones(2)) }
        #expect(throws: leaf) { try x.zero_() }
        #expect(throws: leaf) { try x.fill_(3) }
        #expect(throws: leaf) { try x.clamp_(min: 0) }
        #expect(throws: leaf) { try x.copy_(Tensor.zeros(2)) }
        #expect(throws: leaf) { try x.maskedFill_(Tensor([true, false]), Tensor(0.0)) }
        #expect(throws: view) { try x[0].add_(1.0) }
        #expect(throws: view) { try x.setItem(0, to: Tensor(5.0)) }
        #expect(throws: view) { try x.setItem(.slice(0, 1), to: Tensor(5.0)) }
        // Nothing was written.
        #expect(x.description == "tensor([1., 1.], requires_grad=True)")
    }

    @Test func inPlaceOnALeafIsAllowedInsideNoGrad() throws {
        let x = Tensor.ones(2, requiresGrad: true)
        try noGrad { () throws(TapeGradError) in
            try x.add_(1.0)
            x[0] = 7.0
        }
        #expect(x.description == "tensor([7., 2.], requires_grad=True)")
        #expect(x.isLeaf && x.gradFn == nil)

        // A gradient-descent step, as in seed 004.
        let w = Tensor([1.0, 2.0], requiresGrad: true)
        try (w * w).sum().backward()
        try noGrad { () throws(TapeGradError) in
            w -= 0.5 * w.grad!
            try w.grad!.zero_()
        }
        #expect(w.description == "tensor([0., 0.], requires_grad=True)")
        #expect(w.grad?.description == "tensor([0., 0.])")
        #expect(w.isLeaf)
    }

    @Test func seed003ex5WritingIntoInputs() throws {
        let data = [[4.0, 4, 4, 4], [9, 9, 9, 9]]
        let a = Tensor(data, dtype: .float32, requiresGrad: true)
        let b = Tensor(data, dtype: .float32)
        let output = try a.add(b)
        #expect(a.requiresGrad && !b.requiresGrad && output.requiresGrad && !output.isLeaf)
        b[0][0] = 10.0
        #expect(b.description == "tensor([[10.,  4.,  4.,  4.],\n        [ 9.,  9.,  9.,  9.]])")
        #expect(throws: TapeGradError(.runtimeError, viewOfLeafInPlaceMessage)) {
            try a[0].setItem(0, to: Tensor(10.0))
        }
        try output.backward(gradient: output.onesLike())
        #expect(a.grad?.description == "tensor([[1., 1., 1., 1.],\n        [1., 1., 1., 1.]])")
    }

    @Test func compoundAssignmentOnALeafTraps() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let x = Tensor.ones(2, requiresGrad: true)
            x += Tensor.ones(2)
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(text.contains("RuntimeError: a leaf Variable that requires grad is being used in an in-place operation."))
    }

    @Test func subscriptAssignmentIntoALeafTraps() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let a = Tensor([[4.0, 4], [9, 9]], requiresGrad: true)
            a[0][0] = 10.0
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(text.contains("RuntimeError: a view of a leaf Variable that requires grad is being used in an in-place operation."))
    }

    // MARK: Gradients of in-place computations

    @Test func inPlaceOnANonLeaf() throws {
        let x = Tensor([1.0, 2.0, 3.0], requiresGrad: true)
        let y = x * 2
        try y.add_(1.0)
        #expect(y.description == "tensor([3., 5., 7.], grad_fn=<AddBackward0>)")
        try y.mul_(x)
        #expect(y.description == "tensor([ 3., 10., 21.], grad_fn=<MulBackward0>)")
        try (y * y).sum().backward()
        #expect(x.grad?.description == "tensor([ 30., 180., 546.])")
    }

    @Test func subDivClampOnANonLeaf() throws {
        let x = Tensor([1.0, 2.0, 3.0], requiresGrad: true)
        let w = Tensor([0.5, -1.0, 2.0], requiresGrad: true)
        let y = x * 1
        try y.sub_(w)
        try y.div_(x + 1)
        try y.clamp_(min: -0.2, max: 0.5)
        #expect(y.description == "tensor([0.2500, 0.5000, 0.2500], grad_fn=<ClampBackward1>)")
        try (y * Tensor([1.0, 2.0, 3.0])).sum().backward()
        #expect(allClose(x.grad!.scalars(), [0.375, 0, 0.5625]))
        #expect(allClose(w.grad!.scalars(), [-0.5, 0, -0.75]))
    }

    @Test func inPlaceNodeNames() throws {
        let x = Tensor([1.0, 2.0, 3.0], requiresGrad: true)
        let y = x * 2
        try y.add_(1.0)
        #expect(y.gradFn?.name == "AddBackward0")
        try y.mul_(2.0)
        #expect(y.gradFn?.name == "MulBackward0")
        try y.sub_(x)
        #expect(y.gradFn?.name == "SubBackward0")
        try y.div_(x)
        #expect(y.gradFn?.name == "DivBackward0")
        try y.clamp_(min: 0, max: 1)
        #expect(y.gradFn?.name == "ClampBackward1")
        let z = x * 2
        z += x
        #expect(z.gradFn?.name == "AddBackward0")
    }

    @Test func inPlaceNodeNamesOfCopyFillAndMasks() throws {
        // PyTorch 2.15's node names for these in-place ops on a non-leaf.
        let x = Tensor([1.0, -2.0, 3.0], requiresGrad: true)
        let w = Tensor([5.0, 6.0, 7.0], requiresGrad: true)
        let copied = x * 2
        try copied.copy_(w * w)
        #expect(copied.gradFn?.name == "CopyBackwards")
        let zeroed = x * 2
        try zeroed.zero_()
        #expect(zeroed.gradFn?.name == "ZeroBackward0")
        let filled = x * 2
        try filled.fill_(4)
        #expect(filled.gradFn?.name == "FillBackward2")
        let clamped = x * 1
        try clamped.clamp_(min: 0)
        #expect(clamped.gradFn?.name == "ClampBackward1")
        let masked = x * 2
        masked[mask: masked < 0] = 0
        #expect(masked.gradFn?.name == "MaskedFillBackward0")
        let v = Tensor(10.0, requiresGrad: true)
        let maskedByTensor = x * 1
        try maskedByTensor.maskedFill_(x < 0, v)
        #expect(maskedByTensor.gradFn?.name == "MaskedFillBackward1")
        let indexPut = x * 1
        indexPut[mask: x < 0] = v
        #expect(indexPut.gradFn?.name == "IndexPutBackward0")
    }

    @Test func copyIntoANonLeaf() throws {
        let x = Tensor([1.0, 2.0, 3.0], requiresGrad: true)
        let w = Tensor([5.0, 6.0, 7.0], requiresGrad: true)
        let y = x * 2
        let z = y * 1
        try y.copy_(w * w)
        #expect(y.scalars() == [25, 36, 49])
        #expect(y.requiresGrad && !y.isLeaf)
        try (y + z).sum().backward()
        #expect(x.grad?.description == "tensor([2., 2., 2.])")
        #expect(w.grad?.description == "tensor([10., 12., 14.])")
    }

    @Test func zeroAndFillOnANonLeafCutTheOldHistory() throws {
        let x = Tensor([1.0, 2.0, 3.0], requiresGrad: true)
        let y = x * 2
        try y.zero_()
        #expect(y.scalars() == [0, 0, 0])
        #expect(y.requiresGrad && !y.isLeaf)
        try (y + x).sum().backward()
        #expect(x.grad?.description == "tensor([1., 1., 1.])")

        let x2 = Tensor([1.0, 2.0, 3.0], requiresGrad: true)
        let y2 = x2 * 2
        try y2.fill_(4.0)
        #expect(y2.scalars() == [4, 4, 4])
        try (y2 * x2).sum().backward()
        #expect(x2.grad?.description == "tensor([4., 4., 4.])")
    }

    @Test func maskedFillOnANonLeaf() throws {
        let x = Tensor([1.0, -2.0, 3.0], requiresGrad: true)
        let v = Tensor(10.0, requiresGrad: true)
        let y = x * 1
        try y.maskedFill_(x < 0, v)
        #expect(y.scalars() == [1, 10, 3])
        try (y * Tensor([1.0, 2.0, 3.0])).sum().backward()
        #expect(x.grad?.description == "tensor([1., 0., 3.])")
        #expect(v.grad?.description == "tensor(2.)")

        let x2 = Tensor([1.0, -2.0, 3.0], requiresGrad: true)
        let y2 = x2 * 2
        y2[mask: y2 < 0] = 0
        #expect(y2.scalars() == [2, 0, 6])
        try (y2 * y2).sum().backward()
        #expect(x2.grad?.description == "tensor([ 8.,  0., 24.])")

        // A tensor value through the mask subscript (index_put_).
        let x3 = Tensor([1.0, -2.0, 3.0], requiresGrad: true)
        let v3 = Tensor(10.0, requiresGrad: true)
        let y3 = x3 * 1
        y3[mask: x3 < 0] = v3
        #expect(y3.scalars() == [1, 10, 3])
        try (y3 * Tensor([1.0, 2.0, 3.0])).sum().backward()
        #expect(x3.grad?.description == "tensor([1., 0., 3.])")
        #expect(v3.grad?.description == "tensor(2.)")
    }

    @Test func sliceAssignmentIntoANonLeaf() throws {
        let x = Tensor([1.0, 2.0, 3.0, 4.0], requiresGrad: true)
        let w = Tensor([10.0, 20.0], requiresGrad: true)
        let y = x * 1
        y[1..<3] = w * x[0..<2]
        #expect(y.description == "tensor([ 1., 10., 40.,  4.], grad_fn=<CopySlices>)")
        try (y * y).sum().backward()
        #expect(x.grad?.description == "tensor([ 202., 1600.,    0.,    8.])")
        #expect(w.grad?.description == "tensor([ 20., 160.])")
    }

    @Test func writeThroughAViewOfANonLeaf() throws {
        let x = Tensor([1.0, 2.0, 3.0], requiresGrad: true)
        let y = x * 1
        y[0] = x[1] * 3
        #expect(y.description == "tensor([6., 2., 3.], grad_fn=<CopySlices>)")
        try (y * y).sum().backward()
        #expect(x.grad?.description == "tensor([ 0., 40.,  6.])")
    }

    @Test func chainedSubscriptsIntoANonLeaf() throws {
        let x = Tensor([[1.0, 2.0], [3.0, 4.0]], requiresGrad: true)
        let y = x.exp() * 1
        y[0][1] = 10.0
        y[1, 0] = x[0, 0] * 5
        #expect(y.description == "tensor([[ 2.7183, 10.0000],\n        [ 5.0000, 54.5981]], grad_fn=<CopySlices>)")
        try (y * y).sum().backward()
        #expect(allClose(x.grad!.scalars(), [64.77811431884766, 0, 0, 5961.91552734375], atol: 1e-4, rtol: 1e-5))
    }

    @Test func inPlaceThroughAColumnView() throws {
        let x = Tensor([[1.0, 2.0], [3.0, 4.0]], requiresGrad: true)
        let y = x * 1
        let column = y[.all, 1]
        try column.mul_(3.0)
        #expect(y.description == "tensor([[ 1.,  6.],\n        [ 3., 12.]], grad_fn=<CopySlices>)")
        try (y * y).sum().backward()
        #expect(x.grad?.description == "tensor([[ 2., 36.],\n        [ 6., 72.]])")
    }

    @Test func viewTakesTheHistoryOfItsInPlaceWrite() throws {
        // PyTorch: y = x * 2; v = y[1:]; v.add_(x[:2]); (v * v).sum().backward()
        let x = Tensor([1.0, 2.0, 3.0], requiresGrad: true)
        let y = x * 2
        let v = y[1...]
        try v.add_(x[..<2])
        #expect(y.description == "tensor([2., 5., 8.], grad_fn=<CopySlices>)")
        #expect(v.scalars() == [5, 8])
        #expect(v.requiresGrad && !v.isLeaf)
        try (v * v).sum().backward()
        #expect(x.grad?.description == "tensor([10., 36., 32.])")
    }

    @Test func compoundOperatorsOnANonLeaf() throws {
        let x = Tensor([1.0, 2.0, 3.0], requiresGrad: true)
        let y = x * 2
        y += x
        #expect(y.description == "tensor([3., 6., 9.], grad_fn=<AddBackward0>)")
        y -= Tensor(1.0)
        #expect(y.description == "tensor([2., 5., 8.], grad_fn=<SubBackward0>)")
        try y.sum().backward()
        #expect(x.grad?.description == "tensor([3., 3., 3.])")
    }
}
