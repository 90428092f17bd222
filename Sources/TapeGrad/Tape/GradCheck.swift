// Finite-difference checks of the backward sweep (`torch.autograd.gradcheck`).

/// Compares the gradients backward computes for `function` at `inputs` with central finite
/// differences, as `torch.autograd.gradcheck` does with its defaults. Inputs must be float64;
/// those that require grad are checked. Throws PyTorch's "Jacobian mismatch" error naming the
/// output and input when an entry differs by more than `atol + rtol * |numerical|`; returns
/// true otherwise.
@discardableResult
public func gradcheck(
    _ function: ([Tensor]) throws -> Tensor, inputs: [Tensor],
    eps: Double = 1e-6, atol: Double = 1e-5, rtol: Double = 1e-3
) throws -> Bool {
    for input in inputs where input.requiresGrad {
        guard input.dtype == .float64 else {
            throw TapeGradError(.runtimeError, "Gradcheck expects all tensor inputs are of type torch.float64 (got \(input.dtype)).")
        }
    }
    // Values of the inputs, perturbed one element at a time for the numerical Jacobian.
    let values = inputs.map { $0.scalars() }
    let shapes = inputs.map { $0.shape }
    func evaluate(_ values: [[Double]]) throws -> [Double] {
        try withStep {
            // Leaves like the inputs (requiring grad where they do), so that a function that
            // itself differentiates, as gradgradcheck's does, can run.
            let leaves = try zip(values, zip(shapes, inputs)).map { v, si in
                try Tensor(values: v, shape: si.0, dtype: si.1.dtype, requiresGrad: si.1.requiresGrad)
            }
            return try function(leaves).scalars()
        }
    }
    let output = try evaluate(values)

    for (i, input) in inputs.enumerated() where input.requiresGrad {
        // numerical[j][k]: d output k / d input element j.
        var numerical: [[Double]] = []
        for j in 0..<values[i].count {
            var plus = values, minus = values
            plus[i][j] += eps
            minus[i][j] -= eps
            let up = try evaluate(plus), down = try evaluate(minus)
            numerical.append(zip(up, down).map { ($0 - $1) / (2 * eps) })
        }
        // analytical[j][k], one backward per output element.
        var analytical = [[Double]](repeating: [Double](repeating: 0, count: output.count), count: values[i].count)
        for k in 0..<output.count {
            let column: [Double] = try withStep {
                let leaves = try zip(values, zip(shapes, inputs)).map { v, si in
                    try Tensor(values: v, shape: si.0, dtype: si.1.dtype, requiresGrad: si.1.requiresGrad)
                }
                let result = try function(leaves)
                guard result.requiresGrad else { return [Double](repeating: 0, count: values[i].count) }
                var oneHot = [Double](repeating: 0, count: output.count)
                oneHot[k] = 1
                try result.backward(gradient: try Tensor(values: oneHot, shape: result.shape, dtype: result.dtype))
                return leaves[i].grad?.scalars() ?? [Double](repeating: 0, count: values[i].count)
            }
            for j in 0..<column.count { analytical[j][k] = column[j] }
        }
        for j in 0..<numerical.count {
            for k in 0..<output.count where Swift.abs(analytical[j][k] - numerical[j][k]) > atol + rtol * Swift.abs(numerical[j][k]) {
                throw TapeGradError(.runtimeError, """
                    Jacobian mismatch for output 0 with respect to input \(i),
                    numerical:\(numerical.map { $0.map { "\($0)" }.joined(separator: " ") }.joined(separator: "\n"))
                    analytical:\(analytical.map { $0.map { "\($0)" }.joined(separator: " ") }.joined(separator: "\n"))
                    """)
            }
        }
    }
    return true
}

/// Checks second derivatives the way `torch.autograd.gradgradcheck` does: the gradient of
/// `function` (computed with `createGraph: true` against fixed random output gradients) must
/// itself pass ``gradcheck(_:inputs:eps:atol:rtol:)``.
@discardableResult
public func gradgradcheck(
    _ function: ([Tensor]) throws -> Tensor, inputs: [Tensor],
    eps: Double = 1e-6, atol: Double = 1e-5, rtol: Double = 1e-3
) throws -> Bool {
    let outputShape = try withStep { try noGrad { try function(inputs).shape } }
    var generator = RandomGenerator(seed: 0)
    let gradOutputs = Tensor.randn(outputShape, dtype: .float64, using: &generator)
    for (index, input) in inputs.enumerated() where input.requiresGrad {
        try gradcheck({ xs in
            let output = try function(xs)
            let g = try grad(of: output, withRespectTo: [xs[index]], gradOutputs: gradOutputs,
                             createGraph: true, allowUnused: true)[0]
            return g ?? xs[index].zerosLike()
        }, inputs: inputs, eps: eps, atol: atol, rtol: rtol)
    }
    return true
}
