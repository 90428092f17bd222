import Testing
import TapeGrad

/// `grad(of:withRespectTo:)`, `createGraph` and derivatives of derivatives, against PyTorch 2.15
/// and finite differences.
@Suite struct HigherOrderTests {
    @Test func cubeAtThreeGives27Then18() throws {
        let x = Tensor(3.0, requiresGrad: true)
        let y = x.pow(3)
        let g = try grad(of: y, withRespectTo: [x], createGraph: true)[0]!
        #expect(g.description == "tensor(27., grad_fn=<MulBackward0>)")
        #expect(g.requiresGrad && !g.isLeaf)
        // grad(of:) leaves .grad alone.
        #expect(x.grad == nil)
        try g.backward()
        #expect(x.grad?.description == "tensor(18.)")
    }

    @Test func thirdDerivative() throws {
        // d/dx x⁴ = 4x³ = 32, 12x² = 48, 24x = 48 at x = 2.
        let x = Tensor(2.0, requiresGrad: true)
        let y = x.pow(4)
        let g1 = try grad(of: y, withRespectTo: [x], createGraph: true)[0]!
        let g2 = try grad(of: g1, withRespectTo: [x], createGraph: true)[0]!
        let g3 = try grad(of: g2, withRespectTo: [x])[0]!
        #expect(g1.description == "tensor(32., grad_fn=<MulBackward0>)")
        #expect(g2.description == "tensor(48., grad_fn=<MulBackward0>)")
        #expect(g3.description == "tensor(48.)")
        #expect(!g3.requiresGrad)
        #expect(x.grad == nil)
    }

    @Test func gradOfDoesNotTouchGrad() throws {
        let x = Tensor([1.0, 2.0], requiresGrad: true)
        let y = (x * x).sum()
        let g = try grad(of: y, withRespectTo: [x])
        #expect(g.count == 1)
        #expect(g[0]?.description == "tensor([2., 4.])")
        #expect(g[0]?.requiresGrad == false)
        #expect(x.grad == nil)

        // An existing .grad is not changed either.
        try (x * 5).sum().backward()
        let again = try grad(of: (x * x).sum(), withRespectTo: [x])
        #expect(again[0]?.description == "tensor([2., 4.])")
        #expect(x.grad?.description == "tensor([5., 5.])")
    }

    @Test func gradOfWithGradOutputs() throws {
        let x = Tensor([1.0, 2.0], requiresGrad: true)
        let y = x * x
        let g = try grad(of: y, withRespectTo: [x], gradOutputs: Tensor([1.0, 10.0]))
        #expect(g[0]?.description == "tensor([ 2., 40.])")
    }

    @Test func gradOfWithRespectToANonLeaf() throws {
        let x = Tensor([1.0, 2.0], requiresGrad: true)
        let y = x * 3
        let z = (y * y).sum()
        let g = try grad(of: z, withRespectTo: [y, x])
        #expect(g[0]?.description == "tensor([ 6., 12.])")
        #expect(g[1]?.description == "tensor([18., 36.])")
        #expect(x.grad == nil)
    }

    @Test func allowUnusedGivesNil() throws {
        let x = Tensor([1.0, 2.0], requiresGrad: true)
        let w = Tensor([3.0, 4.0], requiresGrad: true)
        let y = (x * x).sum()
        let g = try grad(of: y, withRespectTo: [x, w], retainGraph: true, allowUnused: true)
        #expect(g.count == 2)
        #expect(g[0]?.description == "tensor([2., 4.])")
        #expect(g[1] == nil)
    }

    @Test func unusedInputWithoutAllowUnusedFails() throws {
        // PyTorch 2.15 names the input's index.
        let x = Tensor([1.0, 2.0], requiresGrad: true)
        let w = Tensor([3.0, 4.0], requiresGrad: true)
        let y = (x * x).sum()
        #expect(throws: TapeGradError(.runtimeError, "The differentiated Tensor at index 1 appears to not have been used in the graph. Set allow_unused=True if this is the desired behavior.")) {
            try grad(of: y, withRespectTo: [x, w], retainGraph: true)
        }
        #expect(throws: TapeGradError(.runtimeError, "The differentiated Tensor at index 0 appears to not have been used in the graph. Set allow_unused=True if this is the desired behavior.")) {
            try grad(of: y, withRespectTo: [w], retainGraph: true)
        }
    }

    @Test func unusedInputErrorMentionsAllowUnused() throws {
        // The part of the message every PyTorch version shares.
        let x = Tensor([1.0, 2.0], requiresGrad: true)
        let w = Tensor([3.0, 4.0], requiresGrad: true)
        let y = (x * x).sum()
        let error = #expect(throws: TapeGradError.self) { try grad(of: y, withRespectTo: [x, w]) }
        #expect(error?.kind == .runtimeError)
        #expect(error?.message.hasSuffix("appears to not have been used in the graph. Set allow_unused=True if this is the desired behavior.") == true)
    }

    @Test func inputThatDoesNotRequireGrad() throws {
        let x = Tensor([1.0, 2.0], requiresGrad: true)
        let y = (x * x).sum()
        #expect(throws: TapeGradError(.runtimeError, "One of the differentiated Tensors does not require grad")) {
            try grad(of: y, withRespectTo: [Tensor.ones(2)])
        }
    }

    @Test func backwardWithCreateGraphMakesADifferentiableGrad() throws {
        let x = Tensor([1.0, 2.0], requiresGrad: true)
        let y = (x * x * x).sum()
        try y.backward(createGraph: true)
        #expect(x.grad?.scalars() == [3, 12])
        #expect(x.grad?.requiresGrad == true)
        // PyTorch: x.grad.sum().backward() adds 6x: [9., 24.]
        try x.grad!.sum().backward()
        #expect(x.grad?.scalars() == [9, 24])
    }

    @Test func gradientOfAGradientNorm() throws {
        // PyTorch: g = grad((x³).sum(), x, create_graph=True); (g * g).sum().backward() -> [36., 288.]
        let x = Tensor([1.0, 2.0], requiresGrad: true)
        let y = (x * x * x).sum()
        let g = try grad(of: y, withRespectTo: [x], createGraph: true)[0]!
        #expect(g.description == "tensor([ 3., 12.], grad_fn=<AddBackward0>)")
        try (g * g).sum().backward()
        #expect(x.grad?.description == "tensor([ 36., 288.])")
    }

    // MARK: Hessian-vector products

    static let w: [Double] = [0.5, -1.0, 0.25, 1.5, 0.75, -0.5, -0.3, 0.2, 1.1]

    /// f(x) = Σ tanh(W x)², float64.
    static func f(_ x: Tensor) throws -> Tensor {
        let w = try Tensor(values: Self.w, shape: [3, 3], dtype: .float64)
        return try w.matmul(x).tanh().pow(2).sum()
    }

    /// ∇f at `point`, by backward.
    static func gradient(at point: [Double]) throws -> [Double] {
        try withStep {
            let x = try Tensor(values: point, shape: [3], dtype: .float64, requiresGrad: true)
            return try grad(of: try f(x), withRespectTo: [x])[0]!.scalars()
        }
    }

    @Test func hessianVectorProductOfTanhSquares() throws {
        let point = [0.3, -0.7, 0.9]
        let direction = [1.0, -2.0, 0.5]
        let x = try Tensor(values: point, shape: [3], dtype: .float64, requiresGrad: true)
        let v = try Tensor(values: direction, shape: [3], dtype: .float64)
        let value = try Self.f(x)
        let g = try grad(of: value, withRespectTo: [x], createGraph: true)[0]!
        #expect(g.requiresGrad)
        let hv = try grad(of: (g * v).sum(), withRespectTo: [x])[0]!
        #expect(hv.dtype == .float64)

        // PyTorch 2.15's numbers.
        #expect(allClose([try value.item()], [1.269085002461366], atol: 1e-12, rtol: 1e-12))
        #expect(allClose(g.scalars(), [-1.0404237544028725, -0.9953617465409728, 1.3485143189011786], atol: 1e-12, rtol: 1e-12))
        #expect(allClose(hv.scalars(), [-1.0497812253053453, 1.6448008038809847, -0.32733944979159474], atol: 1e-12, rtol: 1e-12))

        // Central differences of the gradient along v.
        let eps = 1e-6
        let plus = try Self.gradient(at: zip(point, direction).map { $0 + eps * $1 })
        let minus = try Self.gradient(at: zip(point, direction).map { $0 - eps * $1 })
        let numerical = zip(plus, minus).map { ($0 - $1) / (2 * eps) }
        #expect(allClose(hv.scalars(), numerical, atol: 1e-6, rtol: 1e-6), "\(hv.scalars()) vs \(numerical)")
        #expect(x.grad == nil)
    }

    @Test func mixedSecondDerivatives() throws {
        // f = Σ x⁴ + x·y; PyTorch: gx [2.5, -6.612], gy [0.5, -1.2]; d(Σ gx)/dx [3, 17.28], /dy [1, 1].
        let x = try Tensor(values: [0.5, -1.2], shape: [2], dtype: .float64, requiresGrad: true)
        let y = try Tensor(values: [2.0, 0.3], shape: [2], dtype: .float64, requiresGrad: true)
        let f = (x.pow(4) + x * y).sum()
        let first = try grad(of: f, withRespectTo: [x, y], createGraph: true)
        #expect(allClose(first[0]!.scalars(), [2.5, -6.612], atol: 1e-12, rtol: 1e-12))
        #expect(allClose(first[1]!.scalars(), [0.5, -1.2], atol: 1e-12, rtol: 1e-12))
        let second = try grad(of: first[0]!.sum(), withRespectTo: [x, y])
        #expect(allClose(second[0]!.scalars(), [3.0, 17.28], atol: 1e-12, rtol: 1e-12))
        #expect(allClose(second[1]!.scalars(), [1.0, 1.0], atol: 1e-12, rtol: 1e-12))

        // Against central differences of ∂f/∂x (= 4x³ + y) along u = (1, 1) in x.
        func gx(_ xs: [Double]) throws -> [Double] {
            try withStep {
                let xv = try Tensor(values: xs, shape: [2], dtype: .float64, requiresGrad: true)
                let yv = try Tensor(values: [2.0, 0.3], shape: [2], dtype: .float64)
                return try grad(of: (xv.pow(4) + xv * yv).sum(), withRespectTo: [xv])[0]!.scalars()
            }
        }
        let eps = 1e-6
        let up = try gx([0.5 + eps, -1.2 + eps]), down = try gx([0.5 - eps, -1.2 - eps])
        let numerical = zip(up, down).map { ($0 - $1) / (2 * eps) }
        #expect(allClose(second[0]!.scalars(), numerical, atol: 1e-6, rtol: 1e-6))
    }
}
