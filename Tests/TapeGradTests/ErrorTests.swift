import Testing
import TapeGrad

/// Bad input gives PyTorch's message: thrown by the throwing spellings, a trap (checked in
/// a child process) from operators.
@Suite struct ErrorTests {
    @Test func broadcastMismatchNamesBothSizes() {
        let a = Tensor.ones(2, 3), b = Tensor.ones(2, 4)
        #expect(throws: TapeGradError(.runtimeError, "The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1")) {
            try a.add(b)
        }
        #expect(throws: TapeGradError(.runtimeError, "The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1")) {
            try a.mul(b)
        }
    }

    @Test func mmShapeMismatch() {
        #expect(throws: TapeGradError(.runtimeError, "mm: mat1 and mat2 shapes cannot be multiplied (3x5 and 4x2)")) {
            try Tensor.ones(3, 5).mm(Tensor.ones(4, 2))
        }
        #expect(throws: TapeGradError(.runtimeError, "mm: mat1 and mat2 shapes cannot be multiplied (3x5 and 4x2)")) {
            try Tensor.ones(3, 5).matmul(Tensor.ones(4, 2))
        }
    }

    @Test func matmulMismatchesNameTheProductAsPyTorchDoes() {
        // PyTorch 2.15's texts: every product mismatch is named after mm.
        #expect(throws: TapeGradError(.runtimeError, "mm: mat1 and mat2 shapes cannot be multiplied (1x5 and 4x2)")) {
            try Tensor.ones(5).matmul(Tensor.ones(4, 2))
        }
        #expect(throws: TapeGradError(.runtimeError, "mm: mat1 and mat2 shapes cannot be multiplied (6x5 and 4x2)")) {
            try Tensor.ones(2, 3, 5).matmul(Tensor.ones(4, 2))
        }
        #expect(throws: TapeGradError(.runtimeError, "size mismatch, got input (6), mat (6x5), vec (4)")) {
            try Tensor.ones(2, 3, 5).matmul(Tensor.ones(4))
        }
        #expect(throws: TapeGradError(.runtimeError, "Expected size for first two dimensions of batch2 tensor to be: [2, 5] but got: [2, 4].")) {
            try Tensor.ones(3, 5).matmul(Tensor.ones(2, 4, 2))
        }
    }

    @Test func inPlaceResultMustKeepItsShape() {
        #expect(throws: TapeGradError(.runtimeError, "output with shape [2] doesn't match the broadcast shape [3, 2]")) {
            try Tensor.zeros(2).copy_(Tensor.zeros(3, 2))
        }
        #expect(throws: TapeGradError(.runtimeError, "output with shape [2] doesn't match the broadcast shape [3, 2]")) {
            try Tensor.zeros(2).add_(Tensor.zeros(3, 2))
        }
    }

    @Test func backwardOnNonScalarNeedsGradient() {
        let x = Tensor.ones(2, requiresGrad: true)
        #expect(throws: TapeGradError(.runtimeError, "grad can be implicitly created only for scalar outputs")) {
            try (x * 2).backward()
        }
    }

    @Test func backwardWithoutGrad() {
        #expect(throws: TapeGradError(.runtimeError, "element 0 of tensors does not require grad and does not have a grad_fn")) {
            try Tensor.ones(2).sum().backward()
        }
    }

    @Test func backwardGradientShapeMismatch() {
        let x = Tensor.ones(2, 2, requiresGrad: true)
        #expect(throws: TapeGradError(.runtimeError, "Mismatch in shape: grad_output[0] has a shape of torch.Size([3]) and output[0] has a shape of torch.Size([2, 2]).")) {
            try (x * 2).backward(gradient: Tensor.ones(3))
        }
    }

    @Test func viewOfIncompatibleSize() {
        #expect(throws: TapeGradError(.runtimeError, "shape '[3, 3]' is invalid for input of size 4")) {
            try Tensor.ones(4).view(3, 3)
        }
        #expect(throws: TapeGradError(.runtimeError, "view size is not compatible with input tensor's size and stride (at least one dimension spans across two contiguous subspaces). Use .reshape(...) instead.")) {
            try Tensor.ones(2, 3).t().view(6)
        }
        #expect(throws: TapeGradError(.runtimeError, "only one dimension can be inferred")) {
            try Tensor.ones(4).view(-1, -1)
        }
    }

    @Test func dimensionOutOfRange() {
        #expect(throws: TapeGradError(.indexError, "Dimension out of range (expected to be in range of [-2, 1], but got 2)")) {
            try Tensor.ones(2, 3).sum(dim: 2)
        }
    }

    @Test func itemOfManyElements() {
        #expect(throws: TapeGradError(.runtimeError, "a Tensor with 4 elements cannot be converted to Scalar")) {
            try Tensor.ones(4).item()
        }
    }

    @Test func raggedLiteral() {
        #expect(throws: TapeGradError(.valueError, "expected sequence of length 2 at dim 1 (got 3)")) {
            try Tensor(validating: [[1.0, 2.0], [1.0, 2.0, 3.0]])
        }
    }

    @Test func operatorTrapsWithTheMessage() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor.ones(2, 3) + Tensor.ones(2, 4)
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(text.contains("RuntimeError: The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1"))
    }
}

/// NN kernels read floats: other element types are refused with PyTorch's message, never
/// handed to a kernel.
@Suite struct NNDTypeErrorTests {
    static let bools = Tensor.ones([1, 1, 4, 4], dtype: .bool)

    @Test func poolingRefusesBool() {
        #expect(throws: TapeGradError(.notImplementedError, "\"max_pool2d\" not implemented for 'Bool'")) {
            try maxPool2d(Self.bools, kernelSize: 2)
        }
        #expect(throws: TapeGradError(.notImplementedError, "\"avg_pool2d\" not implemented for 'Bool'")) {
            try avgPool2d(Self.bools, kernelSize: 2)
        }
        #expect(throws: TapeGradError(.notImplementedError, "\"adaptive_avg_pool2d\" not implemented for 'Bool'")) {
            try adaptiveAvgPool2d(Self.bools, outputSize: 2)
        }
    }

    @Test func linearRefusesBool() {
        #expect(throws: TapeGradError(.notImplementedError, "\"addmm_impl_cpu_\" not implemented for 'Bool'")) {
            try linear(Tensor.ones([2, 3], dtype: .bool), weight: Tensor.ones([4, 3], dtype: .bool), bias: Tensor.ones([4], dtype: .bool))
        }
    }

    @Test func batchNormRefusesMixedDTypes() {
        #expect(throws: TapeGradError(.runtimeError, "mixed dtype (CPU): expect parameter to have scalar type of Float")) {
            try batchNorm(Tensor.ones(2, 3), runningMean: Tensor.zeros([3], dtype: .float64), runningVar: Tensor.ones([3], dtype: .float64))
        }
    }
}
