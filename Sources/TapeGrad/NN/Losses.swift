// Loss functions.

/// How a loss combines its elementwise terms (PyTorch's `reduction`).
public enum Reduction: Sendable {
    /// The mean of the terms.
    case mean
    /// The sum of the terms.
    case sum
    /// The terms themselves, one per element.
    case none
}

/// The mean squared error between `input` and `target` (`torch.nn.functional.mse_loss`).
/// Warns, as PyTorch does, when their sizes differ (they are then broadcast).
public func mseLoss(_ input: Tensor, _ target: Tensor, reduction: Reduction = .mean) throws(TapeGradError) -> Tensor {
    let inputShape = input.info.shape, targetShape = target.info.shape
    if inputShape != targetShape {
        Warnings.warn("Using a target size (\(targetShape.torchSize)) that is different to the input size (\(inputShape.torchSize)). This will likely lead to incorrect results due to broadcasting. Please ensure they have the same size.")
    }
    let loss = try noGrad { () throws(TapeGradError) -> Tensor in
        let difference = try input.sub(target)
        let squared = difference * difference
        switch reduction {
        case .mean: return squared.mean()
        case .sum: return squared.sum()
        case .none: return squared
        }
    }
    var record = Record(.mseLoss, result: loss, a: input, b: target)
    record.i0 = reduction == .mean ? 0 : (reduction == .sum ? 1 : 2)
    return engine.pointee.recordIfNeeded(record)
}

/// The mean squared error as a module (`torch.nn.MSELoss`): `MSELoss()(output, target)`.
public struct MSELoss: Sendable {
    /// How the squared errors are combined.
    public var reduction: Reduction

    /// A loss with the given reduction (default: mean).
    public init(reduction: Reduction = .mean) {
        self.reduction = reduction
    }

    /// The loss of `input` against `target`.
    public func callAsFunction(_ input: Tensor, _ target: Tensor) throws(TapeGradError) -> Tensor {
        try mseLoss(input, target, reduction: reduction)
    }
}

enum LossBackward {
    /// d/dinput of (input - target)² is 2 (input - target), scaled by 1/n for the mean.
    static func mse(_ r: Record, _ g: Tensor) -> Gradients {
        let difference = r.a - r.b
        var scale = 2.0
        if r.i0 == 0 { scale /= Double(difference.info.shape.product) }
        let grad = difference * g * scale
        return Gradients(a: r.needsA ? grad.sumTo(shapeOf: r.a) : .null,
                         b: r.needsB ? (-grad).sumTo(shapeOf: r.b) : .null)
    }
}
