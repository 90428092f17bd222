import Testing
import TapeGrad

/// A custom module as a PyTorch user writes one: parameters, buffers and submodules found
/// without listing them, a forward of two arguments, a replaceable submodule, `apply`.
@Suite struct RegistrationTests {
    final class Scaler: Module {
        var isTraining = true
        @Parameter var scale = Tensor.ones([3])
        @Buffer var calls = Tensor.zeros([1])
    }

    final class Net: Module {
        var isTraining = true
        var fc1 = Linear(3, 4)
        let scaler = Scaler()
        let head: Linear? = Linear(4, 2, bias: false)
        let unregistered: [Linear] = [Linear(2, 2)]   // a plain array, as a Python list: not registered
        @Parameter var temperature = Tensor(1.5)

        /// `forward(x, mask)`: several arguments.
        func callAsFunction(_ x: Tensor, mask: Tensor) throws -> Tensor {
            let h = try fc1(x * scaler.scale).relu()
            return try head!(h).maskedFill(mask, 0).div(temperature)
        }
    }

    @Test func namesAsPyTorch() throws {
        let net = Net()
        #expect(net.namedParameters().map(\.name) == ["temperature", "fc1.weight", "fc1.bias", "scaler.scale", "head.weight"])
        #expect(net.stateDict().keys == ["temperature", "fc1.weight", "fc1.bias", "scaler.scale", "scaler.calls", "head.weight"])
        #expect(net.namedModules().map(\.name) == ["", "fc1", "scaler", "head"])
        #expect(net.temperature.requiresGrad && net.temperature.isLeaf && !net.scaler.calls.requiresGrad)
    }

    @Test func forwardOfSeveralArgumentsTrains() throws {
        let net = Net()
        let x = Tensor.randn([5, 3]), mask = Tensor.zeros([5, 2], dtype: .bool)
        let optimizer = try SGD(net.parameters(), lr: 0.1)
        let before = try net.temperature.item()
        try withStep {
            try net(x, mask: mask).pow(2).sum().backward()
            try optimizer.step()
        }
        #expect(try net.temperature.item() != before)
        // The one-tensor forward was not written: PyTorch's error.
        #expect(throws: TapeGradError(.notImplementedError, "Module [Net] is missing the required \"forward\" function")) { try net(x) }
    }

    @Test func replacedSubmoduleAndApply() throws {
        let net = Net()
        net.fc1 = Linear(3, 4, bias: false)
        #expect(net.namedParameters().map(\.name) == ["temperature", "fc1.weight", "scaler.scale", "head.weight"])
        var visited: [String] = []
        net.apply { module in
            visited.append("\(type(of: module))")
            if let linear = module as? Linear { Init.constant_(linear.weight, 0.5) }
        }
        #expect(visited == ["Linear", "Scaler", "Linear", "Net"])
        #expect(net.fc1.weight.scalars().allSatisfy { $0 == 0.5 })
    }
}
