// User-defined differentiable operations (`torch.autograd.Function`): a forward and a backward
// written with tensor ops. A custom function's record sits on the same tape as built-in ops;
// what it saved lives in an arena table, so applying one allocates nothing.

/// A differentiable operation of one tensor with a hand-written backward, the twin of
/// `torch.autograd.Function`:
///
/// ```swift
/// enum MyReLU: Function {
///     static func forward(_ ctx: FunctionContext, _ input: Tensor) throws -> Tensor {
///         ctx.saveForBackward(input)
///         return input.clamp(min: 0)
///     }
///     static func backward(_ ctx: FunctionContext, _ gradOutput: Tensor) throws -> Tensor? {
///         let input = ctx.savedTensors[0]
///         let gradInput = gradOutput.clone()
///         gradInput[mask: input < 0] = 0
///         return gradInput
///     }
/// }
/// let y = try MyReLU.apply(x)
/// ```
///
/// `forward` runs with gradient recording off; `backward` receives the gradient of the output
/// and returns the gradient of the input (`nil`: none).
public protocol Function {
    /// Computes the output; may save tensors for backward in `ctx`.
    static func forward(_ ctx: FunctionContext, _ input: Tensor) throws -> Tensor
    /// Computes the input's gradient from the output's.
    static func backward(_ ctx: FunctionContext, _ gradOutput: Tensor) throws -> Tensor?
}

/// A differentiable operation of two tensors with a hand-written backward.
public protocol BinaryFunction {
    /// Computes the output; may save tensors for backward in `ctx`.
    static func forward(_ ctx: FunctionContext, _ a: Tensor, _ b: Tensor) throws -> Tensor
    /// Computes both inputs' gradients from the output's (`nil`: none).
    static func backward(_ ctx: FunctionContext, _ gradOutput: Tensor) throws -> (Tensor?, Tensor?)
}

/// What a custom function's forward leaves for its backward (PyTorch's `ctx`).
public struct FunctionContext: Sendable {
    let node: Int

    private var entry: UnsafeMutablePointer<CustomNode> { engine.pointee.customNodes.pointer(at: node) }

    /// Keeps a tensor for backward (`ctx.save_for_backward`).
    public func saveForBackward(_ a: Tensor) { save(a, .null, .null) }
    /// Keeps two tensors for backward.
    public func saveForBackward(_ a: Tensor, _ b: Tensor) { save(a, b, .null) }
    /// Keeps three tensors for backward.
    public func saveForBackward(_ a: Tensor, _ b: Tensor, _ c: Tensor) { save(a, b, c) }

    private func save(_ a: Tensor, _ b: Tensor, _ c: Tensor) {
        var saved = SavedTensors()
        if !a.isNull { saved.append(a) }
        if !b.isNull { saved.append(b) }
        if !c.isNull { saved.append(c) }
        entry.pointee.saved = saved
    }

    /// The tensors given to `saveForBackward`, in order (`ctx.saved_tensors`).
    public var savedTensors: SavedTensors { entry.pointee.saved }

    /// Declares an output that is not differentiable: it will not require grad.
    public func markNonDifferentiable(_ output: Tensor) {
        entry.pointee.nonDifferentiable = output
    }

    /// Declares that forward modified `input` in place (and returns it).
    public func markDirty(_ input: Tensor) {
        entry.pointee.dirty = input
    }

    /// Whether input `index` requires a gradient (`ctx.needs_input_grad`); as in PyTorch this
    /// does not depend on grad mode (inside `noGrad` too it says whether the input requires grad).
    public func needsInputGrad(_ index: Int) -> Bool {
        let node = entry.pointee
        let input = index == 0 ? node.a : node.b
        return !input.isNull && input.requiresGrad
    }
}

/// Up to four saved tensors, stored inline.
public struct SavedTensors: RandomAccessCollection, BitwiseCopyable, Sendable {
    private var storage = InlineArray<4, Tensor>(repeating: .null)
    /// The number of saved tensors.
    public private(set) var count = 0

    /// The first index, 0.
    public var startIndex: Int { 0 }
    /// One past the last saved tensor.
    public var endIndex: Int { count }
    /// The saved tensor at `index`.
    public subscript(index: Int) -> Tensor {
        check(index >= 0 && index < count, "saved tensor index out of range")
        return storage[index]
    }

    mutating func append(_ tensor: Tensor) {
        check(count < 4, "a custom function saves at most four tensors")
        storage[count] = tensor
        count += 1
    }
}

/// What the engine keeps of one application of a custom function.
struct CustomNode: BitwiseCopyable {
    var unary: (any Function.Type)?
    var binary: (any BinaryFunction.Type)?
    var a: Tensor
    var b: Tensor
    var saved = SavedTensors()
    /// The version of each saved tensor when `apply` finished: an in-place change after that
    /// makes backward fail, as PyTorch's saved variables do.
    var savedVersions = InlineArray<4, UInt32>(repeating: 0)
    var nonDifferentiable: Tensor = .null
    var dirty: Tensor = .null
    var gradEnabled: Bool

    /// PyTorch's node name: the type's name followed by `Backward`.
    var name: String {
        let type: Any.Type = unary.map { $0 as Any.Type } ?? binary.map { $0 as Any.Type } ?? Void.self
        return "\(type)Backward"
    }
}

extension Function {
    /// Runs the function on `input`, recording it so backward calls `backward` (`Function.apply`).
    public static func apply(_ input: Tensor) throws -> Tensor {
        let node = CustomNode(unary: Self.self, binary: nil, a: input, b: .null,
                              gradEnabled: engine.pointee.gradEnabled)
        return try CustomNode.apply(node) { ctx in try noGrad { try forward(ctx, input) } }
    }
}

extension BinaryFunction {
    /// Runs the function on `a` and `b`, recording it so backward calls `backward`.
    public static func apply(_ a: Tensor, _ b: Tensor) throws -> Tensor {
        let node = CustomNode(unary: nil, binary: Self.self, a: a, b: b,
                              gradEnabled: engine.pointee.gradEnabled)
        return try CustomNode.apply(node) { ctx in try noGrad { try forward(ctx, a, b) } }
    }
}

extension CustomNode {
    static func apply(_ node: CustomNode, forward: (FunctionContext) throws -> Tensor) throws -> Tensor {
        let e = engine
        e.pointee.customNodes.append(node)
        let index = e.pointee.customNodes.count - 1
        var output = try forward(FunctionContext(node: index))
        let stored = e.pointee.customNodes[index]
        let record = e.pointee.shouldRecord(node.a, node.b) && !stored.nonDifferentiable.isSame(output)
        guard record else {
            e.pointee.customNodes.truncate(to: index)   // nothing refers to it (inference, noGrad)
            return output
        }
        if output.isSame(node.a) || output.isSame(node.b) {
            if stored.dirty.isSame(output) {
                // PyTorch bumps a dirty tensor's version once more when it takes its new history.
                try output.prepareInPlaceWrite(bumpVersion: true, markedDirty: true)
                e.pointee.rebaseCount += 1
            } else {
                // Returning an input unchanged: the output is a new tensor viewing it.
                output = e.pointee.makeView(of: output, shape: output.info.shape, strides: output.info.strides, offset: output.info.offset)
            }
        }
        var r = Record(.custom, result: output, a: node.a, b: node.b)
        r.dims = UInt32(index)
        e.pointee.append(r)
        // Saved tensors are packed now, after forward and markDirty, as PyTorch packs them.
        let entry = e.pointee.customNodes.pointer(at: index)
        for i in 0..<entry.pointee.saved.count {
            entry.pointee.savedVersions[i] = e.pointee.version(entry.pointee.saved[i])
        }
        return output
    }

    /// Checks that no saved tensor of a custom node changed in place since `apply`: `check`
    /// throws PyTorch's version-counter error (naming the node when the tensor is its output).
    static func checkSavedVersions(
        _ r: Record, at index: Int, _ check: (Tensor, UInt32, Bool) throws(TapeGradError) -> Void
    ) throws(TapeGradError) {
        let node = engine.pointee.customNodes[Int(r.dims)]
        for i in 0..<node.saved.count {
            let t = node.saved[i]
            try check(t, node.savedVersions[i], t.isSame(r.result))
        }
    }

    /// The custom function's backward, with the shapes of its gradients checked.
    static func backward(_ r: Record, _ g: Tensor) throws(TapeGradError) -> Gradients {
        let node = engine.pointee.customNodes[Int(r.dims)]
        let ctx = FunctionContext(node: Int(r.dims))
        var grads = Gradients()
        do {
            if let unary = node.unary {
                grads.a = try unary.backward(ctx, g) ?? .null
            } else {
                let (ga, gb) = try node.binary.unsafelyUnwrapped.backward(ctx, g)
                grads.a = ga ?? .null
                grads.b = gb ?? .null
            }
        } catch let error as TapeGradError {
            throw error
        } catch {
            throw .runtime("\(error)")
        }
        try checkShape(grads.a, of: node.a, index: 0, node)
        try checkShape(grads.b, of: node.b, index: 1, node)
        return grads
    }

    private static func checkShape(_ grad: Tensor, of input: Tensor, index: Int, _ node: CustomNode) throws(TapeGradError) {
        guard !grad.isNull && !input.isNull else { return }
        let expected = input.info.shape, got = grad.info.shape
        if expected != got {
            throw .runtime("Function \(node.name) returned an invalid gradient at index \(index) - got \(got.array.bracketed) but expected shape compatible with \(expected.array.bracketed)")
        }
    }
}
