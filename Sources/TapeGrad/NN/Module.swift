// Modules: objects that hold parameters and buffers under PyTorch's state-dict names and map
// an input tensor to an output (`torch.nn.Module`). Parameters and buffers are persistent
// leaf tensors, made outside any step, so they live as long as their module's thread uses
// them; a training step only reads them, and optimizers update them in place.

/// One tensor of a state dict: its dotted name and the tensor (of any dtype: batch norm's
/// `num_batches_tracked` is int64, as PyTorch's).
public struct StateDictEntry {
    /// The dotted name, e.g. `layer1.0.bn1.running_mean`.
    public var name: String
    /// The values.
    public var tensor: Tensor

    /// An entry of a state dict.
    public init(name: String, tensor: Tensor) {
        self.name = name
        self.tensor = tensor
    }
}

/// A module's parameters and buffers by name, in PyTorch's order (`module.state_dict()`):
/// each module's parameters, then its buffers, then its children's, depth first.
public struct StateDict: Sequence {
    /// The entries, in order.
    public var entries: [StateDictEntry]

    /// A state dict of the given entries.
    public init(_ entries: [StateDictEntry] = []) { self.entries = entries }

    /// The names, in order (`state_dict().keys()`).
    public var keys: [String] { entries.map(\.name) }

    /// The tensor of the entry with this name.
    public subscript(name: String) -> Tensor? { entries.first { $0.name == name }?.tensor }

    /// Iterates the entries in order.
    public func makeIterator() -> IndexingIterator<[StateDictEntry]> { entries.makeIterator() }
}

/// A layer or a network (`torch.nn.Module`). Conforming classes give their computation in
/// `forward`; their parameters (`@Parameter`), buffers (`@Buffer`) and child modules (stored
/// properties holding modules) are found by reflection, or listed by overriding
/// `localParameters`, `localBuffers` and `children`; everything else
/// (recursive names, `train()`/`eval()`, `zeroGrad()`, `stateDict()`, `loadStateDict`) comes
/// from the extension.
public protocol Module: AnyObject, CustomStringConvertible {
    /// Computes the module's output (`module(input)` calls this).
    func forward(_ input: Tensor) throws(TapeGradError) -> Tensor
    /// Whether the module is in training mode (`module.training`); set it with `train()`/`eval()`.
    var isTraining: Bool { get set }
    /// The module's own parameters with their local names (children's are not included).
    var localParameters: [(name: String, tensor: Tensor)] { get }
    /// The module's own buffers with their local names.
    var localBuffers: [(name: String, tensor: Tensor)] { get }
    /// The direct children with their names (`named_children()`).
    var children: [(name: String, module: any Module)] { get }
    /// The settings `print(module)` shows in its parentheses (PyTorch's `extra_repr`).
    var extraRepr: String { get }
}

extension Module {
    /// PyTorch's error for a module without a one-tensor `forward`: a module whose forward
    /// takes several arguments spells its own (`func callAsFunction(_ x: Tensor, mask: Tensor)`).
    public func forward(_ input: Tensor) throws(TapeGradError) -> Tensor {
        throw TapeGradError(.notImplementedError, "Module [\(type(of: self))] is missing the required \"forward\" function")
    }

    /// The stored properties marked `@Parameter`, under their names (Registration.swift).
    public var localParameters: [(name: String, tensor: Tensor)] { Registration.parameters(of: self) }
    /// The stored properties marked `@Buffer`, under their names.
    public var localBuffers: [(name: String, tensor: Tensor)] { Registration.buffers(of: self) }
    /// The stored properties that hold a module (or an optional one), under their names.
    public var children: [(name: String, module: any Module)] { Registration.children(of: self) }

    /// Runs `forward` (`module(input)`).
    public func callAsFunction(_ input: Tensor) throws(TapeGradError) -> Tensor { try forward(input) }

    /// Every parameter with its dotted name, this module's first, then each child's
    /// (`named_parameters()`). A tensor shared by two modules (tied weights) appears once,
    /// under its first name, as PyTorch's `remove_duplicate=True`: an optimizer updates it once.
    public func namedParameters(prefix: String = "") -> [(name: String, tensor: Tensor)] {
        var seen = Set<UInt64>()
        return allNamedParameters(prefix: prefix).filter { seen.insert(UInt64(UInt32(bitPattern: $0.tensor.slot)) | UInt64($0.tensor.generation) << 32).inserted }
    }

    /// Every parameter under every name, duplicates included.
    private func allNamedParameters(prefix: String) -> [(name: String, tensor: Tensor)] {
        var result = localParameters.map { (name: prefix + $0.name, tensor: $0.tensor) }
        for child in children { result += child.module.allNamedParameters(prefix: prefix + child.name + ".") }
        return result
    }

    /// Every parameter, in `namedParameters()` order (`parameters()`).
    public func parameters() -> [Tensor] { namedParameters().map(\.tensor) }

    /// The number of parameter elements (`sum(p.numel() for p in model.parameters())`).
    public var parameterCount: Int { parameters().reduce(0) { $0 + $1.count } }

    /// Every buffer with its dotted name (`named_buffers()`).
    public func namedBuffers(prefix: String = "") -> [(name: String, tensor: Tensor)] {
        var result = localBuffers.map { (name: prefix + $0.name, tensor: $0.tensor) }
        for child in children { result += child.module.namedBuffers(prefix: prefix + child.name + ".") }
        return result
    }

    /// Parameters and buffers under PyTorch's names and in its order (`state_dict()`). The
    /// tensors are the module's own: changing them changes the module.
    public func stateDict(prefix: String = "") -> StateDict {
        var entries = localParameters.map { StateDictEntry(name: prefix + $0.name, tensor: $0.tensor) }
        entries += localBuffers.map { StateDictEntry(name: prefix + $0.name, tensor: $0.tensor) }
        for child in children { entries += child.module.stateDict(prefix: prefix + child.name + ".").entries }
        return StateDict(entries)
    }

    /// Copies the values of `stateDict` into this module's parameters and buffers
    /// (`load_state_dict`), converting dtypes. With `strict`, missing and unexpected names are
    /// errors; a shape that differs always is. The error lists every problem in PyTorch's words.
    public func loadStateDict(_ stateDict: StateDict, strict: Bool = true) throws(TapeGradError) {
        let own = self.stateDict()
        var given: [String: Tensor] = [:]
        for entry in stateDict.entries { given[entry.name] = entry.tensor }
        let ownNames = Set(own.entries.map(\.name))
        var missing: [String] = [], mismatches: [String] = []
        for entry in own.entries {
            guard let source = given[entry.name] else { missing.append(entry.name); continue }
            if source.shape != entry.tensor.shape {
                mismatches.append("size mismatch for \(entry.name): copying a param with shape \(Dims(source.shape).torchSize) from checkpoint, the shape in current model is \(Dims(entry.tensor.shape).torchSize).")
            }
        }
        let unexpected = stateDict.entries.map(\.name).filter { !ownNames.contains($0) }
        var messages: [String] = []
        if strict && !missing.isEmpty {
            messages.append("Missing key(s) in state_dict: \(missing.map { "\"\($0)\"" }.joined(separator: ", ")). ")
        }
        if strict && !unexpected.isEmpty {
            messages.append("Unexpected key(s) in state_dict: \(unexpected.map { "\"\($0)\"" }.joined(separator: ", ")). ")
        }
        messages += mismatches
        guard messages.isEmpty else {
            throw .runtime("Error(s) in loading state_dict for \(type(of: self)):\n\t\(messages.joined(separator: "\n\t"))")
        }
        for entry in own.entries {
            guard let source = given[entry.name] else { continue }
            memory.copyValues(from: source, into: entry.tensor)
            engine.pointee.bumpVersion(entry.tensor)
        }
    }

    /// Puts this module and its descendants in training mode (or evaluation mode with `false`)
    /// and returns it (`module.train()`).
    @discardableResult
    public func train(_ mode: Bool = true) -> Self {
        isTraining = mode
        for child in children { child.module.train(mode) }
        return self
    }

    /// Puts this module and its descendants in evaluation mode (`module.eval()`): batch norm
    /// uses its running statistics, dropout passes its input through.
    @discardableResult
    public func eval() -> Self { train(false) }

    /// Clears every parameter's gradient (`module.zero_grad()`): with `setToNone` (PyTorch's
    /// default) the gradient is dropped, else filled with zeros. It walks the module tree,
    /// building arrays: in a training loop the optimizer's `zeroGrad()` allocates nothing.
    public func zeroGrad(setToNone: Bool = true) {
        for parameter in parameters() { parameter.clearGrad(setToNone: setToNone) }
    }
}

extension Tensor {
    /// Drops this leaf's gradient, or zeros it in place, without recording (an optimizer's
    /// `zero_grad`). The gradient's slot and buffer go back to the pool.
    func clearGrad(setToNone: Bool) {
        let e = engine
        let grad = info.grad
        guard !grad.isNull, e.pointee.isAlive(grad) else { return }
        if setToNone {
            trapping { () throws(TapeGradError) in try setGrad(nil) }
        } else {
            // As `zero_()`: the zeros are written lazily, so the next backward can overwrite them.
            if !e.pointee.zeroLazily(grad) { grad.fillStorage(0) }
            e.pointee.bumpVersion(grad)
        }
    }
}

/// Makes parameters and buffers: persistent leaves that outlive every step.
enum ParameterFactory {
    /// A persistent tensor of `shape` filled by `fill(i)` for each element in order.
    static func make(_ shape: [Int], dtype: DType, requiresGrad: Bool, _ fill: (inout RandomGenerator) -> Double) -> Tensor {
        let tensor = engine.pointee.makeTensor(shape: Dims(shape), dtype: dtype, persistent: true)
        Init.draw(into: tensor, fill)
        if requiresGrad { trapping { try tensor.setRequiresGrad(true) } }
        return tensor
    }

    /// PyTorch's default for weights and biases of linear and convolution layers: uniform on
    /// ±1/√fan_in (`kaiming_uniform_(a=√5)` and the bias rule).
    static func uniform(_ shape: [Int], fanIn: Int, dtype: DType) -> Tensor {
        let bound = fanIn > 0 ? 1 / Double(fanIn).squareRoot() : 0
        return make(shape, dtype: dtype, requiresGrad: true) { -bound + 2 * bound * $0.nextUniform() }
    }
}

/// Weight initialisations (`torch.nn.init`), writing into a tensor in place without recording.
public enum Init {
    /// How Kaiming initialisation counts a weight's connections.
    public enum FanMode: Sendable {
        /// Inputs per output unit: `in_channels · kH · kW`.
        case fanIn
        /// Outputs per input unit: `out_channels · kH · kW`.
        case fanOut
    }

    /// Normal values with standard deviation `√2 / √fan` (the gain of ReLU)
    /// (`kaiming_normal_(tensor, mode=..., nonlinearity="relu")`), as torchvision's ResNet
    /// initialises its convolutions with `mode: .fanOut`.
    public static func kaimingNormal_(_ tensor: Tensor, mode: FanMode = .fanIn) {
        let shape = tensor.shape
        let receptive = shape.dropFirst(2).reduce(1, *)
        let fan = (mode == .fanIn ? (shape.count > 1 ? shape[1] : 1) : shape[0]) * receptive
        let std = (2.0 / Double(Swift.max(fan, 1))).squareRoot()
        fill(tensor) { std * $0.nextNormal() }
    }

    /// Uniform values in `[low, high)` (`uniform_`).
    public static func uniform_(_ tensor: Tensor, _ low: Double = 0, _ high: Double = 1) {
        fill(tensor) { low + (high - low) * $0.nextUniform() }
    }

    /// Normal values (`normal_`).
    public static func normal_(_ tensor: Tensor, mean: Double = 0, std: Double = 1) {
        fill(tensor) { mean + std * $0.nextNormal() }
    }

    /// Every element set to `value` (`constant_`).
    public static func constant_(_ tensor: Tensor, _ value: Double) {
        tensor.fillStorage(value)
        engine.pointee.bumpVersion(tensor)
    }

    private static func fill(_ tensor: Tensor, _ draw: (inout RandomGenerator) -> Double) {
        check(tensor.isContiguous && tensor.dtype.isFloatingPoint, "initialisation needs a contiguous float tensor")
        Init.draw(into: tensor, draw)
        engine.pointee.bumpVersion(tensor)
    }

    /// Writes `draw`'s values into a contiguous float tensor, element by element in order.
    static func draw(into tensor: Tensor, _ draw: (inout RandomGenerator) -> Double) {
        let e = engine
        // Read before the generator's access starts (it is one of the engine's fields).
        // A float16 or bfloat16 tensor takes float32's draws, rounded.
        let wide = e.memory.kernelOperand(tensor)
        let target = e.pointee.rawBase(wide), count = tensor.count, dtype = wide.dtype
        withoutActuallyEscaping(draw) { draw in
            withUnsafeMutablePointer(to: &e.pointee.generator) { generator in
                dtype.withFloatElement(RandomDraws(target: target, count: count, generator: generator, draw: draw))
            }
        }
        if tensor.dtype.isReducedPrecision { e.memory.copyValues(from: wide, into: tensor) }
    }
}
