import Testing
import TapeGrad

/// Numbers that once came out wrong without an error, and texts that differed from PyTorch's.
/// Every expected value and message here was printed by PyTorch 2.15.
@Suite struct BeyondTheSeedsTests {
    static func close(_ a: [Double], _ b: [Double], _ tolerance: Double = 1e-6) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { Swift.abs($0 - $1) <= tolerance * Swift.max(1, Swift.abs($1)) }
    }

    static func message(_ body: () throws -> Void) -> String? {
        do { try body() } catch let error as TapeGradError { return error.message } catch { return "\(error)" }
        return nil
    }

    // MARK: Masked fill selects, never blends

    @Test func maskedFillWithMinusInfinityLeavesTheRestAlone() throws {
        let a = Tensor([1.0, 2.0, 3.0], requiresGrad: true)
        let h = a * 1
        try h.maskedFill_(h > 1, Tensor(-Double.infinity))
        #expect(h.scalars() == [1, -.infinity, -.infinity])
        #expect(h.gradFn?.name == "MaskedFillBackward1")
        try h.exp().sum().backward()
        #expect(Self.close(a.grad!.scalars(), [2.7182817459, 0, 0]))
    }

    @Test func causalMaskSoftmax() throws {
        let s = try Tensor(values: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9], shape: [3, 3], requiresGrad: true)
        let causal = Tensor([[false, true, true], [false, false, true], [false, false, false]])
        let masked = try s.maskedFill(causal, -.infinity)
        #expect(masked.gradFn?.name == "MaskedFillBackward0")
        let att = try masked.softmax(dim: -1)
        #expect(Self.close(att.scalars(), [1, 0, 0, 0.4750207961, 0.5249791741, 0, 0.3006095886, 0.3322249949, 0.3671653867]))
        try (att * (try Tensor.arange(0, 9).view(3, 3))).sum().backward()
        #expect(Self.close(s.grad!.scalars(), [0, 0, 0, -0.24937599897384644, 0.2493760734796524, 0,
                                               -0.32061681151390076, -0.022111400961875916, 0.34272852540016174], 1e-5))
    }

    @Test func whereSelects() throws {
        let x = Tensor([1.0, -2.0, 3.0], requiresGrad: true)
        let y = try Tensor.where(x > 0, x, -.infinity)
        #expect(y.gradFn?.name == "WhereBackward0")
        #expect(y.scalars() == [1, -.infinity, 3])
        try y.clamp(min: 0).sum().backward()
        #expect(x.grad!.scalars() == [1, 0, 1])
        // result_type: a 0-dim float64 operand does not widen a dimensioned float32 one.
        #expect(try Tensor.where(Tensor([true, false]), Tensor([1.0, 2.0]), Tensor(0.0, dtype: .float64)).dtype == .float32)
        #expect(Self.message { _ = try Tensor.where(Tensor([1.0]), Tensor([1.0]), Tensor([1.0])) }
                == "where expected condition to be a boolean tensor, but got a tensor with dtype Float")
    }

    /// clamp's gradient is zero at a bound and at NaN (strict, as PyTorch 2.15's).
    @Test func clampGradientAtTheBounds() throws {
        let x = Tensor([Double.nan, 0.5, -0.5, 0.0], requiresGrad: true)
        try x.clamp(min: -0.5, max: 0.5).sum().backward()
        #expect(x.grad!.scalars() == [0, 0, 0, 1])
        x.grad = nil
        try x.clamp(min: 0.0).sum().backward()
        #expect(x.grad!.scalars() == [0, 1, 0, 0])
        x.grad = nil
        try x.clamp(max: 0.0).sum().backward()
        #expect(x.grad!.scalars() == [0, 0, 1, 0])
    }

    @Test func maskSubscriptIndexesLeadingDimensions() throws {
        let z = try Tensor.arange(0.0, 9).view(3, 3)
        z[mask: Tensor([true, false, true])] = -.infinity
        let inf = Double.infinity
        let expected: [Double] = [-inf, -inf, -inf, 3, 4, 5, -inf, -inf, -inf]
        #expect(z.scalars() == expected)
        let rows = try Tensor.arange(0, 9).view(3, 3).index(mask: Tensor([true, false, true]))
        #expect(rows.shape == [2, 3] && rows.scalars() == [0, 1, 2, 6, 7, 8])
        #expect(Self.message { _ = try Tensor.arange(0, 6).view(2, 3).index(mask: Tensor([true, false, true])) }
                == "The shape of the mask [3] at index 0 does not match the shape of the indexed tensor [2, 3] at index 0")
        let y = try Tensor.arange(0, 6).view(2, 3)
        #expect(Self.message { try y.indexPut_(mask: Tensor([true, false]), Tensor([1.0, 2.0])) }
                == "shape mismatch: value tensor of shape [2] cannot be broadcast to indexing result of shape [1, 3]")
        #expect(Self.message { try y.maskedFill_(y > 0, Tensor([1.0, 2.0, 3.0])) }
                == "masked_fill_ only supports a 0-dimensional value tensor, but got tensor with 1 dimension(s).")
    }

    // MARK: Indexing differentiates twice

    /// The diagonal-summed Hessian `∂(Σ ∂f/∂x)/∂x` of `f` at PyTorch's point.
    static func hessianRowSums(_ f: (Tensor) throws -> Tensor) throws -> [Double] {
        let x = try Tensor(values: [0.5, -1, 2, 1.5, 0.25, -0.75], shape: [2, 3], dtype: .float64, requiresGrad: true)
        let g = try grad(of: try f(x), withRespectTo: [x], createGraph: true)[0]!
        return try grad(of: g.sum(), withRespectTo: [x])[0]!.scalars()
    }

    @Test func indexingHessians() throws {
        #expect(try Self.hessianRowSums { $0[1].pow(3).sum() } == [0, 0, 0, 9, 1.5, -4.5])
        #expect(try Self.hessianRowSums { try $0.select(dim: 0, index: 1).pow(3).sum() } == [0, 0, 0, 9, 1.5, -4.5])
        #expect(try Self.hessianRowSums { $0[.all, 1..<3].pow(3).sum() } == [0, -6, 12, 0, 1.5, -4.5])
        #expect(try Self.hessianRowSums { try $0.index(mask: Tensor([true, false])).pow(3).sum() } == [3, -6, 12, 0, 0, 0])
        #expect(try Self.hessianRowSums { try $0.maskedSelect($0 > 0).pow(3).sum() } == [3, 0, 12, 9, 1.5, 0])
    }

    @Test func columnSliceGradientLandsInItsColumn() throws {
        let x = try Tensor(values: [0.5, -1, 2, 1.5, 0.25, -0.75], shape: [2, 3], dtype: .float64, requiresGrad: true)
        let w = try Tensor(values: [2, 3], shape: [2, 1], dtype: .float64)
        try (x[.all, 0..<1] * w).sum().backward()
        #expect(x.grad!.scalars() == [2, 0, 0, 3, 0, 0])
    }

    @Test func writeThroughAViewDifferentiatesTwice() throws {
        let x = try Tensor(values: [1, 2, 3, 4, 5, 6], shape: [3, 2], dtype: .float64, requiresGrad: true)
        let z = try Tensor(values: [7, 8], shape: [2], dtype: .float64, requiresGrad: true)
        let y = x * x
        try y.setItem(1, to: z * z)
        let g = try Tensor(values: [1, 2, 3, 4, 5, 6], shape: [3, 2], dtype: .float64)
        let gx = try grad(of: y * x, withRespectTo: [x], gradOutputs: g, createGraph: true)[0]!
        #expect(gx.scalars() == [3, 24, 147, 256, 375, 648])
        let h = try grad(of: gx.sum(), withRespectTo: [x, z], allowUnused: true)
        #expect(h[0]!.scalars() == [6, 24, 0, 0, 150, 216])
        #expect(h[1]!.scalars() == [42, 64])
    }

    /// Masked selection reads a region in memory order: transposed and permuted regions are
    /// reordered around it (they once threw NotImplementedError under `createGraph`).
    @Test func transposedAndPermutedRegionsDifferentiateTwice() throws {
        let x = try Tensor.arange(1, 7, dtype: .float64).view(2, 3).requiresGrad_()
        let z = try Tensor(values: [7, 8], shape: [2], dtype: .float64, requiresGrad: true)
        let y = x * x
        try y.t().setItem(1, to: z * z)
        let g = try Tensor.arange(1, 7, dtype: .float64).view(2, 3)
        let gx = try grad(of: y * x, withRespectTo: [x], gradOutputs: g, createGraph: true)[0]!
        #expect(gx.scalars() == [3, 98, 81, 192, 320, 648])
        let h = try grad(of: gx.sum(), withRespectTo: [x, z], allowUnused: true)
        #expect(h[0]!.scalars() == [6, 0, 54, 96, 0, 216])
        #expect(h[1]!.scalars() == [28, 80])

        let a = try Tensor.arange(1, 25, dtype: .float64).view(2, 3, 4).requiresGrad_()
        let b = a * 1
        let v = try b.permute(2, 0, 1)
        try b.mul_(a)
        #expect(v.gradFn?.name == "AsStridedBackward0")
        let s = (v * v * (try Tensor.arange(0, 24, dtype: .float64).view(4, 2, 3))).sum()
        let ga = try grad(of: s, withRespectTo: [a], createGraph: true)[0]!
        #expect(Array(ga.scalars().prefix(6)) == [0, 192, 1296, 4608, 500, 6048])
        let hh = try grad(of: ga.pow(2).sum(), withRespectTo: [a])[0]!
        #expect(Array(hh.scalars().prefix(6)) == [0, 110592, 3359232, 31850496, 300000, 36578304])
        #expect(try hh.sum().item() == 962469363840)
    }

    @Test func expandedRegionDifferentiatesTwice() throws {
        let a = try Tensor(values: [1, 2, 3], shape: [3], dtype: .float64, requiresGrad: true)
        let b = a * 1
        let v = try b.expand(2, 3)
        try b.mul_(a)
        #expect(v.gradFn?.name == "AsStridedBackward0")
        let w = try Tensor(values: [1, 2, 3, 4, 5, 6], shape: [2, 3], dtype: .float64)
        let ga = try grad(of: (v * v * v * w).sum(), withRespectTo: [a], createGraph: true)[0]!
        #expect(ga.scalars() == [30, 1344, 13122])
        #expect(try grad(of: ga.sum(), withRespectTo: [a])[0]!.scalars() == [150, 3360, 21870])
    }

    /// The gradient of an expanded view of a tensor changed in place sums over the copies
    /// (it once kept one of them: half of PyTorch's value, without an error).
    @Test func expandedViewOfATensorChangedInPlaceSumsItsGradient() throws {
        let a = try Tensor(values: [1, 2, 3], shape: [3], dtype: .float64, requiresGrad: true)
        let b = a * 1
        let v = try b.expand(2, 3)
        try b.mul_(2.0)
        try (v * v * v).sum().backward()
        #expect(a.grad!.scalars() == [48, 192, 432])
    }

    @Test func aViewOfATensorChangedInPlaceReadsItsNewHistory() throws {
        let x = Tensor.ones(3, requiresGrad: true)
        let y = x * 1
        let v = y[1...]
        try y.mul_(2.0)
        #expect(v.description == "tensor([2., 2.], grad_fn=<AsStridedBackward0>)")
        try v.sum().backward()
        #expect(x.grad!.scalars() == [0, 2, 2])

        let x2 = Tensor.ones(3, requiresGrad: true)
        let y2 = x2 * 1
        let v2 = y2[1...]
        try y2.mul_(2.0)
        let w = v2 * v2
        try y2.add_(1.0)
        #expect(Self.message { try w.sum().backward() } == "one of the variables needed for gradient computation has been modified by an inplace operation: [torch.FloatTensor [2]], which is output 0 of AsStrided, is at version 2; expected version 1 instead. \(Self.hint)")
    }

    // MARK: Tensor exponents

    @Test func powTensorHessianVectorProductKeepsCrossTerms() throws {
        let p = Tensor([0.5, 1.5, 2.0], dtype: .float64, requiresGrad: true)
        let e = Tensor([2.0, -1.0, 0.5], dtype: .float64, requiresGrad: true)
        let w = Tensor([1.0, 2.0, -1.0], dtype: .float64)
        let f = (w * (try p.pow(e))).sum()
        let g = try grad(of: f, withRespectTo: [p, e], createGraph: true)
        let vp = Tensor([1.0, 0.5, -1], dtype: .float64), ve = Tensor([0.25, 1.0, 2], dtype: .float64)
        let hv = try grad(of: (g[0]! * vp).sum() + (g[1]! * ve).sum(), withRespectTo: [p, e])
        #expect(Self.close(hv[0]!.scalars(), [1.9517132048600137, 1.121068052052002, -1.9927309817556873], 1e-12))
        #expect(Self.close(hv[1]!.scalars(), [-0.1631188671900577, 0.4834403349205919, -0.40675501967861527], 1e-12))
    }

    @Test func powWithNonFiniteAndLargeExponents() {
        #expect(Tensor([-2.0, -0.5, -1, 0.5, 2, 0]).pow(.infinity).scalars() == [.infinity, 0, 1, 0, .infinity, 0])
        #expect(Tensor([-2.0, -0.5, -1, 0.5, 2, 0]).pow(-.infinity).scalars() == [0, .infinity, 1, .infinity, 0, .infinity])
        let big = Tensor([-2.0, -1.0000001, -1, 1.0000001, 0.99], dtype: .float64).pow(1e7 + 1).scalars()
        #expect(big[0] == -.infinity && big[2] == -1 && big[4] == 0)
        #expect(Self.close([big[1], big[3]], [-2.7182817, 2.7182817], 1e-6))
        #expect((try? Tensor([-2.0, -0.5, -1]).pow(Tensor([Double.infinity, .infinity, .infinity])).scalars()) == [.infinity, 0, 1])
    }

    // MARK: Custom functions and versions

    /// Doubles its input in place, marked dirty, and saves it.
    enum DoubleInPlace: Function {
        static func forward(_ ctx: FunctionContext, _ x: Tensor) throws -> Tensor {
            try x.mul_(2.0)
            ctx.markDirty(x)
            ctx.saveForBackward(x)
            return x
        }
        static func backward(_ ctx: FunctionContext, _ g: Tensor) throws -> Tensor? { g * 2 }
    }

    /// Saves both inputs.
    enum SaveBoth: BinaryFunction {
        static func forward(_ ctx: FunctionContext, _ x: Tensor, _ w: Tensor) throws -> Tensor {
            ctx.saveForBackward(x, w)
            return try x.mul(w)
        }
        static func backward(_ ctx: FunctionContext, _ g: Tensor) throws -> (Tensor?, Tensor?) {
            (try g.mul(ctx.savedTensors[1]), try g.mul(ctx.savedTensors[0]))
        }
    }

    static let hint = "Hint: enable anomaly detection to find the operation that failed to compute its gradient, with torch.autograd.set_detect_anomaly(True, check_nan=False)."

    @Test func savedTensorsOfCustomFunctionsAreVersionChecked() throws {
        let a = Tensor([1.0, 2.0], requiresGrad: true)
        let y = try DoubleInPlace.apply(a.clone())
        try y.add_(1.0)
        #expect(Self.message { try y.sum().backward() } == "one of the variables needed for gradient computation has been modified by an inplace operation: [torch.FloatTensor [2]], which is output 0 of DoubleInPlace, is at version 3; expected version 2 instead. \(Self.hint)")

        let x = Tensor([1.0, 2.0], requiresGrad: true)
        let w = Tensor([3.0, 4.0])
        let out = try SaveBoth.apply(x * 1, w)
        try w.add_(1.0)
        #expect(Self.message { try out.sum().backward() } == "one of the variables needed for gradient computation has been modified by an inplace operation: [torch.FloatTensor [2]] is at version 1; expected version 0 instead. \(Self.hint)")

        let h = x * 1
        let out2 = try SaveBoth.apply(h, w)
        try h.add_(1.0)
        #expect(Self.message { try out2.sum().backward() } == "one of the variables needed for gradient computation has been modified by an inplace operation: [torch.FloatTensor [2]], which is output 0 of Add, is at version 1; expected version 0 instead. \(Self.hint)")
    }

    /// Records `needsInputGrad` as forward sees it.
    enum NeedsProbe: BinaryFunction {
        nonisolated(unsafe) static var seen: [Bool] = []
        static func forward(_ ctx: FunctionContext, _ x: Tensor, _ w: Tensor) throws -> Tensor {
            seen = [ctx.needsInputGrad(0), ctx.needsInputGrad(1)]
            return try x.mul(w)
        }
        static func backward(_ ctx: FunctionContext, _ g: Tensor) throws -> (Tensor?, Tensor?) { (g, g) }
    }

    @Test func needsInputGradIgnoresGradMode() throws {
        let x = Tensor([1.0, 2.0], requiresGrad: true), w = Tensor([3.0, 4.0])
        _ = try noGrad { try NeedsProbe.apply(x, w) }
        #expect(NeedsProbe.seen == [true, false])
    }

    // MARK: Type promotion

    @Test func resultTypeRules() throws {
        #expect((Tensor.ones(3) * Tensor(2.0, dtype: .float64)).dtype == .float32)
        #expect((Tensor.ones(3, dtype: .float64) * Tensor(2.0)).dtype == .float64)
        #expect((Tensor.ones([], dtype: .float64) * Tensor(2.0)).dtype == .float64)
        #expect((Tensor.ones(3, dtype: .bool) * Tensor(2.0, dtype: .float64)).dtype == .float64)
        #expect((Tensor.ones(3, dtype: .bool) + 2.5).dtype == .float32)
        #expect(try Tensor.ones(3).add_(Tensor.ones(3, dtype: .float64)).dtype == .float32)
        #expect(Self.message { try Tensor.ones(3, dtype: .bool).add_(1.5) } == "result type Float can't be cast to the desired output type Bool")
        #expect(Self.message { try Tensor.ones(3, dtype: .bool).add_(Tensor.ones(3)) } == "result type Float can't be cast to the desired output type Bool")
    }

    /// Bool with bool: `+` is or, `*` is and, both bool; `/` is float32 (PyTorch's values).
    @Test func boolArithmetic() throws {
        let a = Tensor([true, true, false, false]), b = Tensor([true, false, true, false])
        #expect((a + b).description == "tensor([ True,  True,  True, False])")
        #expect((a * b).description == "tensor([ True, False, False, False])")
        #expect((a + Tensor(true)).description == "tensor([True, True, True, True])")
        #expect((a / b).description == "tensor([1., inf, 0., nan])")
        #expect((a + b.float()).description == "tensor([2., 1., 1., 0.])")
        let c = a.clone()
        try c.add_(b)
        #expect(c.description == "tensor([ True,  True,  True, False])")
        let d = a.clone()
        try d.mul_(b)
        #expect(d.description == "tensor([ True, False, False, False])")
        // What the bool errors point to.
        #expect((~a).description == "tensor([False, False,  True,  True])")
        #expect(Tensor([0.0, 2.0]).logicalNot().description == "tensor([ True, False])")
        #expect(try a.logicalXor(b).description == "tensor([False,  True,  True, False])")
    }

    /// A bool exponent's gradient fails as PyTorch's does (its formula subtracts 1 from it).
    @Test func boolExponentBackward() throws {
        let x = Tensor([1.5, 2.0], requiresGrad: true)
        let y = try x.pow(Tensor([true, false]))
        #expect(y.gradFn?.name == "PowBackward1")
        #expect(Self.message { try y.sum().backward() } == "Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying to invert a mask, use the `~` or `logical_not()` operator instead.")
    }

    // MARK: Empty and degenerate inputs

    @Test func reductionsOverNothing() throws {
        #expect(Self.message { _ = try Tensor.zeros(0, 3).max() } == "max(): Expected reduction dim to be specified for input.numel() == 0. Specify the reduction dim with the 'dim' argument.")
        #expect(Self.message { _ = try Tensor.zeros(0, 3).amax(dims: []) } == "amax(): Expected reduction dim to be specified for input.numel() == 0. Specify the reduction dim with the 'dim' argument.")
        let error = #expect(throws: TapeGradError.self) { try Tensor.zeros(0, 3).amax(dim: 0) }
        #expect(error?.kind == .indexError && error?.message == "amax(): Expected reduction dim 0 to have non-zero size.")
        #expect(try Tensor.zeros(0, 3).amax(dim: 1).shape == [0])
        #expect(Self.message { _ = try Tensor.zeros(0, 3).max(dim: 0) } == "max(): Expected reduction dim 0 to have non-zero size.")
        #expect(try Tensor.ones(2, dtype: .bool).amax(dims: []).dtype == .bool)
        #expect(try Tensor.ones(2, dtype: .bool).max().dtype == .bool)
        #expect(Self.message { _ = try Tensor.ones(2, dtype: .bool).mean(dims: []) } == "mean(): could not infer output dtype. Input dtype must be either a floating point or complex dtype. Got: Bool")
    }

    // MARK: A second backward

    @Test func secondBackwardThroughASavedScalar() throws {
        let secondTime = "Trying to backward through the graph a second time (or directly access saved tensors after they have already been freed). Saved intermediate values of the graph are freed when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the graph a second time or if you need to access saved tensors after calling backward."
        for (name, f, fails) in [("mul", { (x: Tensor) in x * 2 }, true), ("div", { $0 / 2 }, true),
                                 ("add", { $0 + 2 }, false), ("sub", { $0 - 2 }, false), ("neg", { -$0 }, false)] {
            let x = Tensor([1.0, 2.0], requiresGrad: true)
            let y = f(x).sum()
            try y.backward()
            #expect(Self.message { try y.backward() } == (fails ? secondTime : nil), "\(name)")
        }
    }

    // MARK: PyTorch's texts

    @Test func productAndStackNodeNames() throws {
        let r = { (shape: [Int]) in Tensor.ones(shape, requiresGrad: true) }
        let cases: [([Int], [Int], String)] = [
            ([3], [3], "DotBackward0"), ([2, 3], [3], "MvBackward0"), ([3], [3, 4], "SqueezeBackward4"),
            ([2, 3], [3, 4], "MmBackward0"), ([2, 2, 3], [3, 4], "UnsafeViewBackward0"), ([2, 3], [2, 3, 4], "CloneBackward0"),
            ([2, 2, 3], [2, 3, 4], "UnsafeViewBackward0"), ([3], [2, 3, 4], "UnsafeViewBackward0"),
            ([2, 2, 3], [3], "UnsafeViewBackward0"), ([2, 2, 2, 3], [3, 4], "UnsafeViewBackward0"),
        ]
        for (a, b, name) in cases {
            let out = try r(a).matmul(r(b))
            #expect(out.gradFn?.name == name, "\(a) @ \(b)")
        }
        let x = r([3])
        #expect(try Tensor.stack([x, x]).gradFn?.name == "StackBackward0")
        #expect(try Tensor.stack([x, x], dim: 1).gradFn?.name == "StackBackward0")
    }

    /// Computing in-place ops refuse an expanded tensor (its elements share memory); filling
    /// it, or writing into a part without shared elements, is allowed: PyTorch's rule.
    @Test func inPlaceWritesIntoExpandedTensors() throws {
        let overlap = "unsupported operation: more than one element of the written-to tensor refers to a single memory location. Please clone() the tensor before performing the operation."
        let b = Tensor([1.0, 2.0, 3.0])
        let writes: [(String, (Tensor) throws -> Void, String?)] = [
            ("add_", { _ = try $0.add_(1.0) }, overlap), ("sub_", { _ = try $0.sub_(Tensor.ones(3)) }, overlap),
            ("mul_", { _ = try $0.mul_(Tensor.ones(2, 3)) }, overlap), ("div_", { _ = try $0.div_(2.0) }, overlap),
            ("add_ alpha", { _ = try $0.add_(Tensor.ones(3), alpha: 2) }, overlap), ("clamp_", { _ = try $0.clamp_(min: 0, max: 1) }, overlap),
            ("copy_", { _ = try $0.copy_(Tensor.ones(2, 3)) }, overlap), ("setItem all", { try $0.setItem(0..., to: Tensor(2.0)) }, overlap),
            ("fill_", { _ = try $0.fill_(1) }, nil), ("zero_", { _ = try $0.zero_() }, nil),
            ("setItem row", { try $0.setItem(0, to: Tensor(5.0)) }, nil),
        ]
        for (name, write, expected) in writes {
            #expect(Self.message { try write(try b.expand(2, 3)) } == expected, "\(name)")
        }
    }

    @Test func errorTexts() throws {
        #expect(Self.message { _ = try Tensor.ones(2, 3).mul(Tensor.ones(3, 2)) } == "The size of tensor a (3) must match the size of tensor b (2) at non-singleton dimension 1")
        #expect(Self.message { _ = try Tensor.ones(2, 3).select(dim: 0, index: 5) } == "select(): index 5 out of range for tensor of size [2, 3] at dimension 0")
        #expect(Self.message { _ = try Tensor.ones(2, 3).select(dim: 1, index: -5) } == "select(): index -5 out of range for tensor of size [2, 3] at dimension 1")
        #expect(Self.message { _ = try Tensor.ones(2, 3).index([5]) } == "index 5 is out of bounds for dimension 0 with size 2")
        #expect(Self.message { _ = try Tensor.ones(3, dtype: .bool).requiresGrad_() } == "only Tensors of floating point dtype can require gradients")
        #expect(Self.message { _ = try Tensor(validating: [true], requiresGrad: true) } == "Only Tensors of floating point and complex dtype can require gradients")
        #expect(Self.message { _ = try Tensor.ones(6).view(-2, 3) } == "invalid shape dimension -2 at index 0 of shape [-2, 3]")
        #expect(Self.message { _ = try Tensor.ones(1).reshape([1 << 33, 1 << 31]) } == "shape '[8589934592, 2147483648]' is invalid for input of size 1")
        #expect(Self.message { _ = try Tensor.zeros(validating: [-1, 2]) } == "zeros: Dimension size must be non-negative.")
        #expect(Self.message { _ = try Tensor.zeros(validating: [-1, -1]) } == "zeros: Dimension size must be non-negative.")
        #expect(Self.message { _ = try Tensor.ones(3).expand(-2, 3) } == "numel: integer multiplication overflow")
        #expect(Self.message { _ = try Tensor.ones(2, 3).mm(Tensor.ones(4, 5)) } == "mm: mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)")
        #expect(Self.message { _ = try Tensor.ones(3).mm(Tensor.ones(3, 5)) } == "mm: self must be a matrix, got 1-D tensor")
        #expect(Self.message { _ = try Tensor.ones(3, 3).mm(Tensor.ones(3)) } == "mm: mat2 must be a matrix, got 1-D tensor")
        #expect(Self.message { _ = try Tensor.ones(2, 0).matmul(Tensor.ones(3, 4)) } == "mm: mat1 and mat2 shapes cannot be multiplied (2x0 and 3x4)")
        #expect(Self.message { try Tensor.ones(2, requiresGrad: true).setGrad(Tensor.ones(3)) } == "attempting to assign a gradient of size '[3]' to a tensor of size '[2]'. Please ensure that the gradient and the tensor are the same size")
        #expect(Self.message { _ = try Tensor.cat([Tensor(1.0), Tensor(2.0)]) } == "zero-dimensional tensor (at position 0) cannot be concatenated")
        #expect(try Tensor(values: [1, 2, 3, 4, 5, 6], shape: [-1, 3]).shape == [2, 3])
        // More dimensions than a tensor holds: an error, not a trap.
        #expect(Self.message { _ = try Tensor.ones(1).view(1, 1, 1, 1, 1, 1, 1, 1, 1) } == "TapeGrad supports tensors of at most 8 dimensions, got a shape of 9")
        #expect(Self.message { _ = try Tensor.ones(1, 1, 1, 1, 1, 1, 1, 1).unsqueeze(0) } == "TapeGrad supports tensors of at most 8 dimensions, got a shape of 9")
        #expect(Self.message { _ = try Tensor.ones(1).expand(1, 1, 1, 1, 1, 1, 1, 1, 1) } == "TapeGrad supports tensors of at most 8 dimensions, got a shape of 9")
    }
}
