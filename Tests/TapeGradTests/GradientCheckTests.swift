import Testing
import TapeGrad

/// The arithmetic, elementwise math, reduction, view and product ops against central finite
/// differences in float64 (the NN ops: NNFunctionalTests; indexing, cat/stack and in-place
/// writes are checked against PyTorch's gradients in their own suites and ops-reference.json).
@Suite struct GradientCheckTests {
    /// Inputs of the given shapes with values from `low` to `high`, requiring grad.
    static func inputs(_ shapes: [[Int]], low: Double = -1, high: Double = 1, seed: UInt64 = 7) -> [Tensor] {
        var generator = RandomGenerator(seed: seed)
        return shapes.map { shape in
            let values = (0..<shape.reduce(1, *)).map { _ in low + (high - low) * generator.nextUniform() }
            return try! Tensor(values: values, shape: shape, dtype: .float64, requiresGrad: true)
        }
    }

    nonisolated(unsafe) static let unary: [(String, (Tensor) throws -> Tensor, Double, Double)] = [
        ("neg", { -$0 }, -1, 1), ("pow3", { $0.pow(3) }, -1, 1), ("powHalf", { $0.pow(0.5) }, 0.5, 2),
        ("sqrt", { $0.sqrt() }, 0.5, 2), ("exp", { $0.exp() }, -1, 1), ("log", { $0.log() }, 0.5, 2),
        ("tanh", { $0.tanh() }, -1, 1), ("sigmoid", { $0.sigmoid() }, -1, 1), ("relu", { try $0.relu() }, 0.1, 1),
        ("abs", { try $0.abs() }, 0.1, 1), ("sin", { $0.sin() }, -1, 1), ("cos", { $0.cos() }, -1, 1),
        ("clamp", { $0.clamp(min: -0.5, max: 0.5) }, -1, 1), ("reciprocal", { $0.reciprocal() }, 0.5, 2),
        ("rdiv", { 2 / $0 }, 0.5, 2), ("rsub", { 1 - $0 }, -1, 1), ("scalarOps", { ($0 + 2) * 3 / 4 - 1 }, -1, 1),
        ("sumAll", { $0.sum() }, -1, 1), ("sumDim", { try $0.sum(dim: 1) }, -1, 1),
        ("sumKeep", { try $0.sum(dim: 0, keepDim: true) }, -1, 1), ("meanAll", { try $0.mean() }, -1, 1),
        ("meanDim", { try $0.mean(dim: -1) }, -1, 1), ("max", { try $0.max() }, -1, 1),
        ("amax", { try $0.amax(dim: 1) }, -1, 1), ("t", { try $0.t() * 2 }, -1, 1),
        ("transpose", { try $0.transpose(0, 1) * 2 }, -1, 1), ("permute", { try $0.permute(1, 0).exp() }, -1, 1),
        ("view", { try ($0 * 2).view(4, 3) }, -1, 1), ("reshape", { try $0.t().reshape(12).sin() }, -1, 1),
        ("flatten", { try $0.flatten() * $0.flatten() }, -1, 1), ("unsqueeze", { try $0.unsqueeze(1).exp() }, -1, 1),
        ("squeeze", { try $0.unsqueeze(0).squeeze(0) * 2 }, -1, 1), ("expand", { try $0.unsqueeze(0).expand(2, 3, 4).sin() }, -1, 1),
    ]

    @Test(arguments: 0..<unary.count)
    func unaryOp(_ index: Int) throws {
        let (name, op, low, high) = Self.unary[index]
        let x = Self.inputs([[3, 4]], low: low, high: high)
        #expect(try gradcheck({ try op($0[0]) }, inputs: x), "\(name)")
    }

    nonisolated(unsafe) static let binary: [(String, [[Int]], ([Tensor]) throws -> Tensor)] = [
        ("add", [[3, 4], [4]], { try $0[0].add($0[1]) }),
        ("sub", [[3, 1], [1, 4]], { try $0[0].sub($0[1]) }),
        ("mul", [[2, 3, 4], [3, 1]], { try $0[0].mul($0[1]) }),
        ("div", [[3, 4], [3, 4]], { try $0[0].div($0[1] * $0[1] + 1) }),
        ("powTensor", [[3, 4], [3, 4]], { try ($0[0] * $0[0] + 0.5).pow($0[1]) }),
        ("mm", [[3, 4], [4, 2]], { try $0[0].mm($0[1]) }),
        ("mmTransposed", [[4, 3], [2, 4]], { try $0[0].t().mm($0[1].t()) }),
        ("matmulVector", [[3, 4], [4]], { try $0[0].matmul($0[1]) }),
        ("matmulDot", [[4], [4]], { try $0[0].matmul($0[1]) }),
        ("matmulBatched", [[2, 3, 4], [2, 4, 2]], { try $0[0].matmul($0[1]) }),
        ("matmulBroadcast", [[2, 3, 4], [4, 2]], { try $0[0].matmul($0[1]) }),
        ("reuse", [[3, 4], [3, 4]], { ($0[0] * $0[1]).tanh() * $0[0] + $0[1].sigmoid() }),
    ]

    @Test(arguments: 0..<binary.count)
    func binaryOp(_ index: Int) throws {
        let (name, shapes, op) = Self.binary[index]
        #expect(try gradcheck(op, inputs: Self.inputs(shapes)), "\(name)")
    }

    @Test func gradcheckReportsAWrongGradient() {
        // relu at its kink: central differences see 0.5, backward (like PyTorch) gives 0.
        let x = try! Tensor(values: [0.0], shape: [1], dtype: .float64, requiresGrad: true)
        #expect(throws: TapeGradError.self) { try gradcheck({ try $0[0].relu() }, inputs: [x]) }
    }
}
