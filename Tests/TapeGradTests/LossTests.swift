import Testing
import TapeGrad

/// mseLoss / MSELoss against PyTorch 2.15: values, gradients, node name, size warning.
@Suite struct LossTests {
    static let sizeWarning = "Using a target size (torch.Size([4])) that is different to the input size (torch.Size([2, 4])). This will likely lead to incorrect results due to broadcasting. Please ensure they have the same size."

    /// Seed 003's input: sqrt of [[4, 4, 4, 4], [9, 9, 9, 9]], made a leaf that requires grad.
    static func seedInput() throws -> Tensor {
        try sqrt(Tensor([[4.0, 4, 4, 4], [9, 9, 9, 9]])).requiresGrad_()
    }

    static let target = [1.0, 2, 3, 4]

    @Test func meanReduction() throws {
        let input = try Self.seedInput()
        let (loss, warnings) = try WarningCapture.capture { try MSELoss()(input, Tensor(Self.target)) }
        #expect(warnings.contains(Self.sizeWarning))
        #expect(loss.description == "tensor(1.5000, grad_fn=<MseLossBackward0>)")
        #expect(loss.gradFn?.name == "MseLossBackward0")
        try loss.backward()
        #expect(input.grad?.description == "tensor([[ 0.2500,  0.0000, -0.2500, -0.5000],\n        [ 0.5000,  0.2500,  0.0000, -0.2500]])")
    }

    @Test func sumReduction() throws {
        let input = try Self.seedInput()
        let (loss, warnings) = try WarningCapture.capture { try mseLoss(input, Tensor(Self.target), reduction: .sum) }
        #expect(warnings.contains(Self.sizeWarning))
        #expect(loss.description == "tensor(12., grad_fn=<MseLossBackward0>)")
        try loss.backward()
        #expect(input.grad?.description == "tensor([[ 2.,  0., -2., -4.],\n        [ 4.,  2.,  0., -2.]])")
    }

    @Test func noReduction() throws {
        let input = try Self.seedInput()
        let (loss, _) = try WarningCapture.capture { try MSELoss(reduction: .none)(input, Tensor(Self.target)) }
        #expect(loss.description == "tensor([[1., 0., 1., 4.],\n        [4., 1., 0., 1.]], grad_fn=<MseLossBackward0>)")
        try loss.sum().backward()
        #expect(input.grad?.description == "tensor([[ 2.,  0., -2., -4.],\n        [ 4.,  2.,  0., -2.]])")
    }

    @Test func noReductionWithAnUpstreamGradient() throws {
        let p = Tensor([0.5, -1.0, 2.0], requiresGrad: true)
        let q = Tensor([1.0, 1.0, 1.0])
        let loss = try mseLoss(p, q, reduction: .none)
        #expect(loss.description == "tensor([0.2500, 4.0000, 1.0000], grad_fn=<MseLossBackward0>)")
        try loss.backward(gradient: Tensor([1.0, 2.0, 3.0]))
        #expect(p.grad?.description == "tensor([-1., -8.,  6.])")
    }

    @Test func gradientsOfBothInputs() throws {
        let p = Tensor([0.5, -1.0, 2.0], requiresGrad: true)
        let q = Tensor([1.0, 1.0, 1.0], requiresGrad: true)
        let loss = try mseLoss(p, q)
        #expect(loss.description == "tensor(1.7500, grad_fn=<MseLossBackward0>)")
        try loss.backward()
        #expect(p.grad?.description == "tensor([-0.3333, -1.3333,  0.6667])")
        #expect(q.grad?.description == "tensor([ 0.3333,  1.3333, -0.6667])")
    }

    @Test func broadcastTargetGetsASummedGradient() throws {
        let input = Tensor([[1.0, 2.0, 3.0, 4.0], [2.0, 0.0, 5.0, 1.0]])
        let target = Tensor(Self.target, requiresGrad: true)
        let (loss, warnings) = try WarningCapture.capture { try mseLoss(input, target) }
        #expect(warnings.contains(Self.sizeWarning))
        #expect(loss.description == "tensor(2.2500, grad_fn=<MseLossBackward0>)")
        try loss.backward()
        #expect(target.grad?.description == "tensor([-0.2500,  0.5000, -0.5000,  0.7500])")
    }

    @Test func float64SumModule() throws {
        let x = try Tensor(values: [0.5, 1.5, 2.0, -1.0], shape: [2, 2], dtype: .float64, requiresGrad: true)
        let t = Tensor.ones([2, 2], dtype: .float64)
        let loss = try MSELoss(reduction: .sum)(x, t)
        #expect(loss.description == "tensor(5.5000, dtype=torch.float64, grad_fn=<MseLossBackward0>)")
        try loss.backward()
        #expect(x.grad?.description == "tensor([[-1.,  1.],\n        [ 2., -4.]], dtype=torch.float64)")
    }

    @Test func sameSizesDoNotWarn() throws {
        let p = Tensor([0.25, -1.0, 2.0], requiresGrad: true)
        let (_, warnings) = try WarningCapture.capture { try mseLoss(p, Tensor([1.0, 1.0, 1.0])) }
        #expect(!warnings.contains { $0.hasPrefix("Using a target size (torch.Size([3]))") })
    }

    @Test func withoutGradTheLossIsALeaf() throws {
        let loss = try mseLoss(Tensor([1.0, 2.0]), Tensor([0.0, 0.0]))
        #expect(loss.description == "tensor(2.5000)")
        #expect(!loss.requiresGrad && loss.isLeaf)
    }

    @Test func lossGradientIsDifferentiable() throws {
        let x = Tensor([[0.5, 1.5], [2.0, -1.0]], requiresGrad: true)
        let loss = try mseLoss(x * 2, Tensor.zeros(2, 2))
        #expect(loss.description == "tensor(7.5000, grad_fn=<MseLossBackward0>)")
        let g = try grad(of: loss, withRespectTo: [x], createGraph: true)[0]!
        #expect(g.description == "tensor([[ 1.,  3.],\n        [ 4., -2.]], grad_fn=<MulBackward0>)")
        // Second derivative of the mean loss: d/dp Σ 2(p - t)/n = 2/n for every element.
        let p = try Tensor(values: [0.5, -1.0, 2.0], shape: [3], dtype: .float64, requiresGrad: true)
        let t = try Tensor(values: [1, 1, 1], shape: [3], dtype: .float64)
        let first = try grad(of: try mseLoss(p, t), withRespectTo: [p], createGraph: true)[0]!
        #expect(allClose(first.scalars(), [-1.0 / 3, -4.0 / 3, 2.0 / 3], atol: 1e-12, rtol: 1e-12))
        let second = try grad(of: first.sum(), withRespectTo: [p])[0]!
        #expect(allClose(second.scalars(), [2.0 / 3, 2.0 / 3, 2.0 / 3], atol: 1e-12, rtol: 1e-12))
    }

    @Test func mseLossPassesGradcheck() throws {
        #expect(try gradcheck({ try mseLoss($0[0], $0[1], reduction: .none) },
                              inputs: GradientCheckTests.inputs([[2, 3], [2, 3]])))
        #expect(try gradcheck({ try mseLoss($0[0], $0[1]) }, inputs: GradientCheckTests.inputs([[2, 3], [3]])))
        #expect(try gradcheck({ try mseLoss($0[0], $0[1], reduction: .sum) }, inputs: GradientCheckTests.inputs([[4], [4]])))
    }

    @Test func mseLossPassesGradgradcheck() throws {
        let p = try Tensor(values: [0.5, -1.0, 2.0], shape: [3], dtype: .float64, requiresGrad: true)
        let t = try Tensor(values: [1, 1, 1], shape: [3], dtype: .float64)
        #expect(try gradgradcheck({ try mseLoss($0[0], t) }, inputs: [p]))
    }

    @Test func mismatchedShapesThatDoNotBroadcast() throws {
        let (_, _) = WarningCapture.capture {
            #expect(throws: TapeGradError(.runtimeError, "The size of tensor a (3) must match the size of tensor b (2) at non-singleton dimension 0")) {
                try mseLoss(Tensor.ones(3), Tensor.ones(2))
            }
        }
    }
}
