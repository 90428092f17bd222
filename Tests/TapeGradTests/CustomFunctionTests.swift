import Synchronization
import Testing
import TapeGrad

// Custom functions used by CustomFunctionTests (PyTorch 2.15 names their nodes
// "<TypeName>Backward").

/// Seed 004's MyReLU, as written there.
enum MyReLU: Function {
    static func forward(_ ctx: FunctionContext, _ input: Tensor) throws -> Tensor {
        ctx.saveForBackward(input)
        return input.clamp(min: 0)
    }

    static func backward(_ ctx: FunctionContext, _ gradOutput: Tensor) throws -> Tensor? {
        let input = ctx.savedTensors[0]
        let gradInput = gradOutput.clone()
        gradInput[mask: input < 0] = 0
        return gradInput
    }
}

/// a * b with both inputs saved; records which inputs needed a gradient.
enum MulFn: BinaryFunction {
    static let needs = Mutex<[[Bool]]>([])

    static func forward(_ ctx: FunctionContext, _ a: Tensor, _ b: Tensor) throws -> Tensor {
        ctx.saveForBackward(a, b)
        return try a.mul(b)
    }

    static func backward(_ ctx: FunctionContext, _ gradOutput: Tensor) throws -> (Tensor?, Tensor?) {
        let a = ctx.savedTensors[0], b = ctx.savedTensors[1]
        let needs = [ctx.needsInputGrad(0), ctx.needsInputGrad(1)]
        MulFn.needs.withLock { $0.append(needs) }
        return (needs[0] ? try gradOutput.mul(b) : nil, needs[1] ? try gradOutput.mul(a) : nil)
    }
}

/// Returns a 0/1 indicator of positive inputs, marked non-differentiable.
enum PositiveIndicator: Function {
    static func forward(_ ctx: FunctionContext, _ input: Tensor) throws -> Tensor {
        let out = (input > 0).to(.float32)
        ctx.markNonDifferentiable(out)
        return out
    }

    static func backward(_ ctx: FunctionContext, _ gradOutput: Tensor) throws -> Tensor? { nil }
}

/// Adds one to its input in place and returns it, declared with markDirty.
enum AddOneInPlace: Function {
    static func forward(_ ctx: FunctionContext, _ input: Tensor) throws -> Tensor {
        try input.add_(1.0)
        ctx.markDirty(input)
        return input
    }

    static func backward(_ ctx: FunctionContext, _ gradOutput: Tensor) throws -> Tensor? { gradOutput * 3 }
}

/// Returns a gradient of the wrong shape.
enum MyBad: Function {
    static func forward(_ ctx: FunctionContext, _ input: Tensor) throws -> Tensor { input * 2 }
    static func backward(_ ctx: FunctionContext, _ gradOutput: Tensor) throws -> Tensor? { Tensor.ones(3) }
}

/// Returns its input unchanged, with a backward that scales by 5.
enum Ident: Function {
    static func forward(_ ctx: FunctionContext, _ input: Tensor) throws -> Tensor { input }
    static func backward(_ ctx: FunctionContext, _ gradOutput: Tensor) throws -> Tensor? { gradOutput * 5 }
}

/// A backward that fails with a Swift error.
enum Raises: Function {
    struct Boom: Error, CustomStringConvertible { var description: String { "boom" } }
    static func forward(_ ctx: FunctionContext, _ input: Tensor) throws -> Tensor { input * 2 }
    static func backward(_ ctx: FunctionContext, _ gradOutput: Tensor) throws -> Tensor? { throw Boom() }
}

/// A backward that fails with a TapeGradError of its own.
enum RaisesValueError: Function {
    static func forward(_ ctx: FunctionContext, _ input: Tensor) throws -> Tensor { input * 2 }
    static func backward(_ ctx: FunctionContext, _ gradOutput: Tensor) throws -> Tensor? {
        throw TapeGradError(.valueError, "boom")
    }
}

/// Forward doubles, backward forgets the factor: gradcheck must catch it.
enum Halves: Function {
    static func forward(_ ctx: FunctionContext, _ input: Tensor) throws -> Tensor { input * 2 }
    static func backward(_ ctx: FunctionContext, _ gradOutput: Tensor) throws -> Tensor? { gradOutput }
}

/// Custom functions (`torch.autograd.Function`), against PyTorch 2.15.
@Suite struct CustomFunctionTests {
    @Test func myReLUForwardBackwardAndNodeName() throws {
        let x = Tensor([[-1.0, 2.0], [3.0, -4.0]], requiresGrad: true)
        let y = try MyReLU.apply(x)
        #expect(y.description == "tensor([[0., 2.],\n        [3., 0.]], grad_fn=<MyReLUBackward>)")
        #expect(y.gradFn?.name == "MyReLUBackward")
        #expect(!y.isLeaf && y.requiresGrad)
        try (y * Tensor([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
        #expect(x.grad?.description == "tensor([[0., 2.],\n        [3., 0.]])")
    }

    @Test func myReLUMatchesBuiltInReLU() throws {
        var generator = RandomGenerator(seed: 4)
        let x = Tensor.randn([8, 10], using: &generator)
        let y = Tensor.randn([8, 3], using: &generator)
        let w1Start = Tensor.randn([10, 5], using: &generator).scalars()
        let w2Start = Tensor.randn([5, 3], using: &generator).scalars()

        // Three steps of seed 004's training loop, once per ReLU.
        func train(custom: Bool) throws -> (losses: [Double], w1: [Double], w2: [Double]) {
            let w1 = try Tensor(values: w1Start, shape: [10, 5], requiresGrad: true)
            let w2 = try Tensor(values: w2Start, shape: [5, 3], requiresGrad: true)
            var losses: [Double] = []
            for _ in 0..<3 {
                try withStep {
                    let hidden = try x.mm(w1)
                    let activated = custom ? try MyReLU.apply(hidden) : try hidden.relu()
                    let loss = (try activated.mm(w2) - y).pow(2).sum()
                    losses.append(try loss.item())
                    try loss.backward()
                    try noGrad { () throws(TapeGradError) in
                        try w1.sub_(1e-2 * w1.grad!)
                        try w2.sub_(1e-2 * w2.grad!)
                        try w1.grad!.zero_()
                        try w2.grad!.zero_()
                    }
                }
            }
            return (losses, w1.scalars(), w2.scalars())
        }
        let builtIn = try train(custom: false)
        let custom = try train(custom: true)
        #expect(allClose(custom.losses, builtIn.losses, atol: 1e-6, rtol: 1e-6))
        #expect(allClose(custom.w1, builtIn.w1, atol: 1e-6, rtol: 1e-6))
        #expect(allClose(custom.w2, builtIn.w2, atol: 1e-6, rtol: 1e-6))
        #expect(custom.losses[2] < custom.losses[0])
    }

    @Test func binaryFunctionValuesAndGradients() throws {
        let a = Tensor([1.0, 2.0], requiresGrad: true)
        let b = Tensor([3.0, 4.0])
        let z = try MulFn.apply(a, b)
        #expect(z.description == "tensor([3., 8.], grad_fn=<MulFnBackward>)")
        MulFn.needs.withLock { $0.removeAll() }
        try z.sum().backward()
        // PyTorch: ctx.needs_input_grad == (True, False)
        #expect(MulFn.needs.withLock { $0 } .contains([true, false]))
        #expect(a.grad?.description == "tensor([3., 4.])")
        #expect(b.grad == nil)
    }

    @Test func binaryFunctionPassesGradcheck() throws {
        let inputs = GradientCheckTests.inputs([[3, 2], [3, 2]])
        #expect(try gradcheck({ try MulFn.apply($0[0], $0[1]) }, inputs: inputs))
        // Broadcasting in forward is fine as long as backward sums back (here: same shapes).
        #expect(try gradcheck({ try MulFn.apply($0[0].tanh(), $0[1]) * $0[0] }, inputs: inputs))
    }

    @Test func binaryFunctionIsTwiceDifferentiable() throws {
        // Its backward is made of differentiable ops, so createGraph differentiates it again.
        // z = Σ (a·b)·a = Σ a²b: dz/da = 2ab; d(Σ 2ab)/da = 2b, d(Σ 2ab)/db = 2a.
        let a = try Tensor(values: [1.0, -2.0], shape: [2], dtype: .float64, requiresGrad: true)
        let b = try Tensor(values: [0.5, 3.0], shape: [2], dtype: .float64, requiresGrad: true)
        let z = (try MulFn.apply(a, b) * a).sum()
        let ga = try grad(of: z, withRespectTo: [a], createGraph: true)[0]!
        #expect(ga.scalars() == [1, -12])
        #expect(ga.requiresGrad)
        let second = try grad(of: ga.sum(), withRespectTo: [a, b])
        #expect(second[0]?.scalars() == [1, 6])
        #expect(second[1]?.scalars() == [2, -4])
    }

    @Test func binaryFunctionPassesGradgradcheck() throws {
        let inputs = GradientCheckTests.inputs([[2, 2], [2, 2]], seed: 11)
        #expect(try gradgradcheck({ try MulFn.apply($0[0], $0[1]) }, inputs: inputs))
    }

    @Test func markNonDifferentiable() throws {
        let a = Tensor([1.0, 2.0], requiresGrad: true)
        let o = try PositiveIndicator.apply(a)
        #expect(o.description == "tensor([1., 1.])")
        #expect(!o.requiresGrad && o.isLeaf && o.gradFn == nil)
    }

    @Test func markDirtyOnANonLeaf() throws {
        let x = Tensor([1.0, 2.0], requiresGrad: true)
        let y = x * 2
        let z = try AddOneInPlace.apply(y)
        #expect(z.description == "tensor([3., 5.], grad_fn=<AddOneInPlaceBackward>)")
        // The output is the input, modified in place.
        #expect(y.description == "tensor([3., 5.], grad_fn=<AddOneInPlaceBackward>)")
        try (y * y).sum().backward()
        #expect(x.grad?.description == "tensor([36., 60.])")
    }

    @Test func markDirtyOnALeafThatRequiresGrad() throws {
        let x = Tensor([1.0, 2.0], requiresGrad: true)
        let error = #expect(throws: TapeGradError.self) { try AddOneInPlace.apply(x) }
        #expect(error == TapeGradError(.runtimeError, "a leaf Variable that requires grad has been used in an in-place operation."))
        // PyTorch ran forward, so the values changed; the leaf keeps no history.
        #expect(x.description == "tensor([2., 3.], requires_grad=True)")
    }

    @Test func invalidGradientShape() throws {
        let x = Tensor([1.0, 2.0], requiresGrad: true)
        #expect(throws: TapeGradError(.runtimeError, "Function MyBadBackward returned an invalid gradient at index 0 - got [3] but expected shape compatible with [2]")) {
            try MyBad.apply(x).sum().backward()
        }
        #expect(x.grad == nil)
    }

    @Test func returningTheInputUnchangedMakesANewNode() throws {
        let x = Tensor([1.0, 2.0], requiresGrad: true)
        let y = try Ident.apply(x)
        #expect(y.description == "tensor([1., 2.], grad_fn=<IdentBackward>)")
        #expect(x.isLeaf && x.gradFn == nil)
        try y.sum().backward()
        #expect(x.grad?.description == "tensor([5., 5.])")
    }

    @Test func applyInsideNoGradRecordsNothing() throws {
        let x = Tensor([1.0, -2.0], requiresGrad: true)
        let y = try noGrad { try MyReLU.apply(x) }
        #expect(y.description == "tensor([1., 0.])")
        #expect(!y.requiresGrad && y.isLeaf)
    }

    @Test func applyOnInputsThatNeedNoGrad() throws {
        let y = try MyReLU.apply(Tensor([1.0, -2.0]))
        #expect(y.description == "tensor([1., 0.])")
        #expect(!y.requiresGrad && y.isLeaf)
    }

    @Test func errorsThrownByBackward() throws {
        let x = Tensor([1.0, 2.0], requiresGrad: true)
        let error = #expect(throws: TapeGradError.self) { try Raises.apply(x).sum().backward() }
        #expect(error?.message == "boom")
        #expect(throws: TapeGradError(.valueError, "boom")) { try RaisesValueError.apply(x).sum().backward() }
        #expect(x.grad == nil)
    }

    @Test func twoApplicationsKeepTheirOwnSavedTensors() throws {
        let x = Tensor([-1.0, 2.0], requiresGrad: true)
        let y = try MyReLU.apply(x)
        let z = try MyReLU.apply(x * -1)
        try (y * 2 + z * 3).sum().backward()
        // dy/dx = [0, 1], dz/dx = -[1, 0]
        #expect(x.grad?.description == "tensor([-3.,  2.])")
    }

    @Test func gradcheckCatchesAWrongCustomBackward() throws {
        let x = try Tensor(values: [1.0, 2.0], shape: [2], dtype: .float64, requiresGrad: true)
        let error = #expect(throws: TapeGradError.self) { try gradcheck({ try Halves.apply($0[0]) }, inputs: [x]) }
        #expect(error?.kind == .runtimeError)
        #expect(error?.message.hasPrefix("Jacobian mismatch for output 0 with respect to input 0,\nnumerical:") == true)
    }
}
