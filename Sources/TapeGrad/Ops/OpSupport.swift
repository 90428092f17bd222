/// Shapes, dimensions and dtype dispatch shared by the ops.
enum Shapes {
    /// NumPy broadcasting of two shapes, with PyTorch's message when they do not broadcast.
    static func broadcast(_ a: Dims, _ b: Dims) throws(TapeGradError) -> Dims {
        let rank = max(a.count, b.count)
        var result = Dims()
        for i in 0..<rank {
            let da = i - (rank - a.count)
            let db = i - (rank - b.count)
            let sa = da >= 0 ? a[da] : 1
            let sb = db >= 0 ? b[db] : 1
            if sa == sb || sb == 1 {
                result.append(sa)
            } else if sa == 1 {
                result.append(sb)
            } else {
                throw .runtime(
                    "The size of tensor a (\(sa)) must match the size of tensor b (\(sb)) at non-singleton dimension \(i)")
            }
        }
        return result
    }

    /// The strides that read a tensor of `shape`/`strides` as if expanded to `target`
    /// (zero along broadcast dimensions). `target` must be a broadcast of `shape`.
    static func broadcastStrides(shape: Dims, strides: Dims, to target: Dims) -> Dims {
        var result = Dims()
        let lead = target.count - shape.count
        for i in 0..<target.count {
            let d = i - lead
            result.append(d >= 0 && shape[d] == target[i] ? strides[d] : 0)
        }
        return result
    }

    /// Wraps a possibly negative dimension into `0..<rank`, with PyTorch's message.
    static func normalize(dim: Int, rank: Int) throws(TapeGradError) -> Int {
        let r = max(rank, 1)
        guard dim >= -r && dim < r else {
            throw .index("Dimension out of range (expected to be in range of [\(-r), \(r - 1)], but got \(dim))")
        }
        return dim < 0 ? dim + r : dim
    }

    /// A set of dimensions as a bit mask; an empty list means every dimension.
    static func mask(dims: [Int], rank: Int) throws(TapeGradError) -> UInt32 {
        if dims.isEmpty { return rank == 0 ? 0 : UInt32((1 << rank) - 1) }
        var mask: UInt32 = 0
        for dim in dims {
            let d = try normalize(dim: dim, rank: rank)
            guard rank > 0 else { continue }
            if mask & (1 << d) != 0 {
                throw .runtime("dim \(d) appears multiple times in the list of dims")
            }
            mask |= 1 << d
        }
        return mask
    }
}

extension Engine {
    /// The slot of a floating-point operand, converting a bool tensor to float32 first
    /// (PyTorch promotes bool to the default float type in arithmetic).
    mutating func floatOperand(_ tensor: Tensor) -> Tensor {
        slot(tensor).pointee.dtype == .bool ? convert(tensor, to: .float32) : tensor
    }

    /// A contiguous copy of a tensor in another dtype (no record: callers record).
    mutating func convert(_ tensor: Tensor, to dtype: DType) -> Tensor {
        let source = slot(tensor).pointee
        let out = makeTensor(shape: source.shape, dtype: dtype)
        let shape = source.shape, strides = source.strides
        switch (source.dtype, dtype) {
        case (.float32, .float32):
            Kernels.copy(base(tensor, as: Float.self), shape: shape, strides: strides, base(out, as: Float.self)) { $0 }
        case (.float32, .float64):
            Kernels.copy(base(tensor, as: Float.self), shape: shape, strides: strides, base(out, as: Double.self)) { Double($0) }
        case (.float64, .float32):
            Kernels.copy(base(tensor, as: Double.self), shape: shape, strides: strides, base(out, as: Float.self)) { Float($0) }
        case (.float64, .float64):
            Kernels.copy(base(tensor, as: Double.self), shape: shape, strides: strides, base(out, as: Double.self)) { $0 }
        case (.bool, .float32):
            Kernels.copy(base(tensor, as: UInt8.self), shape: shape, strides: strides, base(out, as: Float.self)) { $0 != 0 ? 1 : 0 }
        case (.bool, .float64):
            Kernels.copy(base(tensor, as: UInt8.self), shape: shape, strides: strides, base(out, as: Double.self)) { $0 != 0 ? 1 : 0 }
        case (.float32, .bool):
            Kernels.copy(base(tensor, as: Float.self), shape: shape, strides: strides, base(out, as: UInt8.self)) { $0 != 0 ? 1 : 0 }
        case (.float64, .bool):
            Kernels.copy(base(tensor, as: Double.self), shape: shape, strides: strides, base(out, as: UInt8.self)) { $0 != 0 ? 1 : 0 }
        case (.bool, .bool):
            Kernels.copy(base(tensor, as: UInt8.self), shape: shape, strides: strides, base(out, as: UInt8.self)) { $0 }
        }
        return out
    }

    /// `K` applied to each element into a new contiguous tensor (no record: callers record).
    mutating func mapUnary<K: UnaryKernel>(_: K.Type, _ x: Tensor, _ p0: Double = 0, _ p1: Double = 0) -> Tensor {
        var x = x
        var p = slot(x)
        if p.pointee.dtype == .bool {
            x = convert(x, to: .float32)
            p = slot(x)
        }
        let dtype = p.pointee.dtype
        let shape = p.pointee.shape
        let contiguous = p.pointee.flags.contains(.contiguous)
        let strides = contiguous ? shape : p.pointee.strides
        let out = makeTensor(shape: shape, dtype: dtype)
        if dtype == .float64 {
            Kernels.unary(K.self, base(x, as: Double.self), shape: shape, strides: strides,
                          contiguous: contiguous, base(out, as: Double.self), p0, p1)
        } else {
            Kernels.unary(K.self, base(x, as: Float.self), shape: shape, strides: strides,
                          contiguous: contiguous, base(out, as: Float.self), Float(p0), Float(p1))
        }
        return out
    }

    /// `K` applied to broadcast pairs of elements into a new contiguous tensor (no record).
    mutating func mapBinary<K: BinaryKernel>(_ kernel: K.Type, _ a: Tensor, _ b: Tensor) throws(TapeGradError) -> Tensor {
        // Fast path: same shape, same float dtype, both contiguous — one flat loop.
        let pa = slot(a), pb = slot(b)
        let dtype = pa.pointee.dtype
        if dtype == pb.pointee.dtype && dtype != .bool && pa.pointee.flags.contains(.contiguous)
            && pb.pointee.flags.contains(.contiguous) && pa.pointee.shape == pb.pointee.shape {
            let shape = pa.pointee.shape
            let out = makeTensor(shape: shape, dtype: dtype)
            let n = shape.product
            if dtype == .float64 {
                Self.flat(kernel, base(a, as: Double.self), base(b, as: Double.self), base(out, as: Double.self), n)
            } else {
                Self.flat(kernel, base(a, as: Float.self), base(b, as: Float.self), base(out, as: Float.self), n)
            }
            return out
        }
        return try mapBinaryBroadcasting(kernel, a, b)
    }

    @inline(__always)
    static func flat<K: BinaryKernel, T: FloatElement>(_: K.Type, _ a: UnsafePointer<T>, _ b: UnsafePointer<T>, _ out: UnsafeMutablePointer<T>, _ n: Int) {
        for i in 0..<n { out[i] = K.apply(a[i], b[i]) }
    }

    private mutating func mapBinaryBroadcasting<K: BinaryKernel>(_: K.Type, _ a: Tensor, _ b: Tensor) throws(TapeGradError) -> Tensor {
        var a = floatOperand(a), b = floatOperand(b)
        var sa = slot(a).pointee, sb = slot(b).pointee
        let shape = try Shapes.broadcast(sa.shape, sb.shape)
        let dtype = DType.promote(sa.dtype, sb.dtype)
        if sa.dtype != dtype { a = convert(a, to: dtype); sa = slot(a).pointee }
        if sb.dtype != dtype { b = convert(b, to: dtype); sb = slot(b).pointee }
        let out = makeTensor(shape: shape, dtype: dtype)
        let flatA = sa.shape == shape && sa.isContiguous
        let flatB = sb.shape == shape && sb.isContiguous
        let stridesA = Shapes.broadcastStrides(shape: sa.shape, strides: sa.strides, to: shape)
        let stridesB = Shapes.broadcastStrides(shape: sb.shape, strides: sb.strides, to: shape)
        if dtype == .float64 {
            Kernels.binary(K.self, base(a, as: Double.self), stridesA, base(b, as: Double.self), stridesB,
                           shape: shape, flatA: flatA, flatB: flatB, base(out, as: Double.self))
        } else {
            Kernels.binary(K.self, base(a, as: Float.self), stridesA, base(b, as: Float.self), stridesB,
                           shape: shape, flatA: flatA, flatB: flatB, base(out, as: Float.self))
        }
        return out
    }

    /// `K` on broadcast pairs of elements into a new bool tensor (never recorded).
    mutating func compare<K: CompareKernel>(_: K.Type, _ a: Tensor, _ b: Tensor) throws(TapeGradError) -> Tensor {
        var a = floatOperand(a), b = floatOperand(b)
        var sa = slot(a).pointee, sb = slot(b).pointee
        let shape = try Shapes.broadcast(sa.shape, sb.shape)
        let dtype = DType.promote(sa.dtype, sb.dtype)
        if sa.dtype != dtype { a = convert(a, to: dtype); sa = slot(a).pointee }
        if sb.dtype != dtype { b = convert(b, to: dtype); sb = slot(b).pointee }
        let out = makeTensor(shape: shape, dtype: .bool)
        let stridesA = Shapes.broadcastStrides(shape: sa.shape, strides: sa.strides, to: shape)
        let stridesB = Shapes.broadcastStrides(shape: sb.shape, strides: sb.strides, to: shape)
        if dtype == .float64 {
            Kernels.compare(K.self, base(a, as: Double.self), stridesA, base(b, as: Double.self), stridesB,
                            shape: shape, base(out, as: UInt8.self))
        } else {
            Kernels.compare(K.self, base(a, as: Float.self), stridesA, base(b, as: Float.self), stridesB,
                            shape: shape, base(out, as: UInt8.self))
        }
        return out
    }

    /// A 0-dimensional tensor holding `value`.
    mutating func scalar(_ value: Double, dtype: DType) -> Tensor {
        let out = makeTensor(shape: Dims(), dtype: dtype)
        switch dtype {
        case .float32: base(out, as: Float.self).pointee = Float(value)
        case .float64: base(out, as: Double.self).pointee = value
        case .bool: base(out, as: UInt8.self).pointee = value != 0 ? 1 : 0
        }
        return out
    }
}
