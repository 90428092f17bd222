// ResNet-18 as torchvision builds it (`torchvision.models.resnet18`): the same modules, the
// same state-dict names (`conv1.weight`, `layer1.0.bn1.running_mean`, `layer2.0.downsample.0.weight`,
// `fc.bias`, …) and the same initialisation rules (Kaiming-normal fan-out for convolutions,
// batch norms at weight 1 and bias 0, PyTorch's default for the final linear layer). With
// 1000 classes it has 11,689,512 parameters.

/// torchvision's `BasicBlock`: two 3×3 convolutions with batch norm and ReLU, added to the
/// input (through a 1×1 convolution and batch norm when the shape changes).
public final class BasicBlock: Module {
    /// 3×3 convolution, with the block's stride.
    public let conv1: Conv2d
    /// Batch norm after `conv1`.
    public let bn1: BatchNorm2d
    /// 3×3 convolution.
    public let conv2: Conv2d
    /// Batch norm after `conv2`.
    public let bn2: BatchNorm2d
    /// 1×1 convolution and batch norm matching the input to the output, when needed.
    public let downsample: Sequential?
    /// Whether in training mode.
    public var isTraining = true

    /// A block from `inPlanes` to `planes` channels.
    public init(_ inPlanes: Int, _ planes: Int, stride: Int = 1, dtype: DType = .float32) {
        conv1 = Conv2d(inPlanes, planes, kernelSize: 3, stride: Size2D(stride), padding: 1, bias: false, dtype: dtype)
        bn1 = BatchNorm2d(planes, dtype: dtype)
        conv2 = Conv2d(planes, planes, kernelSize: 3, padding: 1, bias: false, dtype: dtype)
        bn2 = BatchNorm2d(planes, dtype: dtype)
        if stride != 1 || inPlanes != planes {
            downsample = Sequential(Conv2d(inPlanes, planes, kernelSize: 1, stride: Size2D(stride), bias: false, dtype: dtype),
                                    BatchNorm2d(planes, dtype: dtype))
        } else {
            downsample = nil
        }
    }

    /// `conv1`, `bn1`, `conv2`, `bn2` and `downsample`.
    public var children: [(name: String, module: any Module)] {
        var result: [(name: String, module: any Module)] = [("conv1", conv1), ("bn1", bn1), ("conv2", conv2), ("bn2", bn2)]
        if let downsample { result.append(("downsample", downsample)) }
        return result
    }

    /// `relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))`.
    public func forward(_ input: Tensor) throws(TapeGradError) -> Tensor {
        let out = try bn2(try conv2(try bn1(try conv1(input)).relu()))
        let identity = try downsample?.forward(input) ?? input
        return try out.add(identity).relu()
    }
}

/// torchvision's `ResNet` with basic blocks.
public final class ResNet: Module {
    /// 7×7 convolution, stride 2.
    public let conv1: Conv2d
    /// Batch norm after `conv1`.
    public let bn1: BatchNorm2d
    /// 3×3 max pooling, stride 2.
    public let maxpool: MaxPool2d
    /// The four stages of blocks.
    public let layer1: Sequential, layer2: Sequential, layer3: Sequential, layer4: Sequential
    /// Global average pooling.
    public let avgpool: AdaptiveAvgPool2d
    /// The classifier.
    public let fc: Linear
    /// Whether in training mode.
    public var isTraining = true

    /// A ResNet with `blocks[i]` basic blocks in stage `i` and `numClasses` outputs.
    public init(blocks: [Int], numClasses: Int = 1000, dtype: DType = .float32) {
        check(blocks.count == 4, "a ResNet has four stages")
        conv1 = Conv2d(3, 64, kernelSize: 7, stride: 2, padding: 3, bias: false, dtype: dtype)
        bn1 = BatchNorm2d(64, dtype: dtype)
        maxpool = MaxPool2d(kernelSize: 3, stride: 2, padding: 1)
        var inPlanes = 64
        func stage(_ planes: Int, _ count: Int, stride: Int) -> Sequential {
            var modules: [any Module] = [BasicBlock(inPlanes, planes, stride: stride, dtype: dtype)]
            inPlanes = planes
            for _ in 1..<Swift.max(count, 1) { modules.append(BasicBlock(inPlanes, planes, dtype: dtype)) }
            return Sequential(modules)
        }
        layer1 = stage(64, blocks[0], stride: 1)
        layer2 = stage(128, blocks[1], stride: 2)
        layer3 = stage(256, blocks[2], stride: 2)
        layer4 = stage(512, blocks[3], stride: 2)
        avgpool = AdaptiveAvgPool2d(outputSize: 1)
        fc = Linear(512, numClasses, dtype: dtype)
        // torchvision: Kaiming-normal (fan-out, ReLU) convolutions; batch norms start at 1 and 0.
        for (_, parameter) in namedParameters() where parameter.rank == 4 {
            Init.kaimingNormal_(parameter, mode: .fanOut)
        }
    }

    /// `conv1`, `bn1`, `maxpool`, `layer1`…`layer4`, `avgpool`, `fc` (torchvision's order).
    public var children: [(name: String, module: any Module)] {
        [("conv1", conv1), ("bn1", bn1), ("maxpool", maxpool), ("layer1", layer1), ("layer2", layer2),
         ("layer3", layer3), ("layer4", layer4), ("avgpool", avgpool), ("fc", fc)]
    }

    /// Class scores `[N, numClasses]` for images `[N, 3, H, W]`.
    public func forward(_ input: Tensor) throws(TapeGradError) -> Tensor {
        var x = try maxpool(try bn1(try conv1(input)).relu())
        x = try layer4(try layer3(try layer2(try layer1(x))))
        return try fc(try avgpool(x).flatten(startDim: 1))
    }
}

/// ResNet-18 (`torchvision.models.resnet18(weights=None, num_classes=...)`): two basic blocks
/// per stage, randomly initialised from the thread's generator (see ``manualSeed(_:)``).
public func resnet18(numClasses: Int = 1000, dtype: DType = .float32) -> ResNet {
    ResNet(blocks: [2, 2, 2, 2], numClasses: numClasses, dtype: dtype)
}
