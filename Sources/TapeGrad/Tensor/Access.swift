// Reading values out of tensors, and printing them as PyTorch does.

extension Tensor {
    /// The value of a one-element tensor (`tensor.item()`).
    public func item() throws(TapeGradError) -> Double {
        let s = info
        let n = s.shape.product
        guard n == 1 else { throw .runtime("a Tensor with \(n) elements cannot be converted to Scalar") }
        return engine.pointee.load(self)
    }

    /// Every element in row-major order, widened to `Double` (`tensor.tolist()`, flattened).
    public func scalars() -> [Double] {
        let s = info
        var values = [Double](repeating: 0, count: s.shape.product)
        let e = engine
        values.withUnsafeMutableBufferPointer { out in
            guard let out = out.baseAddress else { return }
            s.dtype.withElement(Conversion(source: UnsafeRawPointer(e.pointee.rawBase(self)), shape: s.shape, strides: s.strides,
                                           target: UnsafeMutableRawPointer(out), targetType: .float64))
        }
        return values
    }

    /// Every element as `Bool` (nonzero is true).
    public func boolScalars() -> [Bool] { scalars().map { $0 != 0 } }
}

extension Tensor: CustomStringConvertible {
    /// PyTorch's repr of the tensor: `tensor([[3., 3.],\n        [3., 3.]], grad_fn=<AddBackward0>)`.
    public var description: String {
        _ = engine.pointee.history(self)
        let s = info
        var suffixes: [String] = []
        if s.dtype == .float64 || (s.dtype == .bool && s.shape.product == 0) {
            suffixes.append("dtype=\(s.dtype)")
        }
        if s.gradFn >= 0 {
            suffixes.append("grad_fn=<\(engine.pointee.tape[Int(s.gradFn)].nodeName)>")
        } else if s.flags.contains(.requiresGrad) {
            suffixes.append("requires_grad=True")
        }
        return TensorFormatting.repr(
            shape: s.shape.array, values: scalars(), kind: s.dtype == .bool ? .bool : .float, suffixes: suffixes)
    }
}
