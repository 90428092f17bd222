// Gradient hooks: user functions the sweep calls with the gradient flowing into a tensor.

/// A registered hook. Hooks are closures, so they live in a Swift array beside the engine's
/// plain-data tables; a tensor with hooks carries a flag so the sweep looks only then.
struct Hook {
    enum Body {
        /// Sees the gradient flowing into the tensor and may return a replacement.
        case gradient((Tensor) -> Tensor?)
        /// Runs after a leaf's `grad` has been accumulated, with the leaf.
        case postAccumulate((Tensor) -> Void)
    }

    var tensor: Tensor
    var id: Int
    var body: Body
}

/// Removes a hook it was returned for (`handle.remove()`).
public struct HookHandle: Sendable {
    let id: Int

    /// Unregisters the hook; later sweeps no longer call it.
    public func remove() {
        engine.pointee.hooks.removeAll { $0.id == id }
    }
}

extension Tensor {
    /// Registers a function that sees the gradient with respect to this tensor each time a
    /// backward pass computes it, and may replace it by returning a tensor (`nil` keeps it)
    /// (`tensor.register_hook`). On a leaf it runs before the gradient is accumulated.
    @discardableResult
    public func registerHook(_ hook: @escaping (Tensor) -> Tensor?) throws(TapeGradError) -> HookHandle {
        guard requiresGrad else {
            throw .runtime("cannot register a hook on a tensor that doesn't require gradient")
        }
        return Hooks.add(Hook(tensor: self, id: 0, body: .gradient(hook)))
    }

    /// Registers a function that runs after this leaf's `grad` has been accumulated
    /// (`tensor.register_post_accumulate_grad_hook`).
    @discardableResult
    public func registerPostAccumulateGradHook(_ hook: @escaping (Tensor) -> Void) throws(TapeGradError) -> HookHandle {
        guard isLeaf && requiresGrad else {
            throw .runtime("post accumulate grad hooks cannot be registered on non-leaf tensors")
        }
        return Hooks.add(Hook(tensor: self, id: 0, body: .postAccumulate(hook)))
    }
}

enum Hooks {
    static func add(_ hook: Hook) -> HookHandle {
        var hook = hook
        let e = engine
        e.pointee.hookCounter += 1
        hook.id = e.pointee.hookCounter
        e.pointee.hooks.append(hook)
        e.pointee.slot(hook.tensor).pointee.flags.insert(.hasHooks)
        return HookHandle(id: hook.id)
    }

    /// Passes `g` through the gradient hooks of `tensor`, in registration order.
    static func runTensorHooks(on tensor: Tensor, _ g: Tensor) -> Tensor {
        var g = g
        let hooks = engine.pointee.hooks
        for hook in hooks where hook.tensor.isSame(tensor) {
            if case .gradient(let body) = hook.body, let replaced = body(g) { g = replaced }
        }
        return g
    }

    static func runPostAccumulateHooks(on leaf: Tensor) {
        let hooks = engine.pointee.hooks
        for hook in hooks where hook.tensor.isSame(leaf) {
            if case .postAccumulate(let body) = hook.body { body(leaf) }
        }
    }
}
