import Testing
import TapeGrad

/// The neural-network ops of `NN/` against central finite differences (float64), their node
/// names and their errors (expected values and messages from PyTorch 2.15).
@Suite struct NNFunctionalTests {
    static func inputs(_ shapes: [[Int]], low: Double = -1, high: Double = 1, seed: UInt64 = 11) -> [Tensor] {
        GradientCheckTests.inputs(shapes, low: low, high: high, seed: seed)
    }

    nonisolated(unsafe) static let cases: [(String, [[Int]], ([Tensor]) throws -> Tensor)] = [
        ("softmaxDim1", [[3, 5]], { try $0[0].softmax(dim: 1) }),
        ("softmaxDim0", [[3, 4, 2]], { try $0[0].softmax(dim: 0) }),
        ("softmaxStrided", [[4, 3]], { try $0[0].t().softmax(dim: -1) }),
        ("logSoftmax", [[3, 5]], { try $0[0].logSoftmax(dim: 1) }),
        ("logSoftmaxDim2", [[2, 3, 4]], { try $0[0].logSoftmax(dim: 2) }),
        ("crossEntropyMean", [[4, 5]], { try crossEntropy($0[0], [1, 0, 4, 2]) }),
        ("crossEntropySum", [[4, 5]], { try crossEntropy($0[0], [1, 0, 4, 2], reduction: .sum) }),
        ("crossEntropyNone", [[4, 5]], { try crossEntropy($0[0], [1, 0, 4, 2], reduction: .none) }),
        ("crossEntropyIgnore", [[4, 5]], { try crossEntropy($0[0], [1, -100, 4, 2]) }),
        ("crossEntropyUnbatched", [[5]], { try crossEntropy($0[0], Tensor(3)) }),
        ("crossEntropyUnbatchedInts", [[5]], { try crossEntropy($0[0], [3], reduction: .sum) }),
        ("linear", [[4, 3], [2, 3], [2]], { try linear($0[0], weight: $0[1], bias: $0[2]) }),
        ("linearNoBias", [[4, 3], [2, 3]], { try linear($0[0], weight: $0[1]) }),
        ("linear3d", [[2, 4, 3], [2, 3], [2]], { try linear($0[0], weight: $0[1], bias: $0[2]) }),
        ("linearVector", [[3], [2, 3], [2]], { try linear($0[0], weight: $0[1], bias: $0[2]) }),
        ("conv2d", [[2, 3, 5, 5], [4, 3, 3, 3], [4]], { try conv2d($0[0], weight: $0[1], bias: $0[2], padding: 1) }),
        // 81 columns: the input's gradient as Wᵀ·g (64 columns or fewer: gᵀ·W, the cases around it).
        ("conv2dWide", [[1, 2, 9, 9], [3, 2, 3, 3]], { try conv2d($0[0], weight: $0[1], padding: 1) }),
        ("conv2dStride", [[1, 2, 7, 6], [3, 2, 3, 2], [3]], { try conv2d($0[0], weight: $0[1], bias: $0[2], stride: Size2D(2, 1), padding: Size2D(1, 0)) }),
        ("conv2dDilation", [[1, 2, 7, 7], [2, 2, 3, 3]], { try conv2d($0[0], weight: $0[1], padding: 2, dilation: 2) }),
        ("conv2dGroups", [[2, 4, 5, 5], [6, 2, 3, 3], [6]], { try conv2d($0[0], weight: $0[1], bias: $0[2], padding: 1, groups: 2) }),
        ("conv2dPointwise", [[2, 4, 3, 3], [3, 4, 1, 1]], { try conv2d($0[0], weight: $0[1]) }),
        ("conv2dPointwiseStride", [[1, 4, 6, 6], [2, 4, 1, 1]], { try conv2d($0[0], weight: $0[1], stride: 2) }),
        ("conv2dUnbatched", [[2, 4, 4], [3, 2, 2, 2]], { try conv2d($0[0], weight: $0[1]) }),
        ("maxPool", [[1, 2, 6, 6]], { try maxPool2d($0[0], kernelSize: 3, stride: 2, padding: 1) }),
        ("maxPoolDefaultStride", [[2, 1, 4, 6]], { try maxPool2d($0[0], kernelSize: 2) }),
        ("avgPool", [[1, 2, 6, 6]], { try avgPool2d($0[0], kernelSize: 2) }),
        ("avgPoolPadded", [[1, 2, 5, 5]], { try avgPool2d($0[0], kernelSize: 3, stride: 2, padding: 1) }),
        ("avgPoolExcludePad", [[1, 2, 5, 5]], { try avgPool2d($0[0], kernelSize: 3, stride: 2, padding: 1, countIncludePad: false) }),
        ("adaptiveAvgPool1", [[2, 3, 5, 5]], { try adaptiveAvgPool2d($0[0], outputSize: 1) }),
        ("adaptiveAvgPool2x3", [[1, 2, 5, 7]], { try adaptiveAvgPool2d($0[0], outputSize: Size2D(2, 3)) }),
        ("batchNormTrain", [[4, 3, 2, 2], [3], [3]], {
            try batchNorm($0[0], runningMean: nil, runningVar: nil, weight: $0[1], bias: $0[2], training: true)
        }),
        ("batchNormTrain2d", [[5, 3]], { try batchNorm($0[0], runningMean: nil, runningVar: nil, training: true) }),
        ("batchNormEval", [[2, 3, 2, 2], [3], [3]], {
            let mean = try Tensor(values: [0.1, -0.2, 0.3], shape: [3], dtype: .float64)
            let variance = try Tensor(values: [1.5, 0.5, 2], shape: [3], dtype: .float64)
            return try batchNorm($0[0], runningMean: mean, runningVar: variance, weight: $0[1], bias: $0[2])
        }),
    ]

    @Test(arguments: 0..<cases.count)
    func gradientsMatchFiniteDifferences(_ index: Int) throws {
        let (name, shapes, op) = Self.cases[index]
        #expect(try gradcheck(op, inputs: Self.inputs(shapes)), "\(name)")
    }

    @Test func nodeNamesArePyTorchs() throws {
        try withStep { () throws -> Void in
            let x = Tensor.randn([2, 3, 4, 4], requiresGrad: true)
            let m = Tensor.randn([2, 3], requiresGrad: true)
            let w = Tensor.randn([4, 3], requiresGrad: true)
            #expect(try m.softmax(dim: 1).gradFn?.name == "SoftmaxBackward0")
            #expect(try m.logSoftmax(dim: 1).gradFn?.name == "LogSoftmaxBackward0")
            #expect(try crossEntropy(m, [0, 2]).gradFn?.name == "NllLossBackward0")
            #expect(try linear(m, weight: w, bias: Tensor.zeros(4)).gradFn?.name == "AddmmBackward0")
            #expect(try linear(m, weight: Tensor.ones(4, 3)).gradFn?.name == "MmBackward0")
            // A non-contiguous input is not folded: matmul, then the bias added in place.
            #expect(try linear(x.view(2, 3, 16).transpose(1, 2), weight: Tensor.ones(2, 3), bias: Tensor.ones(2)).gradFn?.name == "AddBackward0")
            #expect(try linear(x.view(2, 3, 16), weight: Tensor.ones(2, 16), bias: Tensor.ones(2)).gradFn?.name == "UnsafeViewBackward0")
            #expect(try conv2d(x, weight: Tensor.ones(1, 3, 3, 3)).gradFn?.name == "ConvolutionBackward0")
            #expect(try maxPool2d(x, kernelSize: 2).gradFn?.name == "MaxPool2DWithIndicesBackward0")
            #expect(try avgPool2d(x, kernelSize: 2).gradFn?.name == "AvgPool2DBackward0")
            #expect(try adaptiveAvgPool2d(x, outputSize: 1).gradFn?.name == "MeanBackward1")
            #expect(try adaptiveAvgPool2d(x, outputSize: 2).gradFn?.name == "AdaptiveAvgPool2DBackward0")
            #expect(try batchNorm(x, runningMean: nil, runningVar: nil, training: true).gradFn?.name == "NativeBatchNormBackward0")
        }
    }

    @Test func batchNormUpdatesRunningStatistics() throws {
        let x = try Tensor(values: (0..<24).map(Double.init), shape: [2, 3, 2, 2])
        let mean = Tensor.zeros(3), variance = Tensor.ones(3)
        _ = try batchNorm(x, runningMean: mean, runningVar: variance, training: true, momentum: 0.1)
        #expect(allClose(mean.scalars(), [0.75, 1.149999976158142, 1.5500000715255737]))
        #expect(allClose(variance.scalars(), [5.1571431159973145, 5.1571431159973145, 5.1571431159973145]))
    }

    @Test func errorsArePyTorchs() {
        func message(_ body: () throws -> Tensor) -> String? {
            do { _ = try body(); return nil } catch let error as TapeGradError { return "\(error.kind.rawValue): \(error.message)" } catch { return "\(error)" }
        }
        #expect(message { try conv2d(Tensor.zeros(2, 5, 6, 6), weight: Tensor.zeros(4, 3, 3, 3)) }
                == "RuntimeError: Given groups=1, weight of size [4, 3, 3, 3], expected input[2, 5, 6, 6] to have 3 channels, but got 5 channels instead")
        #expect(message { try conv2d(Tensor.zeros(2, 3), weight: Tensor.zeros(4, 3, 3, 3)) }
                == "RuntimeError: Expected 3D (unbatched) or 4D (batched) input to conv2d, but got input of size: [2, 3]")
        #expect(message { try conv2d(Tensor.zeros(1, 3, 2, 2), weight: Tensor.zeros(4, 3, 3, 3)) }
                == "RuntimeError: Calculated padded input size per channel: (2 x 2). Kernel size: (3 x 3). Kernel size can't be greater than actual input size")
        #expect(message { try crossEntropy(Tensor.zeros(4, 5), [1, 2, 3]) }
                == "ValueError: Expected input batch_size (4) to match target batch_size (3).")
        #expect(message { try crossEntropy(Tensor.zeros(4, 5), [1, 2, 3, 7]) } == "IndexError: Target 7 is out of bounds.")
        #expect(message { try maxPool2d(Tensor.zeros(1, 1, 4, 4), kernelSize: 3, stride: 1, padding: 2) }
                == "RuntimeError: pad should be at most half of effective kernel size, but got pad=2, kernel_size=3 and dilation=1")
        #expect(message { try batchNorm(Tensor.zeros(1, 3), runningMean: nil, runningVar: nil, training: true) }
                == "ValueError: Expected more than 1 value per channel when training, got input size torch.Size([1, 3])")
        #expect(message { try linear(Tensor.zeros(4, 3), weight: Tensor.zeros(2, 4), bias: Tensor.zeros(2)) }
                == "RuntimeError: addmm: mat1 and mat2 shapes cannot be multiplied (4x3 and 4x2)")
        #expect(message { try linear(Tensor.zeros(5, 4, 3), weight: Tensor.zeros(2, 4), bias: Tensor.zeros(2)) }
                == "RuntimeError: addmm: mat1 and mat2 shapes cannot be multiplied (20x3 and 4x2)")
    }

    @Test func softmaxLinearAndCrossEntropyDifferentiateTwice() throws {
        let x = Self.inputs([[3, 4], [2, 4], [2]])
        #expect(try gradgradcheck({ try $0[0].softmax(dim: 1) * $0[0] }, inputs: [x[0]]))
        #expect(try gradgradcheck({ try $0[0].logSoftmax(dim: 0).pow(2) }, inputs: [x[0]]))
        #expect(try gradgradcheck({ try crossEntropy(try linear($0[0], weight: $0[1], bias: $0[2]), [1, 0, 1]) }, inputs: x))
    }

    nonisolated(unsafe) static let secondOrder: [(String, [[Int]], ([Tensor]) throws -> Tensor)] = [
        ("conv2d", [[1, 2, 4, 4], [3, 2, 3, 3], [3]], { try conv2d($0[0], weight: $0[1], bias: $0[2], padding: 1).pow(2) }),
        ("conv2dStrideGroupsDilation", [[1, 4, 5, 5], [2, 2, 2, 2]], {
            try conv2d($0[0], weight: $0[1], stride: 2, padding: 1, dilation: Size2D(2, 1), groups: 2).pow(2)
        }),
        ("conv2dPointwise", [[2, 3, 2, 2], [2, 3, 1, 1]], { try conv2d($0[0], weight: $0[1]).pow(2) }),
        ("maxPool", [[1, 2, 4, 4]], { try maxPool2d($0[0], kernelSize: 3, stride: 2, padding: 1).pow(2) }),
        ("avgPool", [[1, 2, 5, 5]], { try avgPool2d($0[0], kernelSize: 3, stride: 2, padding: 1, countIncludePad: false).pow(2) }),
        ("adaptiveAvgPool2x3", [[1, 2, 5, 7]], { try adaptiveAvgPool2d($0[0], outputSize: Size2D(2, 3)).pow(2) }),
        ("adaptiveAvgPool1", [[2, 3, 2, 2]], { try adaptiveAvgPool2d($0[0], outputSize: 1).pow(2) }),
        ("batchNormTrain", [[3, 2, 2, 2], [2], [2]], {
            try batchNorm($0[0], runningMean: nil, runningVar: nil, weight: $0[1], bias: $0[2], training: true).pow(2)
        }),
        ("batchNormEval", [[2, 2, 2, 2], [2], [2]], {
            let mean = try Tensor(values: [0.1, -0.2], shape: [2], dtype: .float64)
            let variance = try Tensor(values: [1.5, 0.5], shape: [2], dtype: .float64)
            return try batchNorm($0[0], runningMean: mean, runningVar: variance, weight: $0[1], bias: $0[2]).pow(2)
        }),
    ]

    /// Under createGraph the backwards of convolution, pooling and batch norm are recorded ops:
    /// their gradients differentiate again (PyTorch's `…BackwardBackward0` nodes).
    @Test(arguments: 0..<secondOrder.count)
    func secondDerivativesMatchFiniteDifferences(_ index: Int) throws {
        let (name, shapes, op) = Self.secondOrder[index]
        #expect(try gradgradcheck(op, inputs: Self.inputs(shapes)), "\(name)")
    }

    @Test func doubleBackwardNodeNamesArePyTorchs() throws {
        try withStep { () throws -> Void in
            let x = Self.inputs([[1, 2, 4, 4], [3, 2, 3, 3]])
            let y = try conv2d(x[0], weight: x[1], padding: 1)
            let g = try grad(of: (y * y).sum(), withRespectTo: x, createGraph: true)
            #expect(g[0]?.gradFn?.name == "ConvolutionBackwardBackward0")
            #expect(g[1]?.gradFn?.name == "ConvolutionBackwardBackward0")
            func first(_ out: Tensor) throws -> String? {
                try grad(of: (out * out).sum(), withRespectTo: [x[0]], createGraph: true)[0]?.gradFn?.name
            }
            #expect(try first(try maxPool2d(x[0], kernelSize: 2)) == "MaxPool2DWithIndicesBackwardBackward0")
            #expect(try first(try avgPool2d(x[0], kernelSize: 2)) == "AvgPool2DBackwardBackward0")
            #expect(try first(try adaptiveAvgPool2d(x[0], outputSize: 3)) == "AdaptiveAvgPool2DBackwardBackward0")
        }
    }

    @Test func softmaxRowsSumToOne() throws {
        let x = try Tensor(values: [1, 2, 3, 1000, 1001, 1002], shape: [2, 3])
        let y = try x.softmax(dim: 1).scalars()
        #expect(allClose(y, [0.09003057, 0.24472847, 0.66524096, 0.09003057, 0.24472847, 0.66524096], atol: 1e-6))
    }
}
