// The layers of `torch.nn` that TapeGrad has, as modules over the functional ops of `NN/`.

/// `input @ weight.T + bias` (`torch.nn.Linear`). Weight `[out, in]` and bias `[out]` start
/// uniform on ±1/√in, PyTorch's default.
public final class Linear: Module {
    /// `[outFeatures, inFeatures]`.
    public let weight: Tensor
    /// `[outFeatures]`, or nil without bias.
    public let bias: Tensor?
    /// Whether in training mode.
    public var isTraining = true

    /// A layer from `inFeatures` to `outFeatures`, with a bias unless told not to.
    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, dtype: DType = .float32) {
        weight = ParameterFactory.uniform([outFeatures, inFeatures], fanIn: inFeatures, dtype: dtype)
        self.bias = bias ? ParameterFactory.uniform([outFeatures], fanIn: inFeatures, dtype: dtype) : nil
    }

    /// A layer on existing tensors: `weight` `[out, in]` and `bias` `[out]`, e.g. a language
    /// model's head tied to its token embedding (`lm_head.weight = wte.weight`).
    public init(weight: Tensor, bias: Tensor? = nil) {
        self.weight = weight
        self.bias = bias
    }

    /// `weight` and `bias`.
    public var localParameters: [(name: String, tensor: Tensor)] {
        bias.map { [("weight", weight), ("bias", $0)] } ?? [("weight", weight)]
    }

    /// Applies the affine map.
    public func forward(_ input: Tensor) throws(TapeGradError) -> Tensor { try linear(input, weight: weight, bias: bias) }
}

/// A 2-D convolution layer (`torch.nn.Conv2d`). Weight `[out, in / groups, kH, kW]` and bias
/// start uniform on ±1/√fan_in, PyTorch's default.
public final class Conv2d: Module {
    /// `[outChannels, inChannels / groups, kH, kW]`.
    public let weight: Tensor
    /// `[outChannels]`, or nil without bias.
    public let bias: Tensor?
    /// The step of the kernel.
    public let stride: Size2D
    /// Zeros added on each side.
    public let padding: Size2D
    /// The spacing of the kernel's elements.
    public let dilation: Size2D
    /// Channel groups convolved separately.
    public let groups: Int
    /// Whether in training mode.
    public var isTraining = true

    /// A convolution from `inChannels` to `outChannels` with a `kernelSize` kernel.
    public init(
        _ inChannels: Int, _ outChannels: Int, kernelSize: Size2D, stride: Size2D = 1, padding: Size2D = 0,
        dilation: Size2D = 1, groups: Int = 1, bias: Bool = true, dtype: DType = .float32
    ) {
        check(groups > 0 && inChannels % groups == 0 && outChannels % groups == 0,
                     "in_channels and out_channels must be divisible by groups")
        let fanIn = inChannels / groups * kernelSize.height * kernelSize.width
        weight = ParameterFactory.uniform([outChannels, inChannels / groups, kernelSize.height, kernelSize.width], fanIn: fanIn, dtype: dtype)
        self.bias = bias ? ParameterFactory.uniform([outChannels], fanIn: fanIn, dtype: dtype) : nil
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups
    }

    /// `weight` and `bias`.
    public var localParameters: [(name: String, tensor: Tensor)] {
        bias.map { [("weight", weight), ("bias", $0)] } ?? [("weight", weight)]
    }

    /// Convolves the input.
    public func forward(_ input: Tensor) throws(TapeGradError) -> Tensor {
        try conv2d(input, weight: weight, bias: bias, stride: stride, padding: padding, dilation: dilation, groups: groups)
    }
}

/// Batch normalisation of `[N, C, H, W]` (`torch.nn.BatchNorm2d`): in training with the batch's
/// statistics, updating `running_mean`/`running_var` by `momentum` and counting
/// `num_batches_tracked`; in evaluation with the running statistics.
public final class BatchNorm2d: Module {
    /// The channels normalised.
    public let numFeatures: Int
    /// Scale per channel (starts at 1), or nil when not affine.
    public let weight: Tensor?
    /// Shift per channel (starts at 0), or nil when not affine.
    public let bias: Tensor?
    /// Running mean per channel (starts at 0).
    public let runningMean: Tensor?
    /// Running (unbiased) variance per channel (starts at 1).
    public let runningVar: Tensor?
    /// Batches seen in training: an int64 scalar.
    public let numBatchesTracked: Tensor?
    /// Added to the variance.
    public let eps: Double
    /// The weight of a batch's statistics in the running ones.
    public let momentum: Double
    /// Whether in training mode.
    public var isTraining = true

    /// Batch norm over `numFeatures` channels.
    public init(_ numFeatures: Int, eps: Double = 1e-5, momentum: Double = 0.1, affine: Bool = true,
                trackRunningStats: Bool = true, dtype: DType = .float32) {
        self.numFeatures = numFeatures
        weight = affine ? ParameterFactory.make([numFeatures], dtype: dtype, requiresGrad: true) { _ in 1 } : nil
        bias = affine ? ParameterFactory.make([numFeatures], dtype: dtype, requiresGrad: true) { _ in 0 } : nil
        runningMean = trackRunningStats ? ParameterFactory.make([numFeatures], dtype: dtype, requiresGrad: false) { _ in 0 } : nil
        runningVar = trackRunningStats ? ParameterFactory.make([numFeatures], dtype: dtype, requiresGrad: false) { _ in 1 } : nil
        if trackRunningStats {
            let count = engine.pointee.makeTensor(shape: Dims(), dtype: .int64, persistent: true)
            count.fillStorage(0)
            numBatchesTracked = count
        } else {
            numBatchesTracked = nil
        }
        self.eps = eps
        self.momentum = momentum
    }

    /// `weight` and `bias`.
    public var localParameters: [(name: String, tensor: Tensor)] {
        guard let weight, let bias else { return [] }
        return [("weight", weight), ("bias", bias)]
    }

    /// `running_mean`, `running_var` and `num_batches_tracked`.
    public var localBuffers: [(name: String, tensor: Tensor)] {
        guard let runningMean, let runningVar, let numBatchesTracked else { return [] }
        return [("running_mean", runningMean), ("running_var", runningVar), ("num_batches_tracked", numBatchesTracked)]
    }

    /// Normalises the input.
    public func forward(_ input: Tensor) throws(TapeGradError) -> Tensor {
        let rank = input.rank
        guard rank == 4 else { throw TapeGradError(.valueError, "expected 4D input (got \(rank)D input)") }
        if isTraining, let numBatchesTracked {
            engine.pointee.base(numBatchesTracked, as: Int64.self).pointee += 1
            engine.pointee.bumpVersion(numBatchesTracked)
        }
        // Without running statistics, evaluation normalises with the batch's too.
        return try batchNorm(input, runningMean: runningMean, runningVar: runningVar, weight: weight, bias: bias,
                             training: isTraining || runningMean == nil, momentum: momentum, eps: eps)
    }
}

/// `max(x, 0)` (`torch.nn.ReLU`).
public final class ReLU: Module {
    /// Whether in training mode.
    public var isTraining = true
    /// A ReLU.
    public init() {}
    /// Applies ReLU.
    public func forward(_ input: Tensor) throws(TapeGradError) -> Tensor { try input.relu() }
}

/// Passes its input through (`torch.nn.Identity`).
public final class Identity: Module {
    /// Whether in training mode.
    public var isTraining = true
    /// An identity.
    public init() {}
    /// Returns the input.
    public func forward(_ input: Tensor) throws(TapeGradError) -> Tensor { input }
}

/// Max pooling (`torch.nn.MaxPool2d`).
public final class MaxPool2d: Module {
    /// The window.
    public let kernelSize: Size2D
    /// The step (default: the window).
    public let stride: Size2D?
    /// `-inf` padding on each side.
    public let padding: Size2D
    /// Whether in training mode.
    public var isTraining = true

    /// Max pooling over `kernelSize` windows.
    public init(kernelSize: Size2D, stride: Size2D? = nil, padding: Size2D = 0) {
        self.kernelSize = kernelSize
        self.stride = stride
        self.padding = padding
    }

    /// Pools the input.
    public func forward(_ input: Tensor) throws(TapeGradError) -> Tensor {
        try maxPool2d(input, kernelSize: kernelSize, stride: stride, padding: padding)
    }
}

/// Average pooling (`torch.nn.AvgPool2d`).
public final class AvgPool2d: Module {
    /// The window.
    public let kernelSize: Size2D
    /// The step (default: the window).
    public let stride: Size2D?
    /// Zero padding on each side.
    public let padding: Size2D
    /// Whether padding counts in the divisor.
    public let countIncludePad: Bool
    /// Whether in training mode.
    public var isTraining = true

    /// Average pooling over `kernelSize` windows.
    public init(kernelSize: Size2D, stride: Size2D? = nil, padding: Size2D = 0, countIncludePad: Bool = true) {
        self.kernelSize = kernelSize
        self.stride = stride
        self.padding = padding
        self.countIncludePad = countIncludePad
    }

    /// Pools the input.
    public func forward(_ input: Tensor) throws(TapeGradError) -> Tensor {
        try avgPool2d(input, kernelSize: kernelSize, stride: stride, padding: padding, countIncludePad: countIncludePad)
    }
}

/// Adaptive average pooling to a fixed size (`torch.nn.AdaptiveAvgPool2d`).
public final class AdaptiveAvgPool2d: Module {
    /// The output's height and width.
    public let outputSize: Size2D
    /// Whether in training mode.
    public var isTraining = true

    /// Pooling to `outputSize`.
    public init(outputSize: Size2D) { self.outputSize = outputSize }

    /// Pools the input.
    public func forward(_ input: Tensor) throws(TapeGradError) -> Tensor { try adaptiveAvgPool2d(input, outputSize: outputSize) }
}

/// Flattens dimensions `startDim...endDim` (`torch.nn.Flatten`, from dimension 1 by default).
public final class Flatten: Module {
    /// The first dimension flattened.
    public let startDim: Int
    /// The last dimension flattened.
    public let endDim: Int
    /// Whether in training mode.
    public var isTraining = true

    /// Flattening from `startDim` to `endDim`.
    public init(startDim: Int = 1, endDim: Int = -1) {
        self.startDim = startDim
        self.endDim = endDim
    }

    /// Flattens the input.
    public func forward(_ input: Tensor) throws(TapeGradError) -> Tensor { try input.flatten(startDim: startDim, endDim: endDim) }
}

/// Zeroes each element with probability `p` in training and scales the rest by 1/(1 − p)
/// (`torch.nn.functional.dropout`); in evaluation returns the input. The mask comes from the
/// thread's generator; the result is `input * mask` (node `MulBackward0`, as PyTorch's
/// functional dropout records).
public func dropout(_ input: Tensor, p: Double = 0.5, training: Bool = true) throws(TapeGradError) -> Tensor {
    guard p >= 0 && p <= 1 else {
        throw TapeGradError(.valueError, "dropout probability has to be between 0 and 1, but got \(p)")
    }
    guard training && p > 0 else { return input }
    let e = engine
    let dtype = input.dtype == .bool ? DType.float32 : input.dtype.kernelType
    let mask = e.pointee.makeTensor(shape: input.info.shape, dtype: dtype)
    let n = mask.count
    let keep = p < 1 ? 1 / (1 - p) : 0
    dtype.withFloatElement(DropoutMask(e: e, mask: mask, count: n, p: p, keep: keep))
    return try input.mul(e.memory.rounded(mask, to: input.dtype))
}

/// Dropout's mask: 0 with probability `p`, else `keep`, one uniform draw per element.
private struct DropoutMask: FloatComputation {
    let e: UnsafeMutablePointer<Engine>, mask: Tensor, count: Int, p: Double, keep: Double

    func run<T: FloatElement>(_: T.Type) {
        let m = e.pointee.base(mask, as: T.self), keep = T(keep)
        for i in 0..<count { m[i] = e.pointee.generator.nextUniform() < p ? 0 : keep }
    }
}

/// Dropout as a module (`torch.nn.Dropout`): active in training mode only.
public final class Dropout: Module {
    /// The probability of zeroing an element.
    public let p: Double
    /// Whether in training mode.
    public var isTraining = true

    /// Dropout with probability `p`.
    public init(p: Double = 0.5) { self.p = p }

    /// Drops elements in training; passes the input through in evaluation.
    public func forward(_ input: Tensor) throws(TapeGradError) -> Tensor { try dropout(input, p: p, training: isTraining) }
}

/// Modules applied in order, named `0`, `1`, … (`torch.nn.Sequential`).
public final class Sequential: Module {
    /// The modules, in order.
    public let modules: [any Module]
    /// Whether in training mode.
    public var isTraining = true

    /// The given modules, in order.
    public init(_ modules: [any Module]) { self.modules = modules }

    /// The given modules, in order: `Sequential(Linear(4, 8), ReLU(), Linear(8, 2))`.
    public convenience init(_ modules: any Module...) { self.init(modules) }

    /// The modules, named by position.
    public var children: [(name: String, module: any Module)] {
        modules.enumerated().map { (name: String($0.offset), module: $0.element) }
    }

    /// Module `i` (`sequential[i]`).
    public subscript(index: Int) -> any Module { modules[index] }

    /// Applies each module to the previous one's output.
    public func forward(_ input: Tensor) throws(TapeGradError) -> Tensor {
        // An index loop: `for module in modules` allocates an iterator in debug builds.
        var x = input
        for i in 0..<modules.count { x = try modules[i].forward(x) }
        return x
    }
}

/// A list of modules registered as children "0", "1", … (`torch.nn.ModuleList`): their
/// parameters are the list's, in order. It has no `forward` of its own, as in PyTorch; a
/// transformer's blocks are the usual use (`for block in blocks.modules { x = try block(x) }`).
public final class ModuleList: Module {
    /// The modules, in order; `append` adds one.
    public private(set) var modules: [any Module]
    /// Whether in training mode.
    public var isTraining = true

    /// The given modules, in order.
    public init(_ modules: [any Module] = []) { self.modules = modules }

    /// Adds a module at the end (`module_list.append(m)`).
    public func append(_ module: any Module) { modules.append(module) }

    /// The number of modules (`len(module_list)`).
    public var count: Int { modules.count }

    /// The modules, named by position.
    public var children: [(name: String, module: any Module)] {
        modules.enumerated().map { (name: String($0.offset), module: $0.element) }
    }

    /// Module `i` (`module_list[i]`; negative counts from the end); traps for an index out
    /// of range with PyTorch's message, where ``module(at:)`` throws it.
    public subscript(index: Int) -> any Module { trapping { try module(at: index) } }

    /// Module `i`, throwing PyTorch's IndexError for an index out of range.
    public func module(at index: Int) throws(TapeGradError) -> any Module {
        guard index >= -modules.count && index < modules.count else { throw .index("index \(index) is out of range") }
        return modules[index < 0 ? index + modules.count : index]
    }

    /// PyTorch's error: a ModuleList is not callable.
    public func forward(_ input: Tensor) throws(TapeGradError) -> Tensor {
        throw TapeGradError(.notImplementedError, "Module [ModuleList] is missing the required \"forward\" function")
    }
}

/// Modules registered as children under names, in insertion order (`torch.nn.ModuleDict`).
/// Like PyTorch's, it has no `forward`; a model keeps typed references beside it and uses it
/// for the names (`transformer.h.0.attn…`).
public final class ModuleDict: Module {
    /// The children with their names, in order.
    public private(set) var children: [(name: String, module: any Module)]
    /// Whether in training mode.
    public var isTraining = true

    /// The given modules under their names, in order.
    public init(_ modules: [(String, any Module)] = []) {
        children = modules.map { (name: $0.0, module: $0.1) }
    }

    /// The names, in order (`module_dict.keys()`).
    public var keys: [String] { children.map(\.name) }

    /// The number of modules (`len(module_dict)`).
    public var count: Int { children.count }

    /// The module under `name`, or nil; setting replaces it in place or adds it at the end
    /// (`module_dict[name] = m`), and setting nil removes it (`del module_dict[name]`).
    public subscript(name: String) -> (any Module)? {
        get { children.first { $0.name == name }?.module }
        set {
            let index = children.firstIndex { $0.name == name }
            switch (index, newValue) {
            case let (i?, module?): children[i].module = module
            case let (i?, nil): children.remove(at: i)
            case let (nil, module?): children.append((name: name, module: module))
            case (nil, nil): break
            }
        }
    }

    /// PyTorch's error: a ModuleDict is not callable.
    public func forward(_ input: Tensor) throws(TapeGradError) -> Tensor {
        throw TapeGradError(.notImplementedError, "Module [ModuleDict] is missing the required \"forward\" function")
    }
}
