// Grad mode and steps: the scopes a program runs its tensor code in.

/// Runs `body` with gradient recording off (`with torch.no_grad():`): ops inside record
/// nothing and their results do not require grad; in-place updates of parameters are allowed.
public func noGrad<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
    try withGradEnabled(false, body)
}

/// Runs `body` with gradient recording on, even inside `noGrad` (`with torch.enable_grad():`).
public func enableGrad<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
    try withGradEnabled(true, body)
}

/// Runs `body` with the calling thread's grad mode set to `enabled`, restoring it afterwards:
/// a plain save and store (it runs inside ops and backward passes).
@inline(__always)
func withGradEnabled<R, E: Error>(_ enabled: Bool, _ body: () throws(E) -> R) throws(E) -> R {
    let e = engine
    let previous = e.pointee.gradEnabled
    e.pointee.gradEnabled = enabled
    defer { e.pointee.gradEnabled = previous }
    return try body()
}

/// Whether ops record onto the tape now (`torch.is_grad_enabled()`).
public var isGradEnabled: Bool { engine.pointee.gradEnabled }

/// Runs one step of a loop (a training iteration, say) whose intermediates are released when
/// it ends: every tensor made inside, and every tape record, goes back to the pool at once,
/// with no call to the system allocator. Tensors made before the step (parameters, inputs)
/// and the gradients of leaves persist.
///
/// ```swift
/// for t in 0..<500 {
///     try withStep {
///         let loss = (try x.mm(w1).relu().mm(w2) - y).pow(2).sum()
///         try loss.backward()
///         try noGrad { w1 -= learningRate * w1.grad!; try w1.grad!.zero_() }
///     }
/// }
/// ```
///
/// A tensor made inside the step is invalid after it: read what you need with `item()` or
/// `scalars()` inside, or copy it into a tensor made before the step. Steps nest.
public func withStep<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
    let e = engine
    e.pointee.beginScope()
    defer { e.pointee.endScope() }
    return try body()
}
