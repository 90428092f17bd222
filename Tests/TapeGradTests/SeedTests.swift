import Testing
import TapeGrad

/// Seeds 000 and 002 in Swift, asserting PyTorch 2.15's printouts
/// (../shared/reference/seed-transcript-pytorch.txt).
@Suite struct SeedTests {
    @Test func seed000RequiresGradAndGradFn() throws {
        let x = Tensor.ones(2, 2, requiresGrad: true)
        #expect(x.description == "tensor([[1., 1.],\n        [1., 1.]], requires_grad=True)")
        #expect(x.gradFn == nil)
        let y = x + 2
        #expect(y.description == "tensor([[3., 3.],\n        [3., 3.]], grad_fn=<AddBackward0>)")
        #expect(y.gradFn?.name == "AddBackward0")
        #expect(x.isLeaf && !y.isLeaf)
        let z = y * y * 3
        let out = try z.mean()
        #expect(z.description == "tensor([[27., 27.],\n        [27., 27.]], grad_fn=<MulBackward0>)")
        #expect(out.description == "tensor(27., grad_fn=<MeanBackward0>)")
        try out.backward()
        #expect(x.grad?.description == "tensor([[4.5000, 4.5000],\n        [4.5000, 4.5000]])")
    }

    @Test func seed000GradientsAccumulateUntilZeroed() throws {
        let x = Tensor.ones(2, 2, requiresGrad: true)
        try ((x + 2) * (x + 2) * 3).mean().backward()
        try x.sum().backward()
        #expect(x.grad?.description == "tensor([[5.5000, 5.5000],\n        [5.5000, 5.5000]])")
        try x.grad!.zero_()
        try x.sum().backward()
        #expect(x.grad?.description == "tensor([[1., 1.],\n        [1., 1.]])")
    }

    @Test func seed000VectorJacobianProduct() throws {
        let x = Tensor([1.0, 2.0, 3.0, 4.0], requiresGrad: true)
        let z = try (2 * x).view(2, 2)
        #expect(z.description == "tensor([[2., 4.],\n        [6., 8.]], grad_fn=<ViewBackward0>)")
        try z.backward(gradient: Tensor([[1.0, 0.1], [0.01, 0.001]]))
        #expect(x.grad?.description == "tensor([2.0000, 0.2000, 0.0200, 0.0020])")
    }

    @Test func seed000NoGrad() {
        let x = Tensor(1.0, requiresGrad: true)
        let y1 = x.pow(2)
        let y2 = noGrad { x.pow(3) }
        let y3 = y1 + y2
        #expect(y1.description == "tensor(1., grad_fn=<PowBackward0>)" && y1.requiresGrad)
        #expect(y2.description == "tensor(1.)" && !y2.requiresGrad)
        #expect(y3.description == "tensor(2., grad_fn=<AddBackward0>)" && y3.requiresGrad)
    }

    @Test func seed002ExternalGradient() throws {
        let a = Tensor([2.0, 3.0], requiresGrad: true)
        let b = Tensor([6.0, 4.0], requiresGrad: true)
        let q = 3 * a.pow(3) - b.pow(2)
        try q.backward(gradient: Tensor([1.0, 1.0]))
        #expect(a.grad?.description == "tensor([36., 81.])")
        #expect(a.description == "tensor([2., 3.], requires_grad=True)")
        #expect((9 * a.pow(2)).description == "tensor([36., 81.], grad_fn=<MulBackward0>)")
        #expect((9 * a.pow(2) == a.grad!).description == "tensor([True, True])")
        #expect((-2 * b == b.grad!).description == "tensor([True, True])")
    }

    @Test func nonLeafGradWarnsAndIsNil() throws {
        let x = Tensor.ones(2, requiresGrad: true)
        let y = x * 2
        let (grad, warnings) = WarningCapture.capture { y.grad }
        #expect(grad == nil)
        #expect(warnings.contains { $0.hasPrefix("The .grad attribute of a Tensor that is not a leaf Tensor is being accessed") })
    }

    @Test func printingDTypes() throws {
        #expect(Tensor([1.5, 2.0], dtype: .float64).description == "tensor([1.5000, 2.0000], dtype=torch.float64)")
        #expect(Tensor([true, false]).description == "tensor([ True, False])")
        #expect(Tensor.zeros(0, 3).description == "tensor([], size=(0, 3))")
        #expect(Tensor([1.0, 2.0], dtype: .float64, requiresGrad: true).description
                == "tensor([1., 2.], dtype=torch.float64, requires_grad=True)")
        #expect(try Tensor.arange(0.0, 4).t().description == "tensor([0., 1., 2., 3.])")
        #expect(try Tensor.arange(0.0, 6).view(2, 3).t().description == "tensor([[0., 3.],\n        [1., 4.],\n        [2., 5.]])")
        // Integer ranges are int64, printed without points, as `torch.arange(0, 6)`.
        #expect(try Tensor.arange(0, 6).view(2, 3).t().description == "tensor([[0, 3],\n        [1, 4],\n        [2, 5]])")
    }
}
