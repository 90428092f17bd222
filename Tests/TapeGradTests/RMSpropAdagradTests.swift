import Testing
import TapeGrad

/// RMSprop and Adagrad against PyTorch 2.15: five steps on `Σ p³ + Σ c·p` from
/// `p = [1, −2, 0.5, 3]` (float64), with the defaults and with every option; printouts and
/// errors.
@Suite struct RMSpropAdagradTests {
    static func run(_ make: ([Tensor]) throws -> any Optimizer) throws -> [Double] {
        let p = try Tensor([1.0, -2, 0.5, 3], dtype: .float64, requiresGrad: true)
        let c = try Tensor([0.1, 0.2, -0.3, 0.4], dtype: .float64)
        let optimizer = try make([p])
        for _ in 0..<5 {
            try withStep {
                optimizer.zeroGrad()
                try (p.pow(3).sum() + (p * c).sum()).backward()
                try optimizer.step()
            }
        }
        return p.scalars()
    }

    static func expectClose(_ a: [Double], _ e: [Double]) {
        for (x, y) in zip(a, e) { #expect(Swift.abs(x - y) < 1e-12, "\(a)") }
    }

    @Test func matchesPyTorch() throws {
        Self.expectClose(try Self.run { try RMSprop($0, lr: 0.01) },
                         [0.7140927734477345, -2.3421991886739555, 0.3259573667517836, 2.6882466371634446])
        Self.expectClose(try Self.run { try RMSprop($0, lr: 0.01, alpha: 0.9, eps: 1e-6, weightDecay: 0.1, momentum: 0.5, centered: true, maximize: true) },
                         [1.2137577567364048, -1.8018961892705856, 0.7316311828314607, 3.2072266283382405])
        Self.expectClose(try Self.run { try Adagrad($0, lr: 0.1) },
                         [0.7152847275672097, -2.340912848791743, 0.32626496215631867, 2.689522940617882])
        Self.expectClose(try Self.run { try Adagrad($0, lr: 0.1, lrDecay: 0.05, weightDecay: 0.1, initialAccumulatorValue: 0.5, eps: 1e-6, maximize: true) },
                         [1.3244724800721397, -1.7158196508229422, 0.7591226018938397, 3.310750212464558])
    }

    @Test func printoutsAndErrors() throws {
        let p = [Tensor.zeros([1], requiresGrad: true)]
        #expect(try RMSprop(p).description == """
            RMSprop (
            Parameter Group 0
                alpha: 0.99
                capturable: False
                centered: False
                differentiable: False
                eps: 1e-08
                foreach: None
                lr: 0.01
                maximize: False
                momentum: 0
                weight_decay: 0
            )
            """)
        #expect(try Adagrad(p).description == """
            Adagrad (
            Parameter Group 0
                differentiable: False
                eps: 1e-10
                foreach: None
                fused: None
                initial_accumulator_value: 0
                lr: 0.01
                lr_decay: 0
                maximize: False
                weight_decay: 0
            )
            """)
        #expect(throws: TapeGradError(.valueError, "Invalid alpha value: -1")) { try RMSprop(p, alpha: -1) }
        #expect(throws: TapeGradError(.valueError, "Invalid lr_decay value: -1")) { try Adagrad(p, lrDecay: -1) }
        #expect(throws: TapeGradError(.valueError, "Invalid initial_accumulator_value value: -1")) { try Adagrad(p, initialAccumulatorValue: -1) }
    }
}
