// Every op of the reference README, spelled with TapeGrad's API. An op missing here reports
// "unknown op" for its cases; OpsReferenceTests lists the ops allowed to be missing (none now).
// The differential reference (scripts/make-differential-reference.py) gives some ops kwargs
// (dim, keepdim, dims, shape, index, slices, start_dim/end_dim, exponent); absent, they are
// the fixed arguments of ops-reference.json. Every entry uses TapeGrad's throwing spellings, so
// a bad input is an error, never a trap.
import TapeGrad

/// One op of the reference: its inputs in order and the case's kwargs give its output.
public typealias ConformanceOp = @Sendable ([Tensor], ConformanceKwargs) throws -> Tensor

/// A case gave an op fewer inputs than it takes, or kwargs it cannot use.
public struct ConformanceInputError: Error, CustomStringConvertible {
    public var description: String
}

private func unary(_ body: @escaping @Sendable (Tensor) throws -> Tensor) -> ConformanceOp {
    unaryKw { a, _ in try body(a) }
}

private func binary(_ body: @escaping @Sendable (Tensor, Tensor) throws -> Tensor) -> ConformanceOp {
    binaryKw { a, b, _ in try body(a, b) }
}

private func unaryKw(_ body: @escaping @Sendable (Tensor, ConformanceKwargs) throws -> Tensor) -> ConformanceOp {
    { inputs, kwargs in
        guard inputs.count >= 1 else { throw ConformanceInputError(description: "expects 1 input, got \(inputs.count)") }
        return try body(inputs[0], kwargs)
    }
}

private func binaryKw(_ body: @escaping @Sendable (Tensor, Tensor, ConformanceKwargs) throws -> Tensor) -> ConformanceOp {
    { inputs, kwargs in
        guard inputs.count >= 2 else { throw ConformanceInputError(description: "expects 2 inputs, got \(inputs.count)") }
        return try body(inputs[0], inputs[1], kwargs)
    }
}

/// The kwargs of an op, with the defaults of ops-reference.json's fixed arguments.
extension ConformanceKwargs {
    func int(_ key: String, _ fallback: Int) throws -> Int {
        guard let value = self[key] else { return fallback }
        guard let i = value.intValue else { throw ConformanceInputError(description: "kwargs \"\(key)\" is not an integer") }
        return i
    }

    func ints(_ key: String, _ fallback: [Int]) throws -> [Int] {
        guard let value = self[key] else { return fallback }
        guard let list = value.intArray else { throw ConformanceInputError(description: "kwargs \"\(key)\" is not a list of integers") }
        return list
    }

    func bool(_ key: String, _ fallback: Bool) throws -> Bool {
        guard let value = self[key] else { return fallback }
        guard case .bool(let b) = value else { throw ConformanceInputError(description: "kwargs \"\(key)\" is not a boolean") }
        return b
    }

    /// A pair of sizes from a list of two integers (or one, for both).
    func size2(_ key: String, _ fallback: Size2D) throws -> Size2D {
        guard self[key] != nil else { return fallback }
        let list = try ints(key, [])
        guard list.count == 1 || list.count == 2 else { throw ConformanceInputError(description: "kwargs \"\(key)\" is not one or two integers") }
        return list.count == 1 ? Size2D(list[0]) : Size2D(list[0], list[1])
    }

    /// A number; "Infinity", "-Infinity" and "NaN" spell the non-finite ones.
    func double(_ key: String) throws -> Double {
        switch self[key] {
        case .number(let x)?: return x
        case .string("Infinity")?: return .infinity
        case .string("-Infinity")?: return -.infinity
        case .string("NaN")?: return .nan
        default: throw ConformanceInputError(description: "kwargs has no number \"\(key)\"")
        }
    }

    /// Python slices, one `[start, end, step]` (each may be null) per leading dimension.
    func slices(_ key: String, _ fallback: [TensorIndex]) throws -> [TensorIndex] {
        guard let value = self[key] else { return fallback }
        guard case .array(let items) = value else { throw ConformanceInputError(description: "kwargs \"\(key)\" is not a list") }
        return try items.map { item in
            guard case .array(let parts) = item, parts.count == 3 else {
                throw ConformanceInputError(description: "kwargs \"\(key)\": a slice is [start, end, step]")
            }
            func part(_ p: ConformanceValue) throws -> Int? {
                if p == .null { return nil }
                guard let i = p.intValue else { throw ConformanceInputError(description: "kwargs \"\(key)\": \(p) is not an integer") }
                return i
            }
            return .slice(try part(parts[0]), try part(parts[1]), step: try part(parts[2]) ?? 1)
        }
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
    "floor_divide": binary { a, b in try a.floorDivide(b) },
    "floor_divide_scalar": unary { a in try a.floorDivide(2) },
    "remainder": binary { a, b in try a.remainder(b) },
    "remainder_scalar": unary { a in try a.remainder(1.5) },
    "maximum": binary { a, b in try a.maximum(b) },
    "minimum": binary { a, b in try a.minimum(b) },
    "bitwise_and": binary { a, b in try a.bitwiseAnd(b) },
    "bitwise_or": binary { a, b in try a.bitwiseOr(b) },
    "bitwise_xor": binary { a, b in try a.bitwiseXor(b) },
    "bitwise_not": unary { a in try a.bitwiseNot() },
    "left_shift": binary { a, b in try a.leftShift(b) },
    "right_shift": binary { a, b in try a.rightShift(b) },
    "and_scalar": unary { a in try a.bitwiseAnd(6) },
    "div_broadcast": binary { a, b in try a.div(b) },
    // scalars
    "add_scalar": unary { a in a.add(2) },
    "mul_scalar": unary { a in a.mul(3) },
    "rsub_scalar": unary { a in try a.rsub(1) },
    "rdiv_scalar": unary { a in 2 / a },
    "neg": unary { a in try a.neg() },
    // powers
    "pow2": unary { a in a.pow(2) },
    "pow3": unary { a in a.pow(3) },
    "pow_half": unary { a in a.pow(0.5) },
    "pow_tensor": binary { a, b in try a.pow(b) },
    "pow_scalar": unaryKw { a, kw in a.pow(try kw.double("exponent")) },
    // elementwise functions
    "sqrt": unary { a in a.sqrt() },
    "exp": unary { a in a.exp() },
    "log": unary { a in a.log() },
    "tanh": unary { a in a.tanh() },
    "sigmoid": unary { a in a.sigmoid() },
    "erf": unary { a in a.erf() },
    "gelu": unary { a in try gelu(a) },
    "gelu_tanh": unary { a in try gelu(a, approximate: "tanh") },
    "silu": unary { a in try silu(a) },
    "softplus": unary { a in try softplus(a) },
    "softplus_beta": unary { a in try softplus(a, beta: 2, threshold: 1) },
    "relu": unary { a in try a.relu() },
    "abs": unary { a in try a.abs() },
    "sin": unary { a in a.sin() },
    "cos": unary { a in a.cos() },
    "clamp_min": unary { a in a.clamp(min: 0) },
    "clamp_both": unary { a in a.clamp(min: -0.5, max: 0.5) },
    // reductions
    "sum_all": unary { a in a.sum() },
    "sum_dim0": unaryKw { a, kw in try a.sum(dim: try kw.int("dim", 0), keepDim: try kw.bool("keepdim", false)) },
    "sum_dim1_keepdim": unaryKw { a, kw in try a.sum(dim: try kw.int("dim", 1), keepDim: try kw.bool("keepdim", true)) },
    "mean_all": unary { a in try a.mean() },
    "mean_dim": unaryKw { a, kw in try a.mean(dim: try kw.int("dim", 1), keepDim: try kw.bool("keepdim", false)) },
    "max_all": unary { a in try a.max() },
    "amax_dim": unaryKw { a, kw in try a.amax(dim: try kw.int("dim", 1), keepDim: try kw.bool("keepdim", false)) },
    "amax_dims": unaryKw { a, kw in try a.amax(dims: try kw.ints("dims", [1]), keepDim: try kw.bool("keepdim", false)) },
    "max_dim": unaryKw { a, kw in try a.max(dim: try kw.int("dim", 1), keepDim: try kw.bool("keepdim", false)).values },
    // matrix products
    "mm": binary { a, b in try a.mm(b) },
    "matmul_vec": binary { a, b in try a.matmul(b) },
    "matmul_batched": binary { a, b in try a.matmul(b) },
    "matmul_broadcast": binary { a, b in try a.matmul(b) },
    // views
    "t": unary { a in try a.t() },
    "transpose": unaryKw { a, kw in
        let dims = try kw.ints("dims", [0, 2])
        guard dims.count == 2 else { throw ConformanceInputError(description: "transpose takes 2 dims, got \(dims)") }
        return try a.transpose(dims[0], dims[1])
    },
    "permute": unaryKw { a, kw in try a.permute(try kw.ints("dims", [2, 0, 1])) },
    "view": unaryKw { a, kw in try (2 * a).view(try kw.ints("shape", [2, 2])) },
    "reshape": unaryKw { a, kw in try a.reshape(try kw.ints("shape", [3, 4])) },
    "flatten": unaryKw { a, kw in try a.flatten(startDim: try kw.int("start_dim", 1), endDim: try kw.int("end_dim", -1)) },
    "unsqueeze": unaryKw { a, kw in try a.unsqueeze(try kw.int("dim", 0)) },
    "squeeze": unaryKw { a, kw in try a.squeeze(try kw.int("dim", 1)) },
    "expand": unaryKw { a, kw in try a.expand(try kw.ints("shape", [3, 4])) },

    "index_select_row": unaryKw { a, kw in try a.index([try kw.int("index", 1)]) },
    "slice": unaryKw { a, kw in try a.index(try kw.slices("slices", [.slice(1, 4), .slice(step: 2)])) },
    "cat": binaryKw { a, b, kw in try Tensor.cat([a, b], dim: try kw.int("dim", 0)) },
    "stack": binaryKw { a, b, kw in try Tensor.stack([a, b], dim: try kw.int("dim", 1)) },
    "mse_loss": binary { a, b in try mseLoss(a, b) },
    "mse_loss_sum": binary { a, b in try mseLoss(a, b, reduction: .sum) },
    // neural-network ops
    "softmax": unaryKw { a, kw in try a.softmax(dim: try kw.int("dim", 1)) },
    "log_softmax": unaryKw { a, kw in try a.logSoftmax(dim: try kw.int("dim", 1)) },
    "cross_entropy": { inputs, kwargs in
        guard inputs.count >= 1 else { throw ConformanceInputError(description: "expects 1 input, got 0") }
        guard let target = kwargs["target"]?.intArray else { throw ConformanceInputError(description: "kwargs has no integer list \"target\"") }
        return try crossEntropy(inputs[0], target)
    },
    "cross_entropy_spatial": binary { a, t in try crossEntropy(a, t) },
    "cross_entropy_spatial_none": binary { a, t in try crossEntropy(a, t, reduction: .none) },
    "cross_entropy_tensor": binary { a, t in try crossEntropy(a, t) },
    "nll_loss_tensor": binary { a, t in try nllLoss(try a.logSoftmax(dim: -1), t, reduction: .sum) },
    "linear": ternary { a, b, c in try linear(a, weight: b, bias: c) },
    "linear_bias_broadcast": ternary { a, b, c in try linear(a, weight: b, bias: c) },
    "conv2d_kw": { inputs, kw in
        guard inputs.count >= 3 else { throw ConformanceInputError(description: "expects 3 inputs, got \(inputs.count)") }
        return try conv2d(inputs[0], weight: inputs[1], bias: inputs[2], stride: try kw.size2("stride", 1), padding: try kw.size2("padding", 0),
                          dilation: try kw.size2("dilation", 1), groups: try kw.int("groups", 1))
    },
    "max_pool2d_kw": unaryKw { a, kw in
        try maxPool2d(a, kernelSize: try kw.size2("kernel", 2), stride: try kw.size2("stride", 2), padding: try kw.size2("padding", 0))
    },
    "avg_pool2d_kw": unaryKw { a, kw in
        try avgPool2d(a, kernelSize: try kw.size2("kernel", 2), stride: try kw.size2("stride", 2), padding: try kw.size2("padding", 0),
                      countIncludePad: try kw.bool("count_include_pad", true))
    },
    "adaptive_avg_pool2d_kw": unaryKw { a, kw in try adaptiveAvgPool2d(a, outputSize: try kw.size2("output_size", 1)) },
    "conv2d": ternary { a, b, c in try conv2d(a, weight: b, bias: c, stride: 1, padding: 1) },
    "conv2d_stride2": binary { a, b in try conv2d(a, weight: b, stride: 2, padding: 1) },
    "conv2d_1x1_stride2": binary { a, b in try conv2d(a, weight: b, stride: 2) },
    "max_pool2d": unary { a in try maxPool2d(a, kernelSize: 3, stride: 2, padding: 1) },
    "avg_pool2d": unary { a in try avgPool2d(a, kernelSize: 2) },
    "adaptive_avg_pool2d_1": unary { a in try adaptiveAvgPool2d(a, outputSize: 1) },
    "batch_norm_eval": { inputs, _ in
        guard inputs.count >= 5 else { throw ConformanceInputError(description: "expects 5 inputs, got \(inputs.count)") }
        return try batchNorm(inputs[0], runningMean: inputs[3], runningVar: inputs[4], weight: inputs[1], bias: inputs[2], training: false, eps: 1e-5)
    },
    "cross_entropy_kw": { inputs, kwargs in
        guard inputs.count >= 1 else { throw ConformanceInputError(description: "expects 1 input, got 0") }
        guard let target = kwargs["target"]?.intArray else { throw ConformanceInputError(description: "kwargs has no integer list \"target\"") }
        return try crossEntropy(inputs[0], target, ignoreIndex: try kwargs.int("ignore_index", -100))
    },
    "linear_nobias": binary { a, b in try linear(a, weight: b) },
    "embedding": binary { w, ids in try embedding(ids, weight: w) },
    "embedding_padding": binaryKw { w, ids, kw in try embedding(ids, weight: w, paddingIdx: try kw.int("padding_idx", 0)) },
    "sdpa": ternary { q, k, v in try scaledDotProductAttention(q, k, v) },
    "sdpa_causal": ternary { q, k, v in try scaledDotProductAttention(q, k, v, isCausal: true) },
    "sdpa_scale": { inputs, kwargs in
        guard inputs.count >= 3 else { throw ConformanceInputError(description: "expects 3 inputs, got \(inputs.count)") }
        return try scaledDotProductAttention(inputs[0], inputs[1], inputs[2], scale: try kwargs.double("scale"))
    },
    "sdpa_mask": { inputs, _ in
        guard inputs.count >= 4 else { throw ConformanceInputError(description: "expects 4 inputs, got \(inputs.count)") }
        return try scaledDotProductAttention(inputs[0], inputs[1], inputs[2], attnMask: inputs[3])
    },
    "sdpa_float_mask": { inputs, _ in
        guard inputs.count >= 4 else { throw ConformanceInputError(description: "expects 4 inputs, got \(inputs.count)") }
        return try scaledDotProductAttention(inputs[0], inputs[1], inputs[2], attnMask: inputs[3])
    },
    "sdpa_mask_grad": { inputs, _ in
        guard inputs.count >= 4 else { throw ConformanceInputError(description: "expects 4 inputs, got \(inputs.count)") }
        return try scaledDotProductAttention(inputs[0], inputs[1], inputs[2], attnMask: inputs[3])
    },
    "sdpa_gqa": ternary { q, k, v in try scaledDotProductAttention(q, k, v, enableGQA: true) },
    "layer_norm": ternary { x, w, b in try layerNorm(x, normalizedShape: w.shape, weight: w, bias: b) },
    "rms_norm": ternary { x, w, _ in try rmsNorm(x, normalizedShape: w.shape, weight: w) },
    "rms_norm_plain": unaryKw { x, kw in try rmsNorm(x, normalizedShape: try kw.ints("normalized_shape", []), eps: 1e-5) },
    "rsqrt": unary { a in a.rsqrt() },
    "layer_norm_plain": unaryKw { x, kw in try layerNorm(x, normalizedShape: try kw.ints("normalized_shape", [])) },
    "batch_norm_train": ternary { a, b, c in
        try batchNorm(a, runningMean: nil, runningVar: nil, weight: b, bias: c, training: true, eps: 1e-5)
    },
    // selection with boolean masks (the differential reference's ops)
    // in-place ops, on a copy of the first input
    "add_inplace": binary { a, b in try a.clone().add_(b) },
    "sub_inplace": binary { a, b in try a.clone().sub_(b) },
    "mul_inplace": binary { a, b in try a.clone().mul_(b) },
    "div_inplace": binary { a, b in try a.clone().div_(b) },
    "add_inplace_alpha": binary { a, b in try a.clone().add_(b, alpha: 2) },
    "copy_inplace": binary { a, b in try a.clone().copy_(b) },
    "mul_scalar_inplace": unary { a in try a.clone().mul_(2.5) },
    "clamp_inplace": unary { a in try a.clone().clamp_(min: -0.5, max: 0.5) },
    "masked_fill_inplace": binary { a, m in try a.clone().maskedFill_(m, -.infinity) },
    "masked_fill_tensor_inplace": ternary { a, m, v in try a.clone().maskedFill_(m, v) },
    "setitem_row": binaryKw { a, b, kw in
        let x = a.clone()
        try x.setItem(try kw.int("index", 0), to: b)
        return x
    },
    "sum_dims": unaryKw { a, kw in try a.sum(dims: try kw.ints("dims", [1]), keepDim: try kw.bool("keepdim", false)) },
    "mean_dims": unaryKw { a, kw in try a.mean(dims: try kw.ints("dims", [1]), keepDim: try kw.bool("keepdim", false)) },
    "norm": unary { a in try a.norm() },
    "vector_norm": unaryKw { a, kw in try a.vectorNorm(order: try kw.double("ord"), dims: try kw.ints("dims", []), keepDim: try kw.bool("keepdim", false)) },
    "vector_norm_1": unaryKw { a, kw in try a.vectorNorm(order: try kw.double("ord"), dims: try kw.ints("dims", []), keepDim: try kw.bool("keepdim", false)) },
    "vector_norm_3": unaryKw { a, kw in try a.vectorNorm(order: try kw.double("ord"), dims: try kw.ints("dims", []), keepDim: try kw.bool("keepdim", false)) },
    "vector_norm_half": unaryKw { a, kw in try a.vectorNorm(order: try kw.double("ord"), dims: try kw.ints("dims", []), keepDim: try kw.bool("keepdim", false)) },
    "vector_norm_0": unaryKw { a, kw in try a.vectorNorm(order: try kw.double("ord"), dims: try kw.ints("dims", []), keepDim: try kw.bool("keepdim", false)) },
    "vector_norm_inf": unaryKw { a, kw in try a.vectorNorm(order: try kw.double("ord"), dims: try kw.ints("dims", []), keepDim: try kw.bool("keepdim", false)) },
    "vector_norm_ninf": unaryKw { a, kw in try a.vectorNorm(order: try kw.double("ord"), dims: try kw.ints("dims", []), keepDim: try kw.bool("keepdim", false)) },
    "var": unary { a in try a.var() },
    "var_dims": unaryKw { a, kw in try a.var(dims: try kw.ints("dims", [1]), correction: 0, keepDim: try kw.bool("keepdim", false)) },
    "std_dim": unaryKw { a, kw in try a.std(dim: try kw.int("dim", 0), keepDim: try kw.bool("keepdim", false)) },
    "logsumexp_dims": unaryKw { a, kw in try a.logsumexp(dims: try kw.ints("dims", [1]), keepDim: try kw.bool("keepdim", false)) },
    "where": ternary { c, a, b in try Tensor.where(c, a, b) },
    "clamp_tensor_min": binary { a, b in try a.clamp(min: b) },
    "clamp_tensor_max": binary { a, b in try a.clamp(max: b) },
    "clamp_tensors": ternary { a, lo, hi in try a.clamp(min: lo, max: hi) },
    "masked_fill_neginf": binary { a, m in try a.maskedFill(m, -.infinity) },
    "masked_select": binary { a, m in try a.maskedSelect(m) },
    "mask_index": binary { a, m in try a.index(m) },
    "index_select": binaryKw { a, i, kw in try a.indexSelect(dim: try kw.int("dim", 0), i) },
    "index_add": { inputs, kw in try inputs[0].indexAdd(dim: try kw.int("dim", 0), inputs[1], inputs[2]) },
    "index_add_inplace": { inputs, kw in try inputs[0].clone().indexAdd_(dim: try kw.int("dim", 0), inputs[1], inputs[2]) },
    "int_index": binary { a, i in try a.index(i) },
    "clamp_at_kinks": unary { a in a.clamp(min: -0.5, max: 0.5) },
    "clamp_min_at_kinks": unary { a in a.clamp(min: 0.0) },
    "relu_at_kinks": unary { a in try a.relu() },
    "abs_at_kinks": unary { a in try a.abs() },
    "index_put": ternary { a, i, v in try a.indexPut(indices: i, v) },
    "index_put_accumulate": ternary { a, i, v in try a.indexPut(indices: i, v, accumulate: true) },
    "subscript_tensor": binary { a, i in try a.index([TensorIndex.all, i]) },
    "subscript_tensor_select": binary { a, i in try a.index([0, i]) },
    "subscript_ellipsis": unary { a in try a.index([TensorIndex.ellipsis, 0]) },
    "subscript_newaxis": unary { a in try a.index([TensorIndex.all, TensorIndex.newAxis, TensorIndex.ellipsis, TensorIndex.newAxis]) },
    "subscript_list": unary { a in try a.index([[0, -1, 0]]) },
    "sort": unaryKw { a, kw in try a.sort(dim: try kw.int("dim", -1), descending: try kw.bool("descending", false)).values },
    "argsort": unaryKw { a, kw in try a.argsort(dim: try kw.int("dim", -1), descending: try kw.bool("descending", false)) },
    "topk": unaryKw { a, kw in try a.topk(try kw.int("k", 1), dim: try kw.int("dim", -1), largest: try kw.bool("largest", true)).values },
    "topk_indices": unaryKw { a, kw in try a.topk(try kw.int("k", 1), dim: try kw.int("dim", -1), largest: try kw.bool("largest", true)).indices },
    "gather": binaryKw { a, i, kw in try a.gather(dim: try kw.int("dim", 0), i) },
    "take_along_dim": binaryKw { a, i, kw in try a.takeAlongDim(i, dim: try kw.int("dim", 0)) },
    "scatter_add": { x, kw in try x[0].scatterAdd(dim: try kw.int("dim", 0), x[1], x[2]) },
    "scatter": { x, kw in try x[0].scatter(dim: try kw.int("dim", 0), x[1], x[2]) },
    "scatter_value": { x, kw in try x[0].scatter(dim: try kw.int("dim", 0), x[1], 2.5) },
    "scatter_add_inplace": { x, kw in try x[0].clone().scatterAdd_(dim: try kw.int("dim", 0), x[1], x[2]) },
    "tril": unaryKw { a, kw in try a.tril(try kw.int("diagonal", 0)) },
    "triu": unaryKw { a, kw in try a.triu(try kw.int("diagonal", 0)) },
]

/// The unary ops of graph programs (`[OP, i]`).
public let conformanceGraphUnaryOps: [String: @Sendable (Tensor) throws -> Tensor] = [
    "tanh": { a in a.tanh() },
    "sigmoid": { a in a.sigmoid() },
    "relu": { a in try a.relu() },
    "exp_small": { a in (0.1 * a).exp() },
    "sq": { a in try a.mul(a) },
    "neg": { a in try a.neg() },
    "scale": { a in 0.5 * a + 1 },
]

/// The binary ops of graph programs (`[OP, i, j]`).
public let conformanceGraphBinaryOps: [String: @Sendable (Tensor, Tensor) throws -> Tensor] = [
    "add": { a, b in try a.add(b) },
    "sub": { a, b in try a.sub(b) },
    "mul": { a, b in try a.mul(b) },
    "div_safe": { a, b in try a.div(try b.mul(b) + 1) },
]
