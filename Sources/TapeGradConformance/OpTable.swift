// Every op of the reference README, spelled with TapeGrad's API. An op missing here reports
// "unknown op" for its cases; OpsReferenceTests lists the ops allowed to be missing (none now).
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

private func ternary(_ body: @escaping @Sendable (Tensor, Tensor, Tensor) throws -> Tensor) -> ConformanceOp {
    { inputs, _ in
        guard inputs.count >= 3 else { throw ConformanceInputError(description: "expects 3 inputs, got \(inputs.count)") }
        return try body(inputs[0], inputs[1], inputs[2])
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
    "max_all": unary { a in try a.max() },
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
    // neural-network ops
    "softmax": unary { a in try a.softmax(dim: 1) },
    "log_softmax": unary { a in try a.logSoftmax(dim: 1) },
    "cross_entropy": { inputs, kwargs in
        guard inputs.count >= 1 else { throw ConformanceInputError(description: "expects 1 input, got 0") }
        guard let target = kwargs["target"]?.intArray else { throw ConformanceInputError(description: "kwargs has no integer list \"target\"") }
        return try crossEntropy(inputs[0], target)
    },
    "linear": ternary { a, b, c in try linear(a, weight: b, bias: c) },
    "conv2d": ternary { a, b, c in try conv2d(a, weight: b, bias: c, stride: 1, padding: 1) },
    "conv2d_stride2": binary { a, b in try conv2d(a, weight: b, stride: 2, padding: 1) },
    "conv2d_1x1_stride2": binary { a, b in try conv2d(a, weight: b, stride: 2) },
    "max_pool2d": unary { a in try maxPool2d(a, kernelSize: 3, stride: 2, padding: 1) },
    "avg_pool2d": unary { a in try avgPool2d(a, kernelSize: 2) },
    "adaptive_avg_pool2d_1": unary { a in try adaptiveAvgPool2d(a, outputSize: 1) },
    "batch_norm_train": ternary { a, b, c in
        try batchNorm(a, runningMean: nil, runningVar: nil, weight: b, bias: c, training: true, eps: 1e-5)
    },
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
