import Testing
import TapeGrad

/// Learning-rate schedulers against PyTorch 2.15: the rate after construction and after each
/// of 10 `step()` calls, on `SGD(lr=0.1)` (recorded with `torch.optim.lr_scheduler`).
@Suite struct SchedulerTests {
    static func rates(_ make: (SGD) throws -> LRScheduler) throws -> [Double] {
        let optimizer = try SGD([Tensor.zeros([1], requiresGrad: true)], lr: 0.1)
        let scheduler = try make(optimizer)
        var rates = [optimizer.lr]
        for _ in 0..<10 {
            try optimizer.step()
            scheduler.step()
            rates.append(optimizer.lr)
        }
        #expect(scheduler.lastLR == optimizer.lr)
        return rates
    }

    static func expectClose(_ actual: [Double], _ expected: [Double]) {
        #expect(actual.count == expected.count)
        for (a, e) in zip(actual, expected) { #expect(Swift.abs(a - e) <= 1e-12 * Swift.max(1, Swift.abs(e)), "\(actual)") }
    }

    /// `SequentialLR(o, [LinearLR(o, start_factor=0.25, total_iters=3), CosineAnnealingLR(o, T_max=6, eta_min=0.01)], milestones=[3])`:
    /// warmup then cosine, the cosine based on the rate before the warmup.
    @Test func warmupThenCosine() throws {
        Self.expectClose(try Self.rates { o in
            try SequentialLR(o, schedulers: [try LinearLR(o, startFactor: 0.25, totalIters: 3), try CosineAnnealingLR(o, tMax: 6, etaMin: 0.01)], milestones: [3])
        }, [0.025, 0.05, 0.07500000000000001, 0.1, 0.09397114317029975, 0.07750000000000001, 0.055000000000000014,
            0.032500000000000015, 0.01602885682970026, 0.01, 0.01602885682970026])
    }

    @Test func stepLambdaCosineLinear() throws {
        Self.expectClose(try Self.rates { try StepLR($0, stepSize: 2, gamma: 0.5) },
                         [0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.0125, 0.0125, 0.00625, 0.00625, 0.003125])
        Self.expectClose(try Self.rates { LambdaLR($0) { e in (0..<e).reduce(1.0) { x, _ in x * 0.9 } } },
                         [0.1, 0.09000000000000001, 0.08100000000000002, 0.0729, 0.06561, 0.05904900000000001, 0.05314410000000001,
                          0.04782969000000001, 0.04304672100000001, 0.03874204890000001, 0.03486784401000001])
        // Past T_max the cosine goes on (no restart), as PyTorch's.
        Self.expectClose(try Self.rates { try CosineAnnealingLR($0, tMax: 4) },
                         [0.1, 0.08535533905932738, 0.05, 0.014644660940672627, 0.0, 0.014644660940672622, 0.05000000000000001,
                          0.0853553390593274, 0.10000000000000003, 0.0853553390593274, 0.05000000000000003])
        Self.expectClose(try Self.rates { try LinearLR($0) },
                         [0.03333333333333333, 0.04666666666666667, 0.060000000000000005, 0.07333333333333335, 0.08666666666666668,
                          0.1, 0.1, 0.1, 0.1, 0.1, 0.1])
    }

    @Test func pytorchErrors() throws {
        let optimizer = try SGD([Tensor.zeros([1], requiresGrad: true)], lr: 0.1)
        #expect(throws: TapeGradError(.valueError, "Starting multiplicative factor expected to be greater than 0 and less or equal to 1.")) {
            try LinearLR(optimizer, startFactor: 0)
        }
        #expect(throws: TapeGradError(.valueError, "Sequential Schedulers expects number of schedulers provided to be one more than the number of milestone points, but got number of schedulers 1 and the number of milestones to be equal to 1")) {
            try SequentialLR(optimizer, schedulers: [try StepLR(optimizer, stepSize: 1)], milestones: [2])
        }
    }
}
