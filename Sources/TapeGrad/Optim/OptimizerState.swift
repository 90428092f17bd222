// An optimizer's state as PyTorch's `optimizer.state_dict()` holds it, flattened to named
// tensors so that it saves to safetensors beside the model: `state.I.NAME` for parameter I's
// state (`step`, `exp_avg`, `exp_avg_sq`, `momentum_buffer`, `square_avg`, `sum`, …; PyTorch's
// names) and `param_groups.G.OPTION` for each group's options (0-dim float64; `betas` a pair;
// `params` the group's parameter indices, int64).
// `loadStateDict` puts a saved state back, so training resumes where it stopped.

extension Optimizer {
    /// The options of a custom optimizer's state dict: its learning rate only.
    public func stateDict() -> StateDict {
        StateDict([StateDictEntry(name: "param_groups.0.lr", tensor: OptimizerStateIO.number(lr))])
    }

    /// Restores a custom optimizer's learning rate from `stateDict`.
    public func loadStateDict(_ stateDict: StateDict) throws(TapeGradError) {
        let groups = try OptimizerStateIO.read(stateDict, parameters: parameters, names: []).groupOptions
        guard groups.keys.allSatisfy({ $0 == 0 }) else {
            throw TapeGradError(.valueError, "loaded state dict has a different number of parameter groups")
        }
        try groups[0]?.update("lr", &lr)
    }
}

/// Writing and reading flattened optimizer states.
enum OptimizerStateIO {
    /// A 0-dim float64 tensor of `value` (an option; it belongs to the current step, as any
    /// tensor made in one).
    static func number(_ value: Double) -> Tensor { memory.scalar(value, dtype: .float64) }

    /// The entries of a state: for each parameter that has state (every one with
    /// `everyParameter`, as Adagrad's, made at construction), its step (a float32 0-dim
    /// tensor, as PyTorch's) and its tensors in the order given; then the groups' options.
    static func entries<Options>(steps: [Int]?, states: [(name: String, tensors: [Tensor])], groups: ParameterGroups<Options>,
                                 everyParameter: Bool = false) -> StateDict {
        var entries: [StateDictEntry] = []
        let count = steps?.count ?? states.first?.tensors.count ?? 0
        for i in 0..<count {
            let started = everyParameter || (steps.map { $0[i] > 0 } ?? states.contains { !$0.tensors[i].isNull })
            guard started else { continue }
            if let steps {
                entries.append(StateDictEntry(name: "state.\(i).step", tensor: memory.scalar(Double(steps[i]), dtype: .float32)))
            }
            for state in states where !state.tensors[i].isNull {
                entries.append(StateDictEntry(name: "state.\(i).\(state.name)", tensor: state.tensors[i]))
            }
        }
        return StateDict(entries + groups.optionEntries())
    }

    /// What a flattened state holds: per name, a persistent copy for each parameter (`.null`
    /// where it has none), the steps, and each group's options by group. Throws PyTorch's
    /// ValueError for a state of more parameters than the optimizer's, and names a tensor
    /// whose shape differs.
    static func read(_ stateDict: StateDict, parameters: [Tensor], names: [String])
        throws(TapeGradError) -> (states: [String: [Tensor]], steps: [Int], groupOptions: [Int: [String: Tensor]])
    {
        var states: [String: [Tensor]] = [:]
        for name in names { states[name] = [Tensor](repeating: .null, count: parameters.count) }
        var steps = [Int](repeating: 0, count: parameters.count)
        var groupOptions: [Int: [String: Tensor]] = [:]
        for entry in stateDict.entries {
            let parts = entry.name.split(separator: ".", maxSplits: 2).map(String.init)
            if parts.count == 3 && parts[0] == "param_groups" {
                guard let g = Int(parts[1]) else { throw .runtime("optimizer state dict: unexpected entry \(entry.name)") }
                groupOptions[g, default: [:]][parts[2]] = entry.tensor
                continue
            }
            guard parts.count == 3, parts[0] == "state", let i = Int(parts[1]) else {
                throw .runtime("optimizer state dict: unexpected entry \(entry.name)")
            }
            guard i >= 0 && i < parameters.count else {
                throw TapeGradError(.valueError, "loaded state dict contains a parameter group that doesn't match the size of optimizer's group")
            }
            if parts[2] == "step" {
                steps[i] = Int(try entry.tensor.item())
                continue
            }
            guard states[parts[2]] != nil else { throw .runtime("optimizer state dict: unexpected entry \(entry.name)") }
            guard entry.tensor.shape == parameters[i].shape else {
                throw .runtime("optimizer state dict: \(entry.name) has shape \(entry.tensor.shape.bracketed), the parameter \(parameters[i].shape.bracketed)")
            }
            let copy = engine.pointee.makeTensor(shape: parameters[i].info.shape, dtype: parameters[i].dtype, persistent: true, fresh: true)
            memory.copyValues(from: entry.tensor, into: copy)
            states[parts[2]]![i] = copy
        }
        return (states, steps, groupOptions)
    }
}

extension [String: Tensor] {
    /// A saved option as a number, if present.
    func number(_ name: String) throws(TapeGradError) -> Double? { try self[name].map { t throws(TapeGradError) in try t.item() } }

    /// Sets `option` to the saved value named `name`, if there is one.
    func update(_ name: String, _ option: inout Double) throws(TapeGradError) {
        if let value = try number(name) { option = value }
    }

}
