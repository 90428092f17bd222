import Testing
@testable import TapeGrad

/// Winograd's F(4×4, 3×3), the float32 path of 3×3 stride-1 convolutions, against im2col in
/// float64 on the same values (im2col is checked against finite differences and PyTorch): the
/// output, the three gradients, and a second-order gradient through the recorded backward.
@Suite struct WinogradTests {
    /// (batch, input channels, output channels, height, width)
    static let shapes: [(Int, Int, Int, Int, Int)] = [
        (1, 8, 8, 16, 16),  // 16 tiles, whole tiles: the output is written in place
        (3, 10, 12, 9, 7),  // 18 tiles, partial tiles, a last group of two tiles, channels not a multiple of eight
        (2, 16, 9, 12, 20),  // 30 tiles, wider than high
        (8, 8, 16, 7, 7),  // 32 tiles: the 7×7 maps of ResNet's last stage
    ]

    static func geometry(_ shape: (Int, Int, Int, Int, Int)) -> ConvGeometry {
        var geo = ConvGeometry()
        (geo.batch, geo.channels, geo.outChannels, geo.height, geo.width) = shape
        geo.kernelH = 3; geo.kernelW = 3; geo.padH = 1; geo.padW = 1
        geo.outH = geo.height; geo.outW = geo.width
        return geo
    }

    /// The largest difference between `a` and the float64 `reference`, relative to the
    /// reference's largest magnitude.
    static func relativeError(_ a: Tensor?, _ reference: Tensor?) -> Double {
        guard let a, let reference else { return .infinity }
        let x = a.scalars(), y = reference.scalars()
        guard x.count == y.count else { return .infinity }
        let scale = y.map(abs).max() ?? 1
        return zip(x, y).map { abs($0 - $1) }.max().map { $0 / scale } ?? 0
    }

    @Test(arguments: 0..<shapes.count)
    func gradientsMatchIm2colInFloat64(_ index: Int) throws {
        let shape = Self.shapes[index]
        let (n, c, k, h, w) = shape
        #expect(Winograd.applies(Self.geometry(shape)))
        var generator = RandomGenerator(seed: UInt64(40 + index))
        let x64 = Tensor.randn([n, c, h, w], dtype: .float64, using: &generator)
        let w64 = Tensor.randn([k, c, 3, 3], dtype: .float64, using: &generator)
        let b64 = Tensor.randn([k], dtype: .float64, using: &generator)
        let g64 = Tensor.randn([n, k, h, w], dtype: .float64, using: &generator)
        func run(_ dtype: DType) throws -> [Tensor?] {
            let x = try x64.to(dtype).requiresGrad_(), weight = try w64.to(dtype).requiresGrad_()
            let bias = try b64.to(dtype).requiresGrad_()
            let y = try conv2d(x, weight: weight, bias: bias, padding: 1)
            try y.backward(gradient: g64.to(dtype))
            return [y.detach(), x.grad, weight.grad, bias.grad]
        }
        let winograd = try run(.float32), reference = try run(.float64)
        for (name, (a, b)) in zip(["output", "input gradient", "weight gradient", "bias gradient"], zip(winograd, reference)) {
            let error = Self.relativeError(a, b)
            #expect(error < 1e-6 * Double(c * 9).squareRoot(), "\(name): relative error \(error)")
        }
    }

    /// The gradient of a gradient runs both backward kernels as recorded ops (createGraph).
    @Test func secondOrderGradientMatchesIm2colInFloat64() throws {
        let shape = Self.shapes[1]
        let (n, c, k, h, w) = shape
        var generator = RandomGenerator(seed: 7)
        let x64 = Tensor.randn([n, c, h, w], dtype: .float64, using: &generator)
        let w64 = Tensor.randn([k, c, 3, 3], dtype: .float64, using: &generator)
        func run(_ dtype: DType) throws -> [Tensor?] {
            let x = try x64.to(dtype).requiresGrad_(), weight = try w64.to(dtype).requiresGrad_()
            let y = try conv2d(x, weight: weight, padding: 1)
            let first = try grad(of: (y * y).sum(), withRespectTo: [x, weight], createGraph: true)
            let penalty = (first[0]! * first[0]!).sum() + (first[1]! * first[1]!).sum()
            try penalty.backward()
            return [x.grad, weight.grad]
        }
        let winograd = try run(.float32), reference = try run(.float64)
        for (a, b) in zip(winograd, reference) {
            let error = Self.relativeError(a, b)
            #expect(error < 1e-5, "relative error \(error)")
        }
    }

    /// After the first step, a forward and backward through Winograd's path allocates nothing,
    /// small products (64 channels, 16 tiles: OpenBLAS's small-matrix kernels) included.
    @Test(.needsJemallocCounters, arguments: [(1, 64, 64, 16, 16), (3, 10, 12, 9, 7), (4, 32, 16, 8, 8)])
    func stepsAllocateNothingAfterTheFirst(_ shape: (Int, Int, Int, Int, Int)) throws {
        blasThreadCount = 1
        let (n, c, k, h, w) = shape
        #expect(Winograd.applies(Self.geometry(shape)))
        let x = Tensor.randn([n, c, h, w], requiresGrad: true), weight = Tensor.randn([k, c, 3, 3], requiresGrad: true)
        var allocated: [UInt64] = []
        allocated.reserveCapacity(4)
        for _ in 0..<4 {
            let before = MemoryReport.threadAllocatedBytes
            try withStep {
                try conv2d(x, weight: weight, padding: 1).sum().backward()
                x.grad = nil
                weight.grad = nil
            }
            allocated.append(MemoryReport.threadAllocatedBytes - before)
        }
        #expect(Array(allocated.dropFirst(1)) == [0, 0, 0], "bytes allocated per step: \(allocated)")
    }

    /// Geometries Winograd's path leaves to im2col.
    @Test func appliesOnlyToItsGeometry() {
        let base = Self.geometry((1, 8, 8, 16, 16))
        #expect(Winograd.applies(base))
        var other = base; other.strideH = 2; #expect(!Winograd.applies(other))
        other = base; other.padW = 0; #expect(!Winograd.applies(other))
        other = base; other.dilationH = 2; #expect(!Winograd.applies(other))
        other = base; other.groups = 2; #expect(!Winograd.applies(other))
        other = base; other.kernelW = 5; #expect(!Winograd.applies(other))
        other = base; other.channels = 3; #expect(!Winograd.applies(other))
        other = base; other.height = 4; other.width = 4; #expect(!Winograd.applies(other))  // one tile
    }
}
