// Every op of the reference README that TapeGrad has today, spelled with TapeGrad's API.
// Ops still missing from TapeGrad (index_select_row, slice, cat, stack, softmax, log_softmax,
// mse_loss, mse_loss_sum, cross_entropy, linear, conv2d*, max_pool2d, avg_pool2d,
// adaptive_avg_pool2d_1, batch_norm_train) are absent: their cases report "unknown op".
// When TapeGrad gains one, add its row here and take it out of the list in OpsReferenceTests.
import TapeGrad

/// One op of the reference: its inputs in order and the case's kwargs give its output.
public typealias ConformanceOp = @Sendable ([Tensor], ConformanceKwargs) throws -> Tensor

/// A case gave an op fewer inputs than it takes, or kwargs it cannot use.
public struct ConformanceInputError: Error, CustomStringConvertible {
    public var description: String
}

private func unary(_ body: @escaping @Sendable (Tensor) throws -> Tensor) -> ConformanceOp {
    { inputs, _ in
        guard inputs.count >= 1 else { throw ConformanceInputError(description: "expects 1 input, got \(inputs.count)") }
        return try body(inputs[0])
    }
}

private func binary(_ body: @escaping @Sendable (Tensor, Tensor) throws -> Tensor) -> ConformanceOp {
    { inputs, _ in
        guard inputs.count >= 2 else { throw ConformanceInputError(description: "expects 2 inputs, got \(inputs.count)") }
        return try body(inputs[0], inputs[1])
    }
}

/// The single ops of the reference file, by name (the part of a case's name before `#`).
public let conformanceOps: [String: ConformanceOp] = [
    // a + b, a - b, a * b, a / b, with broadcasting
    "add": binary { a, b in try a.add(b) },
    "add_broadcast_row": binary { a, b in try a.add(b) },
    "add_broadcast_col": binary { a, b in try a.add(b) },
    "add_broadcast_3d": binary { a, b in try a.add(b) },
    "sub": binary { a, b in try a.sub(b) },
    "sub_broadcast": binary { a, b in try a.sub(b) },
    "mul": binary { a, b in try a.mul(b) },
    "mul_broadcast": binary { a, b in try a.mul(b) },
    "div": binary { a, b in try a.div(b) },
    "div_broadcast": binary { a, b in try a.div(b) },
    // scalars
    "add_scalar": unary { a in a + 2 },
    "mul_scalar": unary { a in 3 * a },
    "rsub_scalar": unary { a in 1 - a },
    "rdiv_scalar": unary { a in 2 / a },
    "neg": unary { a in -a },
    // powers
    "pow2": unary { a in a.pow(2) },
    "pow3": unary { a in a.pow(3) },
    "pow_half": unary { a in a.pow(0.5) },
    "pow_tensor": binary { a, b in try a.pow(b) },
    // elementwise functions
    "sqrt": unary { a in a.sqrt() },
    "exp": unary { a in a.exp() },
    "log": unary { a in a.log() },
    "tanh": unary { a in a.tanh() },
    "sigmoid": unary { a in a.sigmoid() },
    "relu": unary { a in a.relu() },
    "abs": unary { a in a.abs() },
    "sin": unary { a in a.sin() },
    "cos": unary { a in a.cos() },
    "clamp_min": unary { a in a.clamp(min: 0) },
    "clamp_both": unary { a in a.clamp(min: -0.5, max: 0.5) },
    // reductions
    "sum_all": unary { a in a.sum() },
    "sum_dim0": unary { a in try a.sum(dim: 0) },
    "sum_dim1_keepdim": unary { a in try a.sum(dim: 1, keepDim: true) },
    "mean_all": unary { a in a.mean() },
    "mean_dim": unary { a in try a.mean(dim: 1) },
    "max_all": unary { a in a.max() },
    "amax_dim": unary { a in try a.amax(dim: 1) },
    // matrix products
    "mm": binary { a, b in try a.mm(b) },
    "matmul_vec": binary { a, b in try a.matmul(b) },
    "matmul_batched": binary { a, b in try a.matmul(b) },
    "matmul_broadcast": binary { a, b in try a.matmul(b) },
    // views
    "t": unary { a in try a.t() },
    "transpose": unary { a in try a.transpose(0, 2) },
    "permute": unary { a in try a.permute(2, 0, 1) },
    "view": unary { a in try (2 * a).view(2, 2) },
    "reshape": unary { a in try a.reshape(3, 4) },
    "flatten": unary { a in try a.flatten(startDim: 1) },
    "unsqueeze": unary { a in try a.unsqueeze(0) },
    "squeeze": unary { a in try a.squeeze(1) },
    "expand": unary { a in try a.expand(3, 4) },

    "index_select_row": unary { a in a[1] },
    "slice": unary { a in a[1..<4, .slice(step: 2)] },
    "cat": binary { a, b in try Tensor.cat([a, b], dim: 0) },
    "stack": binary { a, b in try Tensor.stack([a, b], dim: 1) },
    "mse_loss": binary { a, b in try mseLoss(a, b) },
    "mse_loss_sum": binary { a, b in try mseLoss(a, b, reduction: .sum) },
]

/// The unary ops of graph programs (`[OP, i]`).
public let conformanceGraphUnaryOps: [String: @Sendable (Tensor) throws -> Tensor] = [
    "tanh": { a in a.tanh() },
    "sigmoid": { a in a.sigmoid() },
    "relu": { a in a.relu() },
    "exp_small": { a in (0.1 * a).exp() },
    "sq": { a in try a.mul(a) },
    "neg": { a in -a },
    "scale": { a in 0.5 * a + 1 },
]

/// The binary ops of graph programs (`[OP, i, j]`).
public let conformanceGraphBinaryOps: [String: @Sendable (Tensor, Tensor) throws -> Tensor] = [
    "add": { a, b in try a.add(b) },
    "sub": { a, b in try a.sub(b) },
    "mul": { a, b in try a.mul(b) },
    "div_safe": { a, b in try a.div(try b.mul(b) + 1) },
]
