import Testing
@testable import TapeGrad

// Bad inputs to the NN functions found by fuzzing: each throws PyTorch 2.15's error (kind and
// text as `python3 -c` printed them), never traps nor reads outside a buffer.

private func runtime(_ message: String) -> TapeGradError { TapeGradError(.runtimeError, message) }
private func ones(_ shape: Int..., dtype: DType = .float32) -> Tensor { Tensor.ones(shape, dtype: dtype) }

@Suite struct NLLTargetTests {
    static var scores: Tensor { Tensor.zeros(3, 5) }

    /// Classes are int64 or uint8, as in PyTorch: any other dtype is refused, whole values or not.
    @Test(arguments: [DType.float64, .float32, .int32, .int16, .int8, .bool])
    func targetsOfOtherDTypesThrow(_ dtype: DType) throws {
        let target = Tensor([1, 0, 2], dtype: dtype)
        let error = runtime("expected target dtype to be Long or Byte, but got \(dtype.scalarTypeName)")
        #expect(throws: error) { try crossEntropy(Self.scores, target) }
        #expect(throws: error) { try nllLoss(Self.scores, target, reduction: .none) }
        // uint8 classes are taken.
        #expect(try crossEntropy(Self.scores, Tensor([1, 0, 2], dtype: .uint8)).item().isFinite)
    }

    @Test func outOfRangeClassesThrow() throws {
        #expect(throws: TapeGradError(.indexError, "Target 7 is out of bounds.")) { try crossEntropy(Self.scores, [7, 0, 2]) }
        #expect(throws: TapeGradError(.indexError, "Target -1 is out of bounds.")) { try nllLoss(Self.scores, [-1, 0, 2]) }
        #expect(throws: TapeGradError(.indexError, "Target 1099511627776 is out of bounds.")) { try crossEntropy(Self.scores, [1 << 40, 0, 2]) }
        #expect(throws: TapeGradError(.indexError, "Target 7 is out of bounds.")) { try crossEntropy(Tensor.zeros(5), [7]) }
        #expect(throws: TapeGradError(.indexError, "Target 0 is out of bounds.")) { try crossEntropy(Tensor.zeros(3, 0), [0, 0, 0]) }
        // ignore_index is compared before the bounds; any other class still is checked.
        #expect(throws: TapeGradError(.indexError, "Target 7 is out of bounds.")) { try crossEntropy(Self.scores, [7, 0, 2], ignoreIndex: -7) }
        #expect(try crossEntropy(Self.scores, [7, 0, 2], ignoreIndex: 7).item().isFinite)
        // Every sample ignored: PyTorch's mean is nan, its sum 0.
        #expect(try crossEntropy(Self.scores, [7, 7, 7], ignoreIndex: 7).item().isNaN)
        #expect(try crossEntropy(Self.scores, [7, 7, 7], reduction: .sum, ignoreIndex: 7).item() == 0)
    }

    @Test func boolScoresThrow() {
        let bools = ones(3, 5, dtype: .bool)
        #expect(throws: TapeGradError(.notImplementedError, "\"log_softmax_lastdim_kernel_impl\" not implemented for 'Bool'")) { try crossEntropy(bools, [1, 0, 2]) }
        #expect(throws: TapeGradError(.notImplementedError, "\"nll_loss_out_frame\" not implemented for 'Bool'")) { try nllLoss(bools, [1, 0, 2]) }
    }
}

@Suite struct ConvolutionArgumentTests {
    @Test func argumentChecks() {
        let x = ones(1, 3, 4, 4), w = ones(2, 3, 3, 3)
        #expect(throws: runtime("weight should have at least three dimensions")) { try conv2d(x, weight: ones(2, 3)) }
        #expect(throws: runtime("expected stride to be a single integer value or a list of 1 values to match the convolution dimensions, but got stride=[1, 1]")) { try conv2d(x, weight: ones(2, 3, 3)) }
        #expect(throws: runtime("expected stride to be a single integer value or a list of 3 values to match the convolution dimensions, but got stride=[0, 0]")) { try conv2d(x, weight: ones(2, 3, 3, 3, 1), stride: 0) }
        #expect(throws: runtime("Expected 3D (unbatched) or 4D (batched) input to conv2d, but got input of size: [1, 1, 3, 9, 9]")) { try conv2d(ones(1, 1, 3, 9, 9), weight: ones(2, 3)) }
        #expect(throws: runtime("non-positive groups is not supported")) { try conv2d(x, weight: w, stride: 0, groups: 0) }
        #expect(throws: runtime("non-positive stride is not supported")) { try conv2d(x, weight: w, stride: Size2D(1, 0), padding: -1) }
        #expect(throws: runtime("negative padding is not supported")) { try conv2d(x, weight: w, padding: Size2D(0, -1), dilation: -1) }
        #expect(throws: runtime("dilation should be greater than zero")) { try conv2d(x, weight: w, dilation: Size2D(0, -1)) }
        #expect(throws: runtime("dilation should be greater than zero, but got [1, 0]")) { try conv2d(x, weight: w, dilation: Size2D(1, 0)) }
        #expect(throws: runtime("Input type (float) and bias type (double) should be the same")) { try conv2d(ones(1, 4, 9, 9), weight: w, bias: ones(2, dtype: .float64)) }
        #expect(throws: runtime("Given weight of size [2, 3, 3, 3], expected bias to be 1-dimensional with 2 elements, but got bias of size [2, 1] instead")) { try conv2d(x, weight: w, bias: ones(2, 1)) }
    }

    /// No images or no channels: an empty result (PyTorch's shape), node ConvolutionBackward0,
    /// zero gradients for every operand.
    @Test func emptyConvolutions() throws {
        for (xs, ws, out) in [([0, 3, 5, 5], [2, 3, 3, 3], [0, 2, 3, 3]), ([2, 0, 5, 5], [2, 0, 3, 3], [2, 0, 3, 3])] {
            let x = Tensor.ones(xs, requiresGrad: true), w = Tensor.ones(ws, requiresGrad: true), b = Tensor.ones([2], requiresGrad: true)
            let y = try conv2d(x, weight: w, bias: b)
            #expect(y.shape == out)
            #expect(y.gradFn?.name == "ConvolutionBackward0")
            try y.sum().backward()
            #expect(x.grad!.shape == xs && w.grad!.shape == ws)
            #expect(w.grad!.scalars().allSatisfy { $0 == 0 } && b.grad!.scalars() == [0, 0])
        }
    }

    @Test func batchNormRunningStatisticsAre1D() {
        #expect(throws: runtime("TensorAccessor expected 1 dims but tensor has 2")) {
            try batchNorm(ones(3, 4), runningMean: Tensor.zeros(2, 2), runningVar: ones(4), training: true)
        }
        #expect(throws: runtime("TensorAccessor expected 1 dims but tensor has 0")) {
            try batchNorm(ones(3, 1), runningMean: Tensor.zeros(1), runningVar: Tensor.ones([]), training: true)
        }
    }

    @Test func shapeChecks() {
        #expect(throws: runtime("Given groups=1, expected weight to be at least 1 at dimension 0, but got weight of size [0, 3, 3, 3] instead")) { try conv2d(ones(1, 4, 9, 9), weight: ones(0, 3, 3, 3)) }
        #expect(throws: runtime("Given groups=2, expected weight to be at least 2 at dimension 0, but got weight of size [1, 3, 3, 3] instead")) { try conv2d(ones(1, 6, 9, 9), weight: ones(1, 3, 3, 3), groups: 2) }
        #expect(throws: runtime("Given groups=2, expected weight to be divisible by 2 at dimension 0, but got weight of size [[3, 2, 3, 3]] instead")) { try conv2d(ones(1, 4, 4, 4), weight: ones(3, 2, 3, 3), groups: 2) }
        #expect(throws: runtime("Given groups=2, weight of size [2, 3, 3, 3], expected input[1, 4, 4, 4] to have 6 channels, but got 4 channels instead")) { try conv2d(ones(1, 4, 4, 4), weight: ones(2, 3, 3, 3), groups: 2) }
        #expect(throws: runtime("Given groups=1, weight of size [2, 3, 3, 3], expected input[1, 4, 4, 4] to have 3 channels, but got 4 channels instead")) { try conv2d(ones(4, 4, 4), weight: ones(2, 3, 3, 3)) }
        #expect(throws: runtime("Calculated padded input size per channel: (6 x 6). Kernel size: (7 x 7). Kernel size can't be greater than actual input size")) { try conv2d(ones(1, 3, 4, 4), weight: ones(2, 3, 7, 7), padding: 1) }
        #expect(throws: runtime("Calculated padded input size per channel: (4 x 4). Kernel size: (5 x 5). Kernel size can't be greater than actual input size")) { try conv2d(ones(1, 3, 4, 4), weight: ones(2, 3, 3, 3), dilation: 2) }
        #expect(throws: runtime("Calculated padded input size per channel: (2 x 2). Kernel size: (0 x 3). Kernel size can't be greater than actual input size")) { try conv2d(ones(1, 3, 2, 2), weight: ones(2, 3, 0, 3)) }
        #expect(throws: runtime("Only zero batch or zero channel inputs are supported, but got input shape: [1, 3, 0, 4]")) { try conv2d(ones(1, 3, 0, 4), weight: ones(2, 3, 1, 1), padding: 1) }
    }

    @Test func kernelChecks() {
        let x = ones(1, 3, 9, 9)
        #expect(throws: runtime("kernel size should be greater than zero, but got kernel_height: 0 kernel_width: 3")) { try conv2d(x, weight: ones(2, 3, 0, 3, dtype: .float64)) }
        #expect(throws: runtime("kernel size should be greater than zero, but got [0, 3]")) { try conv2d(x, weight: ones(2, 3, 0, 3), dilation: 0) }
        #expect(throws: runtime("dilation should be greater than zero, but got [0, 0]")) { try conv2d(x, weight: ones(2, 3, 3, 3, dtype: .float64), dilation: 0) }
        #expect(throws: TapeGradError(.notImplementedError, "\"slow_conv2d_cpu\" not implemented for 'Bool'")) { try conv2d(ones(1, 3, 9, 9, dtype: .bool), weight: ones(2, 3, 3, 3)) }
        #expect(throws: TapeGradError(.notImplementedError, "\"slow_conv_dilated<>\" not implemented for 'Bool'")) { try conv2d(ones(1, 3, 9, 9, dtype: .bool), weight: ones(2, 3, 3, 3, dtype: .bool), dilation: 2) }
        #expect(throws: runtime("expected scalar type Float but found Double")) { try conv2d(x, weight: ones(2, 3, 3, 3, dtype: .float64)) }
        #expect(throws: runtime("expected scalar type Double but found Bool")) { try conv2d(ones(1, 3, 9, 9, dtype: .float64), weight: ones(2, 3, 3, 3, dtype: .bool)) }
    }

    /// No channels (or no images): PyTorch's result has no elements, the gradients are zeros.
    @Test func emptyInputs() throws {
        let x = try ones(1, 0, 4, 4).requiresGrad_(), w = try ones(2, 0, 3, 3).requiresGrad_()
        let y = try conv2d(x, weight: w)
        #expect(y.shape == [1, 0, 2, 2])
        try y.sum().backward()
        #expect(x.grad?.shape == [1, 0, 4, 4])
        #expect(w.grad?.shape == [2, 0, 3, 3])
        let images = try ones(0, 3, 4, 4).requiresGrad_(), weight = try ones(2, 3, 3, 3).requiresGrad_()
        let z = try conv2d(images, weight: weight, bias: ones(2))
        #expect(z.shape == [0, 2, 2, 2])
        try z.sum().backward()
        #expect(weight.grad?.scalars() == [Double](repeating: 0, count: 54))
        #expect(try conv2d(ones(0, 4, 4), weight: ones(2, 0, 3, 3)).shape == [0, 2, 2])
        #expect(try conv2d(ones(1, 0, 0, 9), weight: ones(2, 0, 1, 1), padding: 1).shape == [1, 0, 2, 11])
        #expect(throws: TapeGradError(.indexError, "select(): index 0 out of range for tensor of size [0] at dimension 0")) { try conv2d(ones(0, 3, 9, 9), weight: ones(2, 3, 0, 3)) }
    }
}

@Suite struct PoolingArgumentTests {
    static func pool(_ index: Int, _ x: Tensor, _ k: Size2D, _ s: Size2D?, _ p: Size2D) throws(TapeGradError) -> Tensor {
        index == 0 ? try maxPool2d(x, kernelSize: k, stride: s, padding: p) : try avgPool2d(x, kernelSize: k, stride: s, padding: p)
    }

    @Test(arguments: 0..<2)
    func windowChecks(_ index: Int) throws {
        let name = ["max_pool2d", "avg_pool2d"][index]
        func pool(_ x: Tensor, _ k: Size2D, _ s: Size2D?, _ p: Size2D) throws(TapeGradError) -> Tensor { try Self.pool(index, x, k, s, p) }
        let x = ones(1, 1, 5, 5)
        #expect(throws: runtime("Given input size: (1x2x2). Calculated output size: (1x0x0). Output size is too small")) { try pool(ones(1, 1, 2, 2), 3, nil, 0) }
        #expect(throws: runtime("Given input size: (1x2x2). Calculated output size: (1x2x0). Output size is too small")) { try pool(ones(1, 2, 2), Size2D(1, 3), nil, 0) }
        #expect(throws: runtime("Given input size: (1x2x2). Calculated output size: (1x-1x-1). Output size is too small")) { try pool(ones(1, 1, 2, 2), 5, 2, 0) }
        #expect(throws: runtime("pad should be at most half of effective kernel size, but got pad=2, kernel_size=3 and dilation=1")) { try pool(x, 3, nil, 2) }
        #expect(throws: runtime("pad should be at most half of effective kernel size, but got pad=3, kernel_size=5 and dilation=1")) { try pool(x, Size2D(3, 5), nil, Size2D(0, 3)) }
        #expect(try pool(x, Size2D(3, 5), nil, Size2D(0, 2)).shape == [1, 1, 1, 1])
        // Height first: its padding is checked before the width's stride.
        #expect(throws: runtime("pad should be at most half of effective kernel size, but got pad=2, kernel_size=3 and dilation=1")) { try pool(ones(1, 1, 9, 9), 3, Size2D(1, 0), Size2D(2, 0)) }
        #expect(throws: runtime("stride should not be zero")) { try pool(x, 3, Size2D(1, 0), 0) }
        #expect(throws: runtime("stride should not be zero")) { try pool(x, 0, nil, -1) }
        #expect(throws: runtime("stride should be greater than zero, but got dH: -1 dW: 2")) { try pool(x, 2, Size2D(-1, 2), 0) }
        #expect(throws: runtime("kernel size should be greater than zero, but got kH: -1 kW: -1")) { try pool(x, -1, nil, 0) }
        #expect(throws: runtime("kernel size should be greater than zero, but got kH: 3 kW: 0")) { try pool(x, Size2D(3, 0), 1, 0) }
        #expect(throws: runtime("pad must be non-negative, but got pad: -1")) { try pool(x, -1, nil, -1) }
        #expect(throws: runtime("Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, but got:[1, 1, 0, 5]")) { try pool(ones(1, 1, 0, 5), 1, nil, 0) }
        #expect(throws: runtime("Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, but got:[1, 0, 5, 5]")) { try pool(ones(1, 0, 5, 5), 2, nil, 0) }
        #expect(throws: runtime("Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, but got:[0, 5, 5]")) { try pool(ones(0, 5, 5), 2, nil, 0) }
        #expect(try pool(ones(0, 1, 5, 5), 2, nil, 0).shape == [0, 1, 2, 2])
        // The dtype last.
        #expect(throws: runtime("Given input size: (1x2x2). Calculated output size: (1x0x0). Output size is too small")) { try pool(ones(1, 1, 2, 2, dtype: .bool), 3, nil, 0) }
        #expect(throws: TapeGradError(.notImplementedError, "\"\(name)\" not implemented for 'Bool'")) { try pool(ones(1, 1, 5, 5, dtype: .bool), 3, nil, 0) }
    }

    @Test func rankChecks() {
        #expect(throws: runtime("non-empty 3D or 4D (batch mode) tensor expected for input")) { try maxPool2d(ones(2, 2), kernelSize: 0) }
        #expect(throws: runtime("non-empty 3D or 4D (batch mode) tensor expected for input")) { try maxPool2d(ones(1, 1, 1, 5, 5), kernelSize: 3) }
        #expect(throws: TapeGradError(.indexError, "Dimension out of range (expected to be in range of [-2, 1], but got -3)")) { try avgPool2d(ones(2, 2), kernelSize: 0) }
        #expect(throws: TapeGradError(.indexError, "Dimension out of range (expected to be in range of [-1, 0], but got -3)")) { try avgPool2d(ones(5), kernelSize: 1) }
        #expect(throws: runtime("Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, but got:[1, 1, 1, 5, 5]")) { try avgPool2d(ones(1, 1, 1, 5, 5), kernelSize: 3) }
    }

    @Test func adaptiveSizes() throws {
        #expect(try adaptiveAvgPool2d(ones(1, 1, 2, 2), outputSize: 5).scalars() == [Double](repeating: 1, count: 25))
        #expect(try adaptiveAvgPool2d(ones(1, 1, 2, 2), outputSize: 0).shape == [1, 1, 0, 0])
        #expect(try adaptiveAvgPool2d(ones(1, 1, 2, 2), outputSize: Size2D(2, 0)).shape == [1, 1, 2, 0])
        #expect(try adaptiveAvgPool2d(ones(1, 0, 4, 4), outputSize: 2).shape == [1, 0, 2, 2])
        #expect(try adaptiveAvgPool2d(ones(2, 2), outputSize: 1).shape == [1, 1])
        #expect(try adaptiveAvgPool2d(ones(1, 1, 1, 2, 2), outputSize: 1).shape == [1, 1, 1, 1, 1])
        #expect(throws: runtime("adaptive_avg_pool2d: elements of output_size must be greater than or equal to 0 but received {-1, 2}")) { try adaptiveAvgPool2d(ones(1, 1, 2, 2), outputSize: Size2D(-1, 2)) }
        #expect(throws: runtime("adaptive_avg_pool2d(): Expected 3D or 4D tensor, but got [2, 2]")) { try adaptiveAvgPool2d(ones(2, 2), outputSize: 0) }
        #expect(throws: TapeGradError(.indexError, "Dimension out of range (expected to be in range of [-1, 0], but got -2)")) { try adaptiveAvgPool2d(ones(4), outputSize: 1) }
        #expect(throws: runtime("adaptive_avg_pool2d(): Expected input to have non-zero size for non-batch dimensions, but input has sizes [1, 1, 0, 2] with dimension 2 being empty")) { try adaptiveAvgPool2d(ones(1, 1, 0, 2), outputSize: 2) }
        #expect(throws: TapeGradError(.notImplementedError, "mean(): could not infer output dtype. Input dtype must be either a floating point or complex dtype. Got: Bool")) { try adaptiveAvgPool2d(ones(1, 1, 2, 2, dtype: .bool), outputSize: 1) }
        #expect(throws: TapeGradError(.notImplementedError, "\"adaptive_avg_pool2d\" not implemented for 'Bool'")) { try adaptiveAvgPool2d(ones(1, 1, 2, 2, dtype: .bool), outputSize: 2) }
    }
}

@Suite struct NNBoolInputTests {
    static var bools: Tensor { ones(2, 3, dtype: .bool) }

    @Test func softmaxRefusesBool() throws {
        let notImplemented = { (name: String) in TapeGradError(.notImplementedError, "\"\(name)\" not implemented for 'Bool'") }
        #expect(throws: notImplemented("softmax_lastdim_kernel_impl")) { try softmax(Self.bools, dim: 1) }
        #expect(throws: notImplemented("softmax_lastdim_kernel_impl")) { try Self.bools.softmax(dim: -1) }
        #expect(throws: notImplemented("softmax_kernel_impl")) { try softmax(Self.bools, dim: 0) }
        #expect(throws: notImplemented("softmax_lastdim_kernel_impl")) { try softmax(Tensor.ones([], dtype: .bool), dim: 0) }
        #expect(throws: notImplemented("log_softmax_lastdim_kernel_impl")) { try logSoftmax(Self.bools, dim: 1) }
        #expect(throws: notImplemented("log_softmax_kernel_impl")) { try logSoftmax(Self.bools, dim: 0) }
        #expect(throws: TapeGradError(.indexError, "Dimension out of range (expected to be in range of [-2, 1], but got 2)")) { try softmax(Self.bools, dim: 2) }
        #expect(try softmax(ones(0, 3, dtype: .bool), dim: 1).dtype == .bool)
    }

    @Test func layersRefuseBool() {
        #expect(throws: TapeGradError(.notImplementedError, "\"batch_norm\" not implemented for 'Bool'")) {
            try batchNorm(Self.bools, runningMean: Tensor.zeros(3), runningVar: Tensor.ones(3), training: true)
        }
        #expect(throws: TapeGradError(.notImplementedError, "\"addmm_impl_cpu_\" not implemented for 'Bool'")) { try linear(Self.bools, weight: ones(4, 3, dtype: .bool)) }
        #expect(throws: TapeGradError(.notImplementedError, "\"addmm_impl_cpu_\" not implemented for 'Bool'")) { try linear(ones(2, 2, 3, dtype: .bool), weight: ones(4, 3, dtype: .bool)) }
        #expect(throws: runtime("expected m1 and m2 to have the same dtype, but got: bool != float")) { try linear(Self.bools, weight: ones(4, 3)) }
        #expect(throws: runtime("mat1 and mat2 must have the same dtype, but got Bool and Float")) { try linear(Self.bools, weight: ones(4, 3), bias: ones(4)) }
        #expect(throws: TapeGradError(.notImplementedError, "\"mse_cpu\" not implemented for 'Bool'")) { try mseLoss(ones(3, dtype: .bool), ones(3, dtype: .bool)) }
    }
}

/// Winograd's transforms mix a whole tile, so a NaN or an infinity in its operands would spread
/// over the tile: such convolutions go to im2col, whose output (and gradients) keep each
/// non-finite value to the windows that hold it.
@Suite struct WinogradNonFiniteTests {
    /// NaN where the reference has NaN, the same infinities, the finite values close.
    static func sameElementwise(_ a: [Double], _ b: [Double]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { x, y in
            x.isNaN ? y.isNaN : (x.isInfinite || y.isInfinite ? x == y : abs(x - y) <= 1e-4 * Swift.max(1, abs(y)))
        }
    }

    /// Random float64 input, weight and upstream gradient of Winograd's first test geometry,
    /// with the given values set at the given flat positions of the input and the upstream.
    static func operands(seed: UInt64, input: [(Int, Double)] = [], upstream: [(Int, Double)] = []) throws -> (x: Tensor, w: Tensor, g: Tensor) {
        let (n, c, k, h, w) = WinogradTests.shapes[0]
        var generator = RandomGenerator(seed: seed)
        func random(_ shape: [Int], _ changes: [(Int, Double)]) throws -> Tensor {
            var values = Tensor.randn(shape, dtype: .float64, using: &generator).scalars()
            for (at, value) in changes { values[at] = value }
            return try Tensor(values: values, shape: shape, dtype: .float64)
        }
        return (try random([n, c, h, w], input), try random([k, c, 3, 3], []), try random([n, k, h, w], upstream))
    }

    /// The output and the input's and weight's gradients in `dtype`: float32 reaches Winograd's
    /// geometry, float64 is im2col's.
    static func run(_ operands: (x: Tensor, w: Tensor, g: Tensor), _ dtype: DType) throws -> [[Double]] {
        let x = try operands.x.to(dtype).requiresGrad_(), weight = try operands.w.to(dtype).requiresGrad_()
        let y = try conv2d(x, weight: weight, padding: 1)
        try y.backward(gradient: operands.g.to(dtype))
        return [y.detach().scalars(), x.grad?.scalars() ?? [], weight.grad?.scalars() ?? []]
    }

    @Test func nanAndInfinityStayInTheirWindows() throws {
        let (_, _, k, h, w) = WinogradTests.shapes[0]
        #expect(Winograd.applies(WinogradTests.geometry(WinogradTests.shapes[0])))
        // A NaN at channel 3, row 5, column 6; an infinity at channel 6, row 10, column 1.
        let operands = try Self.operands(seed: 7, input: [(3 * h * w + 5 * w + 6, .nan), (6 * h * w + 10 * w + 1, .infinity)])
        let float32 = try Self.run(operands, .float32), im2col = try Self.run(operands, .float64)
        // The direct algorithm: NaN only at the outputs whose window holds the NaN.
        #expect(im2col[0].filter(\.isNaN).count <= 9 * k)
        for (name, (a, b)) in zip(["output", "input gradient", "weight gradient"], zip(float32, im2col)) {
            #expect(Self.sameElementwise(a, b), "\(name)")
        }
    }

    /// A NaN in the upstream gradient alone: the input's gradient by im2col too.
    @Test func nanInTheUpstreamGradient() throws {
        let (_, c, _, h, w) = WinogradTests.shapes[0]
        let operands = try Self.operands(seed: 8, upstream: [(2 * h * w + 7 * w + 7, .nan)])
        let float32 = try Self.run(operands, .float32), im2col = try Self.run(operands, .float64)
        #expect(im2col[1].filter(\.isNaN).count == 9 * c)
        #expect(Self.sameElementwise(float32[1], im2col[1]))
    }

    @Test func finiteCheck() {
        var values: [Float] = Array(repeating: 1, count: 37)
        #expect(values.withUnsafeMutableBufferPointer { Winograd.allFinite($0.baseAddress!, count: 37) })
        for i in [0, 15, 16, 31, 36] {
            for bad in [Float.nan, .infinity, -.infinity] {
                values[i] = bad
                #expect(!values.withUnsafeMutableBufferPointer { Winograd.allFinite($0.baseAddress!, count: 37) })
                values[i] = 1
            }
        }
    }
}
