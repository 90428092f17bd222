// Modules as PyTorch users write them: a custom module's parameters, buffers and submodules
// are found from its stored properties (Swift's reflection, when they are asked for: never in
// a training step), so nothing is listed by hand. A stored property holding a module (or an
// optional one) is a child under the property's name; `@Parameter` and `@Buffer` mark
// tensors, as `nn.Parameter` and `register_buffer` do. A plain array of modules is not
// registered, as a Python list is not: use `ModuleList`.

/// A module's trainable tensor (`nn.Parameter`): as a property wrapper (`@Parameter var scale =
/// Tensor.ones([4])`) it registers the tensor under the property's name; the value is made a
/// persistent leaf that requires grad, so it outlives the step it was made in.
@propertyWrapper
public struct Parameter {
    /// The tensor.
    public var wrappedValue: Tensor {
        didSet { wrappedValue = Parameter.prepare(wrappedValue) }
    }

    /// Registers `wrappedValue` as a parameter.
    public init(wrappedValue: Tensor) { self.wrappedValue = Parameter.prepare(wrappedValue) }

    /// A persistent leaf requiring grad with `tensor`'s values (`tensor` itself when it is one).
    static func prepare(_ tensor: Tensor) -> Tensor {
        let leaf = Registration.persistent(noGrad { tensor.isLeaf ? tensor : tensor.detach() })
        if !leaf.requiresGrad { trapping { try leaf.setRequiresGrad(true) } }
        return leaf
    }
}

/// A module's state that is not trained (`register_buffer`): running statistics, counters,
/// masks. As a property wrapper it registers the tensor under the property's name in the
/// state dict; the value is made persistent.
@propertyWrapper
public struct Buffer {
    /// The tensor.
    public var wrappedValue: Tensor {
        didSet { wrappedValue = Registration.persistent(noGrad { wrappedValue.detach() }) }
    }

    /// Registers `wrappedValue` as a buffer.
    public init(wrappedValue: Tensor) { self.wrappedValue = Registration.persistent(noGrad { wrappedValue.detach() }) }
}

/// What reflection finds on a module: its children, parameters and buffers, in declaration
/// order (a superclass's first).
enum Registration {
    /// `tensor` itself when it outlives every step (so a shared tensor stays shared), else a
    /// persistent copy.
    static func persistent(_ tensor: Tensor) -> Tensor {
        engine.pointee.slot(tensor).pointee.flags.contains(.persistent) ? tensor : memory.copyDetached(tensor)
    }

    static func children(of module: any Module) -> [(name: String, module: any Module)] {
        var result: [(name: String, module: any Module)] = []
        visit(Mirror(reflecting: module)) { name, value in
            if let child = value as? any Module { result.append((name: name, module: child)) }
        }
        return result
    }

    static func parameters(of module: any Module) -> [(name: String, tensor: Tensor)] {
        var result: [(name: String, tensor: Tensor)] = []
        visit(Mirror(reflecting: module)) { name, value in
            if let parameter = value as? Parameter { result.append((name: wrapped(name), tensor: parameter.wrappedValue)) }
        }
        return result
    }

    static func buffers(of module: any Module) -> [(name: String, tensor: Tensor)] {
        var result: [(name: String, tensor: Tensor)] = []
        visit(Mirror(reflecting: module)) { name, value in
            if let buffer = value as? Buffer { result.append((name: wrapped(name), tensor: buffer.wrappedValue)) }
        }
        return result
    }

    /// Each stored property's label and value, superclasses first; optionals unwrapped (nil
    /// skipped).
    private static func visit(_ mirror: Mirror, _ body: (String, Any) -> Void) {
        if let parent = mirror.superclassMirror { visit(parent, body) }
        for child in mirror.children {
            guard let label = child.label else { continue }
            let value = child.value
            let inner = Mirror(reflecting: value)
            if inner.displayStyle == .optional {
                guard let some = inner.children.first?.value else { continue }
                body(label, some)
            } else {
                body(label, value)
            }
        }
    }

    /// A property wrapper's storage is `_name`: the registered name is `name`.
    private static func wrapped(_ label: String) -> String { label.hasPrefix("_") ? String(label.dropFirst()) : label }
}

extension Module {
    /// Applies `body` to every submodule and then to this module, depth first, and returns
    /// this module (`module.apply(fn)`, e.g. a custom initialisation).
    @discardableResult
    public func apply(_ body: (any Module) throws -> Void) rethrows -> Self {
        try applyToTree(body)
        return self
    }

    private func applyToTree(_ body: (any Module) throws -> Void) rethrows {
        for child in children { try child.module.applyToTree(body) }
        try body(self)
    }

    /// This module and every module below it, with dotted names (`named_modules()`; this one
    /// is `""`). A module reached twice is listed once.
    public func namedModules(prefix: String = "") -> [(name: String, module: any Module)] {
        var seen = Set<ObjectIdentifier>()
        var result: [(name: String, module: any Module)] = []
        func walk(_ module: any Module, _ name: String) {
            guard seen.insert(ObjectIdentifier(module)).inserted else { return }
            result.append((name: name, module: module))
            for child in module.children { walk(child.module, name.isEmpty ? child.name : name + "." + child.name) }
        }
        walk(self, prefix)
        return result
    }
}
