// Optimizers (`torch.optim`): they update parameters in place from their `.grad`, reading and
// writing the tensors' buffers directly. Their state (momentum, moments) lives in persistent
// pooled tensors made at the first step, so a step allocates nothing after that.

/// Updates parameters from their gradients (`torch.optim.Optimizer`).
public protocol Optimizer: AnyObject, CustomStringConvertible {
    /// The parameters updated, in order (every parameter group's).
    var parameters: [Tensor] { get }
    /// The learning rate (`param_groups[0]["lr"]`); setting it sets every group's.
    var lr: Double { get set }
    /// The number of parameter groups (1 unless the optimizer was made with groups).
    var parameterGroupCount: Int { get }
    /// The learning rate of group `g` (`param_groups[g]["lr"]`), which schedulers read.
    func learningRate(ofGroup g: Int) -> Double
    /// Sets the learning rate of group `g` (schedulers).
    func setLearningRate(_ lr: Double, ofGroup g: Int)
    /// The state and options as named tensors (`optimizer.state_dict()`, OptimizerState.swift).
    func stateDict() -> StateDict
    /// Puts a saved state back (`optimizer.load_state_dict(sd)`), to resume training.
    func loadStateDict(_ stateDict: StateDict) throws(TapeGradError)
    /// Updates every parameter that has a gradient (`optimizer.step()`); parameters without
    /// one are skipped.
    func step() throws(TapeGradError)
}

extension Optimizer {
    /// Clears the parameters' gradients (`optimizer.zero_grad()`): dropped with `setToNone`
    /// (PyTorch's default), else zeroed in place.
    public func zeroGrad(setToNone: Bool = true) {
        // An index loop: `for parameter in parameters` allocates an iterator in debug builds.
        let parameters = self.parameters
        for i in 0..<parameters.count { parameters[i].clearGrad(setToNone: setToNone) }
    }
}

/// The check PyTorch's optimizers share.
enum OptimizerFormat {
    /// PyTorch's check of a non-negative option: `Invalid learning rate: -1`.
    static func requireNonNegative(_ value: Double, _ label: String) throws(TapeGradError) {
        guard value >= 0 else { throw TapeGradError(.valueError, "Invalid \(label): \(value.messageText)") }
    }
}

/// One parameter's view for an update: its values, its gradient, its element count.
struct ParameterUpdate {
    var parameter: Tensor
    var grad: Tensor
    var count: Int

    /// The parameter and its gradient, when it has one. Parameters must be contiguous.
    init?(_ parameter: Tensor) {
        let e = engine
        let grad = e.pointee.slot(parameter).pointee.grad
        guard !grad.isNull, e.pointee.isAlive(grad) else { return nil }
        check(parameter.isContiguous, "TapeGrad optimizers update contiguous parameters")
        self.parameter = parameter
        self.grad = e.memory.contiguousOperand(grad.dtype == parameter.dtype ? grad : e.memory.convert(grad, to: parameter.dtype))
        count = parameter.count
    }

    /// Runs `body` with the parameter, its gradient and up to three state tensors in the type
    /// kernels compute in: a float16 or bfloat16 parameter's through float32 copies that are
    /// written back rounded afterwards (its state is kept in its dtype, as PyTorch's).
    func inKernelType(_ s0: Tensor, _ s1: Tensor = .null, _ s2: Tensor = .null,
                      _ body: (ParameterUpdate, Tensor, Tensor, Tensor) -> Void) {
        guard parameter.dtype.isReducedPrecision else { return body(self, s0, s1, s2) }
        let e = engine
        func widen(_ t: Tensor) -> Tensor { t.isNull ? t : e.memory.convert(t, to: .float32) }
        func store(_ wide: Tensor, into t: Tensor) { if !t.isNull { e.memory.copyValues(from: wide, into: t) } }
        var wide = self
        wide.parameter = widen(parameter)
        wide.grad = widen(grad)
        let w0 = widen(s0), w1 = widen(s1), w2 = widen(s2)
        body(wide, w0, w1, w2)
        store(wide.parameter, into: parameter)
        store(w0, into: s0)
        store(w1, into: s1)
        store(w2, into: s2)
    }

    /// A persistent zero-filled tensor shaped like the parameter: optimizer state.
    func makeState() -> Tensor {
        let e = engine
        // Fresh memory, not the pool's free buffers: state made during the first step would
        // otherwise take buffers the next step's temporaries need, and that step would allocate.
        let state = e.pointee.makeTensor(shape: e.pointee.slot(parameter).pointee.shape, dtype: parameter.dtype, persistent: true, fresh: true)
        state.fillStorage(0)
        return state
    }
}
