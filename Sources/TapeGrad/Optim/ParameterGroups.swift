// Parameter groups (`optimizer.param_groups`): lists of parameters, each with its own options,
// as nanoGPT's `[{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0}]`.
// A built-in optimizer keeps its groups in a `ParameterGroups<Options>`, which numbers the
// parameters across groups (PyTorch's `state` indices), and prints, saves and restores the
// options from the optimizer's one list of fields.

/// The options an optimizer keeps per parameter group (`param_groups[i]` without `params`).
public protocol OptimizerOptions {
    /// PyTorch's defaults.
    static var pytorchDefaults: Self { get }
    /// The learning rate, which schedulers set.
    var lr: Double { get set }
    /// The options by PyTorch's names: what a group prints, saves and restores.
    static var fields: [OptimizerField<Self>] { get }
    /// What PyTorch also prints for every group (`foreach: None`, …).
    static var printedConstants: [(String, String)] { get }
    /// Throws PyTorch's ValueError for an invalid option.
    func validate() throws(TapeGradError)
}

/// One option of a parameter group, by its PyTorch name.
public struct OptimizerField<Options> {
    enum Value {
        case number(WritableKeyPath<Options, Double>)
        case flag(WritableKeyPath<Options, Bool>)
        case pair(WritableKeyPath<Options, (Double, Double)>)
    }

    /// PyTorch's name of the option (`weight_decay`).
    public let name: String
    let value: Value

    /// A number: saved as a 0-dim float64 tensor, printed as Python prints it.
    public static func number(_ name: String, _ path: WritableKeyPath<Options, Double>) -> Self { Self(name: name, value: .number(path)) }
    /// A flag: saved as 0 or 1, printed `True` or `False`.
    public static func flag(_ name: String, _ path: WritableKeyPath<Options, Bool>) -> Self { Self(name: name, value: .flag(path)) }
    /// A pair such as `betas`: saved as a float64 vector of two, printed `(a, b)`.
    public static func pair(_ name: String, _ path: WritableKeyPath<Options, (Double, Double)>) -> Self { Self(name: name, value: .pair(path)) }

    /// The option's value as PyTorch prints it.
    func printed(_ options: Options) -> String {
        switch value {
        case .number(let path): options[keyPath: path].messageText
        case .flag(let path): options[keyPath: path] ? "True" : "False"
        case .pair(let path): "(\(options[keyPath: path].0), \(options[keyPath: path].1))"
        }
    }

    /// The option's value as a tensor of the current step (for a state dict).
    func saved(_ options: Options) -> Tensor {
        switch value {
        case .number(let path): return OptimizerStateIO.number(options[keyPath: path])
        case .flag(let path): return OptimizerStateIO.number(options[keyPath: path] ? 1 : 0)
        case .pair(let path):
            let pair = memory.makeTensor(shape: Dims(CollectionOfOne(2)), dtype: .float64)
            memory.base(pair, as: Double.self)[0] = options[keyPath: path].0
            memory.base(pair, as: Double.self)[1] = options[keyPath: path].1
            return pair
        }
    }

    /// Sets the option from a saved tensor.
    func load(_ tensor: Tensor, into options: inout Options) throws(TapeGradError) {
        switch value {
        case .number(let path): options[keyPath: path] = try tensor.item()
        case .flag(let path): options[keyPath: path] = try tensor.item() != 0
        case .pair(let path):
            guard tensor.count == 2 else { throw .runtime("optimizer state dict: \(name) holds \(tensor.count) values, not 2") }
            let values = tensor.to(.float64).scalars()
            options[keyPath: path] = (values[0], values[1])
        }
    }
}

/// Parameters that share options (`optimizer.param_groups[i]`). Its options read and write as
/// its own properties: `optimizer.paramGroups[1].weightDecay = 0`.
@dynamicMemberLookup
public struct ParameterGroup<Options: OptimizerOptions> {
    /// The group's parameters.
    public let params: [Tensor]
    /// The group's options.
    public var options: Options
    /// Changes to the optimizer's options, applied when the optimizer takes the group.
    let overrides: ((inout Options) -> Void)?

    /// A group of `params` with the optimizer's options, changed by `overrides` (PyTorch's
    /// keys of the group's dict): `ParameterGroup(noDecay) { $0.weightDecay = 0 }`.
    public init(_ params: [Tensor], _ overrides: ((inout Options) -> Void)? = nil) {
        self.params = params
        options = .pytorchDefaults
        self.overrides = overrides
    }

    init(_ params: [Tensor], options: Options) {
        self.params = params
        self.options = options
        overrides = nil
    }

    /// An option of the group.
    public subscript<Value>(dynamicMember path: WritableKeyPath<Options, Value>) -> Value {
        get { options[keyPath: path] }
        set { options[keyPath: path] = newValue }
    }
}

/// The groups of a built-in optimizer: its parameters in one list (PyTorch's numbering of
/// `state`), the loop of a step over them, and the options' checks, printing, saving and
/// loading.
struct ParameterGroups<Options: OptimizerOptions> {
    private(set) var groups: [ParameterGroup<Options>] = []
    /// Every group's parameters, in order.
    private(set) var parameters: [Tensor] = []
    /// The optimizer's options, which a group's overrides change (PyTorch's `defaults`).
    let defaults: Options

    /// Groups from `specs`, each with `defaults` changed by its overrides; throws PyTorch's
    /// errors for invalid options, an empty list, a non-leaf or a parameter in two groups.
    init(_ specs: [ParameterGroup<Options>], defaults: Options) throws(TapeGradError) {
        try defaults.validate()
        self.defaults = defaults
        for i in 0..<specs.count { try add(specs[i]) }
        guard !parameters.isEmpty else { throw TapeGradError(.valueError, "optimizer got an empty parameter list") }
    }

    /// Adds a group (`add_param_group`).
    mutating func add(_ spec: ParameterGroup<Options>) throws(TapeGradError) {
        var options = defaults
        spec.overrides?(&options)
        try options.validate()
        var seen = false
        for i in 0..<spec.params.count {
            let p = spec.params[i]
            guard p.isLeaf else { throw TapeGradError(.valueError, "can't optimize a non-leaf Tensor") }
            for j in 0..<parameters.count where parameters[j].isSame(p) {
                throw TapeGradError(.valueError, "some parameters appear in more than one parameter group")
            }
            for j in 0..<i where spec.params[j].isSame(p) { seen = true }
        }
        if seen {
            Warnings.warn("optimizer contains a parameter group with duplicate parameters; in future, this will cause an error; see github.com/pytorch/pytorch/issues/40967 for more information")
        }
        parameters += spec.params
        groups.append(ParameterGroup(spec.params, options: options))
    }

    /// A step's loop: `body` for each parameter that has a gradient, with its index across
    /// groups, its update view and its group's options; then the parameter's version moves on.
    func forEachUpdate(_ body: (Int, ParameterUpdate, Options) -> Void) {
        var i = 0
        for g in 0..<groups.count {
            let options = groups[g].options, params = groups[g].params
            for j in 0..<params.count {
                defer { i += 1 }
                guard let u = ParameterUpdate(params[j]) else { continue }
                body(i, u, options)
                engine.pointee.bumpVersion(u.parameter)
            }
        }
    }

    /// Replaces the groups' options after a user changed them through `paramGroups`; traps
    /// if the parameters changed (they are fixed; `addParamGroup` adds a group) or an option
    /// fails its check (with PyTorch's message).
    mutating func replace(with newGroups: [ParameterGroup<Options>]) {
        var same = newGroups.count == groups.count
        for g in 0..<newGroups.count where same {
            same = newGroups[g].params.count == groups[g].params.count
            for j in 0..<newGroups[g].params.count where same { same = newGroups[g].params[j].isSame(groups[g].params[j]) }
        }
        check(same, "TapeGrad: the parameters of an optimizer's groups cannot change; add a group with addParamGroup(_:)")
        for g in 0..<newGroups.count {
            do {
                try newGroups[g].options.validate()
            } catch {
                check(false, error.message)
            }
            groups[g].options = newGroups[g].options
        }
    }

    /// Sets one group's learning rate (schedulers).
    mutating func setLearningRate(_ lr: Double, ofGroup g: Int) { groups[g].options.lr = lr }

    /// Sets every group's learning rate (`optimizer.lr = x`).
    mutating func setLearningRate(_ lr: Double) {
        for g in 0..<groups.count { groups[g].options.lr = lr }
    }

    /// PyTorch's printout: `Name (`, for each group `Parameter Group i` and its options one per
    /// line in sorted order (groups apart by a blank line), `)`.
    func describe(_ name: String, extra: [(String, String)] = []) -> String {
        var lines = ["\(name) ("]
        for g in 0..<groups.count {
            if g > 0 { lines.append("") }
            lines.append("Parameter Group \(g)")
            var items = Options.fields.map { ($0.name, $0.printed(groups[g].options)) } + Options.printedConstants + extra
            items.sort { $0.0 < $1.0 }
            for (key, value) in items { lines.append("    \(key): \(value)") }
        }
        lines.append(")")
        return lines.joined(separator: "\n")
    }

    /// `param_groups.G.OPTION` for every group and option, and `param_groups.G.params` (the
    /// indices of the group's parameters, int64, as PyTorch's list).
    func optionEntries() -> [StateDictEntry] {
        var entries: [StateDictEntry] = []
        var start = 0
        for g in 0..<groups.count {
            for field in Options.fields {
                entries.append(StateDictEntry(name: "param_groups.\(g).\(field.name)", tensor: field.saved(groups[g].options)))
            }
            let count = groups[g].params.count
            let indices = memory.makeTensor(shape: Dims(CollectionOfOne(count)), dtype: .int64)
            for j in 0..<count { memory.base(indices, as: Int64.self)[j] = Int64(start + j) }
            entries.append(StateDictEntry(name: "param_groups.\(g).params", tensor: indices))
            start += count
        }
        return entries
    }

    /// Restores the options saved by `optionEntries` (a group's missing options stay as they
    /// are); PyTorch's ValueErrors for another number of groups or of a group's parameters.
    mutating func load(_ saved: [Int: [String: Tensor]]) throws(TapeGradError) {
        guard !saved.isEmpty else { return }
        guard saved.count == groups.count, saved.keys.allSatisfy({ $0 >= 0 && $0 < groups.count }) else {
            throw TapeGradError(.valueError, "loaded state dict has a different number of parameter groups")
        }
        var restored = groups
        for g in 0..<groups.count {
            let options = saved[g]!
            if let params = options["params"], params.count != groups[g].params.count {
                throw TapeGradError(.valueError, "loaded state dict contains a parameter group that doesn't match the size of optimizer's group")
            }
            for field in Options.fields {
                if let tensor = options[field.name] { try field.load(tensor, into: &restored[g].options) }
            }
            try restored[g].options.validate()
        }
        groups = restored
    }
}

extension Optimizer {
    /// One group: an optimizer without groups.
    public var parameterGroupCount: Int { 1 }
    /// `lr`: an optimizer without groups.
    public func learningRate(ofGroup g: Int) -> Double { lr }
    /// Sets `lr`: an optimizer without groups.
    public func setLearningRate(_ lr: Double, ofGroup g: Int) { self.lr = lr }
}

/// The parameter groups of an optimizer whose options are `Options`: the base class of the
/// built-in optimizers, which gives them `parameters`, `lr` and `paramGroups`.
public class GroupedOptimizer<Options: OptimizerOptions> {
    var groups: ParameterGroups<Options>

    init(_ groups: ParameterGroups<Options>) { self.groups = groups }

    /// Every group's parameters, in order.
    public var parameters: [Tensor] { groups.parameters }

    /// The first group's learning rate; setting it sets every group's.
    public var lr: Double {
        get { groups.groups[0].options.lr }
        set { groups.setLearningRate(newValue) }
    }

    /// The groups and their options (`optimizer.param_groups`). Options may be changed
    /// (`optimizer.paramGroups[1].lr = 0.1`); the parameters may not (`addParamGroup`).
    public var paramGroups: [ParameterGroup<Options>] {
        get { groups.groups }
        set { groups.replace(with: newValue) }
    }

    /// The number of parameter groups.
    public var parameterGroupCount: Int { groups.groups.count }

    /// The learning rate of group `g` (`param_groups[g]["lr"]`).
    public func learningRate(ofGroup g: Int) -> Double { groups.groups[g].options.lr }

    /// Sets the learning rate of group `g`.
    public func setLearningRate(_ lr: Double, ofGroup g: Int) { groups.setLearningRate(lr, ofGroup: g) }

    /// Adds a group of parameters whose options are the optimizer's changed by the group's
    /// overrides (`add_param_group`, as when fine-tuning unfreezes layers); throws PyTorch's
    /// errors as the optimizer's initializer.
    public func addParamGroup(_ group: ParameterGroup<Options>) throws(TapeGradError) {
        try groups.add(group)
        parametersAdded()
    }

    /// Makes room in the per-parameter state for parameters added by `addParamGroup` (each
    /// optimizer's).
    func parametersAdded() {}
}
