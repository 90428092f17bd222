import RealModule
import Synchronization

// Learning-rate schedulers (`torch.optim.lr_scheduler`): each sets the learning rate of each of
// its optimizer's parameter groups from the rate the group had when the optimizer's first
// scheduler was made (`base_lrs`) and the count of `step()` calls (`last_epoch`), in the
// closed forms of PyTorch's documentation. As in PyTorch, making a scheduler sets the epoch-0
// rates, and `step()` goes after `optimizer.step()`.

/// Each optimizer's group rates before its first scheduler (`param_groups[g]["initial_lr"]`).
private let initialRates = Mutex<[ObjectIdentifier: InitialRate]>([:])

private struct InitialRate: @unchecked Sendable {
    weak var optimizer: (any Optimizer)?
    var rates: [Double]
}

/// A learning-rate schedule over an optimizer (`torch.optim.lr_scheduler.LRScheduler`).
/// Subclasses give the rate at an epoch from a group's base rate; `step()` advances and
/// applies it to every group.
public class LRScheduler {
    /// The optimizer whose rates are set.
    public let optimizer: any Optimizer
    /// Each group's rate when the optimizer's first schedule started (`base_lrs`).
    public let baseLRs: [Double]
    /// `step()` calls so far (`last_epoch`; 0 after construction).
    public private(set) var lastEpoch = 0

    init(_ optimizer: any Optimizer, baseLRs: [Double]? = nil) {
        self.optimizer = optimizer
        // PyTorch's `initial_lr`: the rates before the optimizer's first scheduler changed
        // them, the bases of every later scheduler of the same optimizer (warmup, then cosine).
        self.baseLRs = baseLRs ?? initialRates.withLock { rates in
            let key = ObjectIdentifier(optimizer)
            let current = (0..<optimizer.parameterGroupCount).map { optimizer.learningRate(ofGroup: $0) }
            // (A freed optimizer's address may come back: its entry is kept only while it lives.)
            if let entry = rates[key], entry.optimizer === optimizer, entry.rates.count == current.count { return entry.rates }
            rates = rates.filter { $0.value.optimizer != nil }   // entries of freed optimizers go
            rates[key] = InitialRate(optimizer: optimizer, rates: current)
            return current
        }
    }

    /// The first group's base rate (`base_lrs[0]`).
    public var baseLR: Double { baseLRs[0] }

    /// The rate at `epoch` of a group whose base rate is `base` (each subclass's formula).
    public func lr(atEpoch epoch: Int, base: Double) -> Double { base }

    /// The first group's rate at `epoch`.
    public func lr(atEpoch epoch: Int) -> Double { lr(atEpoch: epoch, base: baseLRs[0]) }

    /// The first group's rate last set (`get_last_lr()[0]`).
    public var lastLR: Double { lr(atEpoch: lastEpoch) }

    /// Every group's rate last set (`get_last_lr()`).
    public var lastLRs: [Double] { baseLRs.map { lr(atEpoch: lastEpoch, base: $0) } }

    /// Advances one epoch (or step) and sets every group's rate (`scheduler.step()`).
    public func step() {
        lastEpoch += 1
        apply()
    }

    /// Sets the rates of epoch 0, as a PyTorch scheduler's constructor does.
    func start() { apply() }

    private func apply() {
        for g in 0..<baseLRs.count { optimizer.setLearningRate(lr(atEpoch: lastEpoch, base: baseLRs[g]), ofGroup: g) }
    }
}

/// `base · λ(epoch)` (`LambdaLR`).
public final class LambdaLR: LRScheduler {
    /// The factor of each epoch.
    public let lrLambda: (Int) -> Double

    /// A schedule of `lrLambda(epoch)` times the optimizer's rate.
    public init(_ optimizer: any Optimizer, lrLambda: @escaping (Int) -> Double) {
        self.lrLambda = lrLambda
        super.init(optimizer)
        start()
    }

    public override func lr(atEpoch epoch: Int, base: Double) -> Double { base * lrLambda(epoch) }
}

/// `base · γ^⌊epoch / stepSize⌋` (`StepLR`).
public final class StepLR: LRScheduler {
    /// Epochs between decays.
    public let stepSize: Int
    /// The decay factor.
    public let gamma: Double

    /// Decays by `gamma` every `stepSize` epochs.
    public init(_ optimizer: any Optimizer, stepSize: Int, gamma: Double = 0.1) throws(TapeGradError) {
        guard stepSize > 0 else { throw TapeGradError(.valueError, "StepLR: step_size must be positive, got \(stepSize)") }
        self.stepSize = stepSize
        self.gamma = gamma
        super.init(optimizer)
        start()
    }

    public override func lr(atEpoch epoch: Int, base: Double) -> Double { base * Double.pow(gamma, Double(epoch / stepSize)) }
}

/// `ηmin + (base − ηmin)·(1 + cos(π·epoch/tMax))/2` (`CosineAnnealingLR`, without restarts:
/// past `tMax` the cosine goes on, as PyTorch's).
public final class CosineAnnealingLR: LRScheduler {
    /// Epochs of the half cosine.
    public let tMax: Int
    /// The smallest rate.
    public let etaMin: Double

    /// Anneals from the optimizer's rate to `etaMin` over `tMax` epochs.
    public init(_ optimizer: any Optimizer, tMax: Int, etaMin: Double = 0) throws(TapeGradError) {
        guard tMax > 0 else { throw TapeGradError(.valueError, "CosineAnnealingLR: T_max must be positive, got \(tMax)") }
        self.tMax = tMax
        self.etaMin = etaMin
        super.init(optimizer)
        start()
    }

    public override func lr(atEpoch epoch: Int, base: Double) -> Double {
        etaMin + (base - etaMin) * (1 + Double.cos(Double.pi * Double(epoch) / Double(tMax))) / 2
    }
}

/// `base · (start + (end − start)·min(epoch, totalIters)/totalIters)` (`LinearLR`: warmup
/// with the defaults 1/3, 1, 5).
public final class LinearLR: LRScheduler {
    /// The factor at epoch 0.
    public let startFactor: Double
    /// The factor from `totalIters` on.
    public let endFactor: Double
    /// Epochs of the ramp.
    public let totalIters: Int

    /// A linear ramp of the factor; PyTorch's errors for factors out of range.
    public init(_ optimizer: any Optimizer, startFactor: Double = 1.0 / 3, endFactor: Double = 1, totalIters: Int = 5) throws(TapeGradError) {
        guard startFactor > 0 && startFactor <= 1 else {
            throw TapeGradError(.valueError, "Starting multiplicative factor expected to be greater than 0 and less or equal to 1.")
        }
        guard endFactor >= 0 && endFactor <= 1 else {
            throw TapeGradError(.valueError, "Ending multiplicative factor expected to be between 0 and 1.")
        }
        self.startFactor = startFactor
        self.endFactor = endFactor
        self.totalIters = totalIters
        super.init(optimizer)
        start()
    }

    public override func lr(atEpoch epoch: Int, base: Double) -> Double {
        let progress = totalIters > 0 ? Double(Swift.min(epoch, totalIters)) / Double(totalIters) : 1
        return base * (startFactor + (endFactor - startFactor) * progress)
    }
}

/// Schedulers one after another (`SequentialLR`): `schedulers[i]` from `milestones[i − 1]` on,
/// each counting its epochs from its milestone; warmup then cosine is
/// `SequentialLR(opt, [LinearLR(…), CosineAnnealingLR(…)], milestones: [warmup])`.
public final class SequentialLR: LRScheduler {
    /// The schedules, in order.
    public let schedulers: [LRScheduler]
    /// The epochs at which each next schedule takes over.
    public let milestones: [Int]

    /// The schedules, switching at `milestones` (one fewer than the schedules); PyTorch's
    /// ValueErrors for mismatched lists or schedulers of another optimizer.
    public init(_ optimizer: any Optimizer, schedulers: [LRScheduler], milestones: [Int]) throws(TapeGradError) {
        guard !schedulers.isEmpty else { throw TapeGradError(.valueError, "SequentialLR expects at least one scheduler, but got no scheduler.") }
        for (i, s) in schedulers.enumerated() where s.optimizer !== optimizer {
            throw TapeGradError(.valueError, "SequentialLR expects all schedulers to belong to the same optimizer, but got scheduler \(type(of: s)) at index \(i) has \(s.optimizer), which is different from \(type(of: optimizer)).")
        }
        guard milestones.count == schedulers.count - 1 else {
            throw TapeGradError(.valueError, "Sequential Schedulers expects number of schedulers provided to be one more than the number of milestone points, but got number of schedulers \(schedulers.count) and the number of milestones to be equal to \(milestones.count)")
        }
        self.schedulers = schedulers
        self.milestones = milestones
        super.init(optimizer, baseLRs: schedulers[0].baseLRs)
        start()
    }

    public override func lr(atEpoch epoch: Int, base: Double) -> Double {
        var index = 0
        while index < milestones.count && epoch >= milestones[index] { index += 1 }
        return schedulers[index].lr(atEpoch: index == 0 ? epoch : epoch - milestones[index - 1], base: base)
    }
}
