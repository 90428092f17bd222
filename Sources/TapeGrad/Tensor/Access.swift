// Reading values out of tensors, and printing them as PyTorch does.

extension Tensor {
    /// The value of a one-element tensor (`tensor.item()`), as a `Double` (an int64 beyond
    /// 2^53 rounds: ``intItem()`` gives it exactly).
    public func item() throws(TapeGradError) -> Double {
        try checkOneElement()
        return memory.load(self)
    }

    /// The value of a one-element tensor as an `Int` (`tensor.item()` of an integer tensor;
    /// a float is truncated toward zero).
    public func intItem() throws(TapeGradError) -> Int {
        try checkOneElement()
        return Int(info.dtype.withElement(LoadInteger(pointer: UnsafeRawPointer(engine.pointee.rawBase(self)))))
    }

    /// The value of a one-element tensor as the `Number` it is: exact for integers.
    func number() throws(TapeGradError) -> Number {
        switch dtype.category {
        case .floating: Number(try item())
        case .integral: Number(try intItem())
        case .boolean: Number(try item() != 0)
        }
    }

    private func checkOneElement() throws(TapeGradError) {
        let n = info.shape.product
        guard n == 1 else { throw .runtime("a Tensor with \(n) elements cannot be converted to Scalar") }
    }

    /// Every element in row-major order, widened to `Double` (`tensor.tolist()`, flattened).
    public func scalars() -> [Double] { elements(as: Double.self, .float64) }

    /// Every element in row-major order as an `Int64`, exact for integer tensors (floats are
    /// truncated toward zero, as `tensor.long().tolist()`).
    public func integerScalars() -> [Int64] { elements(as: Int64.self, .int64) }

    private func elements<T: TensorElement>(as _: T.Type, _ dtype: DType) -> [T] {
        let s = info
        var values = [T](repeating: T(fromInt64: 0), count: s.shape.product)
        let e = engine
        values.withUnsafeMutableBufferPointer { out in
            guard let out = out.baseAddress else { return }
            s.dtype.withElement(Conversion(source: UnsafeRawPointer(e.pointee.rawBase(self)), shape: s.shape, strides: s.strides,
                                           target: UnsafeMutableRawPointer(out), targetType: dtype))
        }
        return values
    }

    /// Every element as `Bool` (nonzero is true).
    public func boolScalars() -> [Bool] { scalars().map { $0 != 0 } }
}

/// Reads one element as an `Int64`.
struct LoadInteger: ElementComputation {
    let pointer: UnsafeRawPointer

    @inline(__always)
    func run<T: TensorElement>(_: T.Type) -> Int64 { pointer.assumingMemoryBound(to: T.self)[0].int64Value }
}

extension Tensor: CustomStringConvertible {
    /// PyTorch's repr of the tensor: `tensor([[3., 3.],\n        [3., 3.]], grad_fn=<AddBackward0>)`.
    public var description: String {
        _ = engine.pointee.history(self)
        let s = info
        var suffixes: [String] = []
        // `_str_intern`: the dtype is shown unless it is float32, int64 or bool, and for an
        // empty tensor unless it is float32 (nothing shows what it holds).
        let impliedType = s.shape.product == 0 ? s.dtype == .float32 : [.float32, .int64, .bool].contains(s.dtype)
        if !impliedType {
            suffixes.append("dtype=\(s.dtype)")
        }
        if s.gradFn >= 0 {
            suffixes.append("grad_fn=<\(engine.pointee.tape[Int(s.gradFn)].nodeName)>")
        } else if s.flags.contains(.requiresGrad) {
            suffixes.append("requires_grad=True")
        }
        let elements: TensorFormatting.Elements = switch s.dtype.category {
        case .floating: .float(scalars())
        case .boolean: .bool(scalars())
        case .integral: .integer(integerScalars())
        }
        return TensorFormatting.repr(shape: s.shape.array, elements: elements, suffixes: suffixes)
    }
}
