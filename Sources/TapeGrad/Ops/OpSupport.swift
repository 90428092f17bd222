extension Double {
    /// A number as PyTorch's messages print it: a whole one without a fraction (`2`, as C++'s
    /// stream does, and as Python prints PyTorch's integer defaults, `momentum: 0`), any other
    /// as Swift does (`0.5`, `1e-05`, `inf`).
    var messageText: String {
        self == rounded() && Swift.abs(self) < 1e16 ? String(Int(self)) : "\(self)"
    }
}

/// Shapes, dimensions and dtype dispatch shared by the ops.
enum Shapes {
    /// NumPy broadcasting of two shapes, with PyTorch's message when they do not broadcast.
    static func broadcast(_ a: Dims, _ b: Dims) throws(TapeGradError) -> Dims {
        let rank = max(a.count, b.count)
        // PyTorch checks from the last dimension and names the first mismatch it meets.
        var i = rank - 1
        while i >= 0 {
            let da = i - (rank - a.count), db = i - (rank - b.count)
            let sa = da >= 0 ? a[da] : 1, sb = db >= 0 ? b[db] : 1
            if sa != sb && sa != 1 && sb != 1 {
                throw .runtime(
                    "The size of tensor a (\(sa)) must match the size of tensor b (\(sb)) at non-singleton dimension \(i)")
            }
            i -= 1
        }
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

    /// Checks that `source` broadcasts to exactly `target`, the shape an in-place op writes,
    /// with PyTorch's messages.
    static func checkInPlace(target: Dims, source: Dims) throws(TapeGradError) {
        let broadcast = try broadcast(target, source)
        guard broadcast == target else {
            throw .runtime("output with shape \(target.array) doesn't match the broadcast shape \(broadcast.array)")
        }
    }

    /// Throws when a shape has more dimensions than a tensor can hold (PyTorch allows more).
    static func checkRank(_ rank: Int) throws(TapeGradError) {
        guard rank <= Dims.maxRank else {
            throw .runtime("TapeGrad supports tensors of at most \(Dims.maxRank) dimensions, got a shape of \(rank)")
        }
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
        // Every dim is checked against the rank before any repeat, as PyTorch does.
        for dim in dims { _ = try normalize(dim: dim, rank: rank) }
        var mask: UInt32 = 0
        // A 0-dim tensor's dims (-1 and 0) are both dim 0: twice is a repeat, as in PyTorch.
        var seen: UInt32 = 0
        for dim in dims {
            let d = try normalize(dim: dim, rank: rank)
            if seen & (1 << d) != 0 {
                throw .runtime("dim \(d) appears multiple times in the list of dims")
            }
            seen |= 1 << d
            if rank > 0 { mask |= 1 << d }
        }
        return mask
    }
}

extension TensorMemory {
    /// An operand in a type the float kernels compute in: float32 and float64 as they are; a
    /// bool or integer tensor (PyTorch computes float functions of those in the default float
    /// type) and a float16 or bfloat16 one (computed in float32) converted to float32.
    func floatOperand(_ tensor: Tensor) -> Tensor {
        let dtype = slot(tensor).pointee.dtype
        return dtype.isFloatingPoint && !dtype.isReducedPrecision ? tensor : convert(tensor, to: .float32)
    }

    /// A result computed in float32 stored in `dtype` when that is a float16 or bfloat16 type
    /// (rounded to nearest-even, as PyTorch's kernels store them); any other result, and
    /// `.null`, as it is.
    func rounded(_ result: Tensor, to dtype: DType) -> Tensor {
        guard dtype.isReducedPrecision, !result.isNull, slot(result).pointee.dtype != dtype else { return result }
        return convert(result, to: dtype)
    }

    /// A backward for float16/bfloat16 operands: `body` on float32 copies of the input (`a`),
    /// the weight (`b`) and the gradient (and, with `readsCAndResult`, of `c` and the result),
    /// each gradient then rounded to its operand's dtype (a float32 weight beside a 2-byte input
    /// keeps a float32 gradient).
    func widenedBackward(_ r: Record, _ g: Tensor, readsCAndResult: Bool = false, _ body: (Record, Tensor) -> Gradients) -> Gradients {
        var wide = r
        wide.a = kernelOperand(r.a)
        if !r.b.isNull { wide.b = kernelOperand(r.b) }
        if readsCAndResult {
            if !r.c.isNull { wide.c = kernelOperand(r.c) }
            wide.result = kernelOperand(r.result)
        }
        var grads = body(wide, kernelOperand(g))
        grads.a = rounded(grads.a, to: slot(r.a).pointee.dtype)
        if !r.b.isNull { grads.b = rounded(grads.b, to: slot(r.b).pointee.dtype) }
        if !r.c.isNull { grads.c = rounded(grads.c, to: slot(r.c).pointee.dtype) }
        return grads
    }

    /// Runs `body` on a float32 copy of a float16 or bfloat16 `target` and writes the copy back
    /// rounded: an in-place update of a reduced-precision tensor (`body` gets `target` itself
    /// for other dtypes).
    func updating<R>(_ target: Tensor, _ body: (Tensor) throws(TapeGradError) -> R) throws(TapeGradError) -> R {
        guard slot(target).pointee.dtype.isReducedPrecision else { return try body(target) }
        let wide = convert(target, to: .float32)
        let result = try body(wide)
        copyValues(from: wide, into: target)
        return result
    }

    /// A contiguous copy of a tensor in another dtype (no record: callers record).
    func convert(_ tensor: Tensor, to dtype: DType) -> Tensor {
        let source = slot(tensor).pointee
        let out = makeTensor(shape: source.shape, dtype: dtype)
        source.dtype.withElement(Conversion(
            source: UnsafeRawPointer(rawBase(tensor)), shape: source.shape, strides: source.strides,
            target: rawBase(out), targetType: dtype))
        return out
    }

    /// `K` applied to each element into a new contiguous tensor (no record: callers record).
    /// The numbers `p0`, `p1` take part in the result type as PyTorch's wrapped numbers: an
    /// integer tensor with an `Int` stays integer for a kernel with an integer form, with a
    /// `Double` it computes in float32.
    func mapUnary<K: UnaryKernel>(_: K.Type, _ x: Tensor, _ p0: Number = .none, _ p1: Number = .none) -> Tensor {
        var x = x
        let inputType = slot(x).pointee.dtype
        let dtype = inputType.isFloatingPoint ? DType.computeType(for: inputType, integerKernel: false) : DType.computeType(
            for: inputType.resultType(withNumber: max(p0.kind, p1.kind)), integerKernel: K.self is IntegerUnaryKernel.Type)
        if inputType != dtype { x = convert(x, to: dtype) }
        let s = slot(x).pointee
        let out = makeTensor(shape: s.shape, dtype: dtype)
        if dtype.isIntegral, let integerKernel = K.self as? any IntegerUnaryKernel.Type {
            mapUnaryIntegers(integerKernel, s, x: rawBase(x), out: rawBase(out), p0, p1)
        } else {
            dtype.withFloatElement(UnaryMap<K>(
                x: UnsafeRawPointer(rawBase(x)), shape: s.shape, strides: s.strides, contiguous: s.isContiguous,
                out: rawBase(out), p0: p0.double, p1: p1.double))
        }
        return rounded(out, to: inputType)
    }

    private func mapUnaryIntegers<K: IntegerUnaryKernel>(
        _: K.Type, _ s: TensorSlot, x: UnsafeMutableRawPointer, out: UnsafeMutableRawPointer, _ p0: Number, _ p1: Number
    ) {
        s.dtype.withIntegerElement(IntegerUnaryMap<K>(
            x: UnsafeRawPointer(x), shape: s.shape, strides: s.strides, contiguous: s.isContiguous,
            out: out, p0: p0.integer, p1: p1.integer))
    }

    /// Two operands brought to the dtype a kernel computes them in, with the strides that
    /// read each over their broadcast shape (zero along broadcast dimensions).
    struct BroadcastPair {
        var a: Tensor, b: Tensor
        var shape: Dims
        /// The type computed in, and PyTorch's result type (bool computes in float32).
        var dtype: DType, resultType: DType
        var stridesA: Dims, stridesB: Dims
        /// Whether an operand is contiguous and already of the broadcast shape.
        var flatA: Bool, flatB: Bool
    }

    /// Broadcasts two operands (PyTorch's message when they do not), converting both to the
    /// type computed in (`computeType(for:integerKernel:)` of PyTorch's result type).
    /// (`integerKernel` is asked only for an integer result, so the dynamic cast it may take
    /// stays off the float path.)
    /// Bool operands compute in `bool` (float32, or uint8 for the bitwise kernels).
    func broadcastPair(
        _ a: Tensor, _ b: Tensor, integerKernel: @autoclosure () -> Bool, bool: DType = .float32
    ) throws(TapeGradError) -> BroadcastPair {
        let resultType = DType.resultType(slot(a).pointee.dtype, dimensioned: slot(a).pointee.shape.count > 0,
                                          slot(b).pointee.dtype, dimensioned: slot(b).pointee.shape.count > 0)
        let dtype = resultType.isIntegral ? DType.computeType(for: resultType, integerKernel: integerKernel())
                                          : DType.computeType(for: resultType, integerKernel: false, bool: bool)
        var a = a, b = b
        let shape = try Shapes.broadcast(slot(a).pointee.shape, slot(b).pointee.shape)
        if slot(a).pointee.dtype != dtype { a = convert(a, to: dtype) }
        if slot(b).pointee.dtype != dtype { b = convert(b, to: dtype) }
        let sa = slot(a).pointee, sb = slot(b).pointee
        return BroadcastPair(
            a: a, b: b, shape: shape, dtype: dtype, resultType: resultType,
            stridesA: Shapes.broadcastStrides(shape: sa.shape, strides: sa.strides, to: shape),
            stridesB: Shapes.broadcastStrides(shape: sb.shape, strides: sb.strides, to: shape),
            flatA: sa.shape == shape && sa.isContiguous, flatB: sb.shape == shape && sb.isContiguous)
    }

    /// `K` applied to broadcast pairs of elements into a new contiguous tensor (no record).
    func mapBinary<K: BinaryKernel>(_ kernel: K.Type, _ a: Tensor, _ b: Tensor) throws(TapeGradError) -> Tensor {
        // Fast path (most calls): same shape, same float dtype, both contiguous — one flat
        // loop, no broadcasting arithmetic.
        let pa = slot(a), pb = slot(b)
        let dtype = pa.pointee.dtype
        if dtype == pb.pointee.dtype && dtype.isFloatingPoint && !dtype.isReducedPrecision && pa.pointee.flags.contains(.contiguous)
            && pb.pointee.flags.contains(.contiguous) && pa.pointee.shape == pb.pointee.shape {
            let n = pa.pointee.shape.product
            let out = makeTensor(shape: pa.pointee.shape, dtype: dtype)
            dtype.withFloatElement(FlatMap<K>(a: UnsafeRawPointer(rawBase(a)), b: UnsafeRawPointer(rawBase(b)), out: rawBase(out), count: n))
            return out
        }
        // Large matrices of one float dtype in different memory orders (a transposed gradient
        // meeting a row-major one, as a tied weight's two gradients do): in tiles, so that
        // both are read from cache.
        if dtype == pb.pointee.dtype && dtype.isFloatingPoint && !dtype.isReducedPrecision && pa.pointee.shape == pb.pointee.shape
            && pa.pointee.shape.count == 2 && pa.pointee.shape.product >= 1 << 16 {
            let shape = pa.pointee.shape
            let out = makeTensor(shape: shape, dtype: dtype)
            dtype.withFloatElement(TiledMap<K>(
                a: UnsafeRawPointer(rawBase(a)), stridesA: pa.pointee.strides, b: UnsafeRawPointer(rawBase(b)), stridesB: pb.pointee.strides,
                rows: shape[0], cols: shape[1], out: rawBase(out)))
            return out
        }
        let pair = try broadcastPair(a, b, integerKernel: K.self is IntegerBinaryKernel.Type)
        let out = makeTensor(shape: pair.shape, dtype: pair.dtype)
        if pair.dtype.isIntegral, let integerKernel = K.self as? any IntegerBinaryKernel.Type {
            mapBinaryIntegers(integerKernel, pair, out: rawBase(out))
        } else {
            pair.dtype.withFloatElement(BinaryMap<K>(
                a: UnsafeRawPointer(rawBase(pair.a)), stridesA: pair.stridesA, b: UnsafeRawPointer(rawBase(pair.b)), stridesB: pair.stridesB,
                shape: pair.shape, flatA: pair.flatA, flatB: pair.flatB, out: rawBase(out)))
        }
        // Bool with bool computed on 0s and 1s (the fast path above never sees bool).
        if K.keepsBool && pair.resultType == .bool { return convert(out, to: .bool) }
        return rounded(out, to: pair.resultType)
    }

    private func mapBinaryIntegers<K: IntegerBinaryKernel>(_: K.Type, _ pair: BroadcastPair, out: UnsafeMutableRawPointer) {
        pair.dtype.withIntegerElement(BinaryMap<K>(
            a: UnsafeRawPointer(rawBase(pair.a)), stridesA: pair.stridesA, b: UnsafeRawPointer(rawBase(pair.b)), stridesB: pair.stridesB,
            shape: pair.shape, flatA: pair.flatA, flatB: pair.flatB, out: out))
    }

    /// `K` on broadcast pairs of elements into a new bool tensor (never recorded).
    func compare<K: CompareKernel>(_: K.Type, _ a: Tensor, _ b: Tensor) throws(TapeGradError) -> Tensor {
        let pair = try broadcastPair(a, b, integerKernel: true)
        let out = makeTensor(shape: pair.shape, dtype: .bool)
        pair.dtype.withNumericElement(Comparison<K>(
            a: UnsafeRawPointer(rawBase(pair.a)), stridesA: pair.stridesA, b: UnsafeRawPointer(rawBase(pair.b)), stridesB: pair.stridesB,
            shape: pair.shape, out: rawBase(out).assumingMemoryBound(to: UInt8.self)))
        return out
    }

    /// Copies the values of `source` into `target` (same element count, any layouts).
    func copyValues(from source: Tensor, into target: Tensor) {
        let t = slot(target).pointee
        if t.isContiguous && slot(source).pointee.dtype == t.dtype {
            let s = slot(source).pointee
            t.dtype.withElement(Conversion(
                source: UnsafeRawPointer(rawBase(source)), shape: s.shape, strides: s.strides,
                target: rawBase(target), targetType: t.dtype))
            return
        }
        // A strided target: write through a contiguous staging copy in the target's dtype.
        let staged = convert(source, to: t.dtype)
        t.dtype.withElement(Scatter(source: UnsafeRawPointer(rawBase(staged)), target: rawBase(target), shape: t.shape, strides: t.strides))
    }

    /// `target += source` elementwise, in place, with `source` broadcast to `target`'s shape
    /// (a leaf's gradient accumulating); lazily zeroed targets are overwritten instead.
    func accumulate(_ source: Tensor, into target: Tensor) {
        if slot(source).pointee.shape == slot(target).pointee.shape && takePendingZeros(target) {
            copyValues(from: source, into: target)
            return
        }
        trapping { () throws(TapeGradError) in try applyInPlace(AddKernel.self, into: target, source) }
    }

    /// `target = K(target, source)` elementwise, in place: `source` broadcast to `target`'s
    /// shape and converted to its dtype; `target` must be contiguous. No record, no version
    /// bump: callers do what their op needs.
    func applyInPlace<K: BinaryKernel>(_ kernel: K.Type, into target: Tensor, _ source: Tensor) throws(TapeGradError) {
        if slot(target).pointee.dtype.isReducedPrecision {
            return try updating(target) { (wide) throws(TapeGradError) in try applyInPlace(kernel, into: wide, source) }
        }
        let t = slot(target).pointee
        check(t.isContiguous && t.dtype.isFloatingPoint, "applyInPlace needs a contiguous float target")
        var source = source
        if slot(source).pointee.dtype != t.dtype { source = convert(source, to: t.dtype) }
        let s = slot(source).pointee
        try Shapes.checkInPlace(target: t.shape, source: s.shape)
        let stridesS = Shapes.broadcastStrides(shape: s.shape, strides: s.strides, to: t.shape)
        let flatS = s.shape == t.shape && s.isContiguous
        let p = rawBase(target)
        t.dtype.withFloatElement(BinaryMap<K>(
            a: UnsafeRawPointer(p), stridesA: t.strides, b: UnsafeRawPointer(rawBase(source)), stridesB: stridesS,
            shape: t.shape, flatA: true, flatB: flatS, out: p))
    }

    /// A 0-dimensional tensor holding `value`.
    func scalar(_ value: Double, dtype: DType) -> Tensor {
        let out = makeTensor(shape: Dims(), dtype: dtype)
        dtype.withElement(Store(value: value, target: rawBase(out)))
        return out
    }

    /// A 0-dimensional tensor holding `number` converted to `dtype` (an `Int` exactly, wrapping
    /// into narrower integer types as PyTorch's casts do).
    func scalar(_ number: Number, dtype: DType) -> Tensor {
        let out = makeTensor(shape: Dims(), dtype: dtype)
        dtype.withElement(Store(number: number, target: rawBase(out)))
        return out
    }
}

// MARK: The computations of the data movers and maps above

/// Copies a strided layout into contiguous memory, converting each element when the types
/// differ (through `Int64` from integers and bool, through `Double` from floats).
struct Conversion: ElementComputation {
    let source: UnsafeRawPointer, shape: Dims, strides: Dims
    let target: UnsafeMutableRawPointer, targetType: DType

    @inline(__always)
    func run<S: TensorElement>(_: S.Type) {
        targetType.withElement(Into<S>(source: source.assumingMemoryBound(to: S.self), shape: shape, strides: strides, target: target))
    }

    struct Into<S: TensorElement>: ElementComputation {
        let source: UnsafePointer<S>, shape: Dims, strides: Dims
        let target: UnsafeMutableRawPointer

        @inline(__always)
        func run<T: TensorElement>(_: T.Type) {
            let out = target.assumingMemoryBound(to: T.self)
            if S.self == T.self {
                Kernels.copy(source, shape: shape, strides: strides, out) { unsafeBitCast($0, to: T.self) }
            } else if S.isExactInteger {
                Kernels.copy(source, shape: shape, strides: strides, out) { T(fromInt64: $0.int64Value) }
            } else {
                Kernels.copy(source, shape: shape, strides: strides, out) { T(fromDouble: $0.doubleValue) }
            }
        }
    }
}

extension Conversion {
    /// The conversion from a source whose element type is known at the call site.
    @inline(__always)
    func from<S: TensorElement>(_: S.Type) { run(S.self) }
}

/// Writes one value (converted from a `Number`) into every element of a layout.
struct Fill: ElementComputation {
    let target: UnsafeMutableRawPointer, shape: Dims, strides: Dims, contiguous: Bool, value: Number

    @inline(__always)
    func run<T: TensorElement>(_: T.Type) {
        let p = target.assumingMemoryBound(to: T.self), v = value.converted(to: T.self)
        if contiguous {
            // One flat pass, a loop the compiler vectorises.
            p.update(repeating: v, count: shape.product)
        } else {
            Kernels.fill(p, shape: shape, strides: strides, v)
        }
    }
}

/// Writes contiguous values into a strided layout (same element type).
struct Scatter: ElementComputation {
    let source: UnsafeRawPointer, target: UnsafeMutableRawPointer, shape: Dims, strides: Dims

    @inline(__always)
    func run<T: TensorElement>(_: T.Type) {
        Kernels.scatter(source.assumingMemoryBound(to: T.self), into: target.assumingMemoryBound(to: T.self), shape: shape, strides: strides)
    }
}

/// `Kernels.unary` in a floating type, or (for an `IntegerUnaryKernel`) an integer type.
struct UnaryMap<K: UnaryKernel>: FloatComputation {
    let x: UnsafeRawPointer, shape: Dims, strides: Dims, contiguous: Bool
    let out: UnsafeMutableRawPointer, p0: Double, p1: Double

    @inline(__always)
    func run<T: FloatElement>(_: T.Type) {
        let p0 = T(p0), p1 = T(p1)
        Kernels.unary(x.assumingMemoryBound(to: T.self), shape: shape, strides: strides, contiguous: contiguous,
                      out.assumingMemoryBound(to: T.self)) { K.apply($0, p0, p1) }
    }
}

/// `Kernels.unary` in an integer type, with integer parameters.
struct IntegerUnaryMap<K: IntegerUnaryKernel>: IntegerComputation {
    let x: UnsafeRawPointer, shape: Dims, strides: Dims, contiguous: Bool
    let out: UnsafeMutableRawPointer, p0: Int64, p1: Int64

    @inline(__always)
    func run<T: IntegerElement>(_: T.Type) {
        let p0 = T(fromInt64: p0), p1 = T(fromInt64: p1)
        Kernels.unary(x.assumingMemoryBound(to: T.self), shape: shape, strides: strides, contiguous: contiguous,
                      out.assumingMemoryBound(to: T.self)) { K.apply($0, p0, p1) }
    }
}

/// `Kernels.flat` in a floating type.
struct FlatMap<K: BinaryKernel>: FloatComputation {
    let a: UnsafeRawPointer, b: UnsafeRawPointer, out: UnsafeMutableRawPointer, count: Int

    @inline(__always)
    func run<T: FloatElement>(_: T.Type) {
        Kernels.flat(a.assumingMemoryBound(to: T.self), b.assumingMemoryBound(to: T.self), out.assumingMemoryBound(to: T.self),
                     count: count) { K.apply($0, $1) }
    }
}

/// `K` over two strided `rows × cols` matrices into a contiguous one, in 32×32 tiles.
struct TiledMap<K: BinaryKernel>: FloatComputation {
    let a: UnsafeRawPointer, stridesA: Dims, b: UnsafeRawPointer, stridesB: Dims
    let rows: Int, cols: Int, out: UnsafeMutableRawPointer

    func run<T: FloatElement>(_: T.Type) {
        let a = a.assumingMemoryBound(to: T.self), b = b.assumingMemoryBound(to: T.self), out = out.assumingMemoryBound(to: T.self)
        let (a0, a1, b0, b1) = (stridesA[0], stridesA[1], stridesB[0], stridesB[1])
        let tile = 32
        var i0 = 0
        while i0 < rows {
            let i1 = Swift.min(i0 + tile, rows)
            var j0 = 0
            while j0 < cols {
                let j1 = Swift.min(j0 + tile, cols)
                for i in i0..<i1 {
                    let o = out + i * cols, ar = a + i * a0, br = b + i * b0
                    for j in j0..<j1 { o[j] = K.apply(ar[j * a1], br[j * b1]) }
                }
                j0 = j1
            }
            i0 = i1
        }
    }
}

/// `Kernels.binary` in a floating type, or (for an `IntegerBinaryKernel`) an integer type.
struct BinaryMap<K> {
    let a: UnsafeRawPointer, stridesA: Dims, b: UnsafeRawPointer, stridesB: Dims
    let shape: Dims, flatA: Bool, flatB: Bool, out: UnsafeMutableRawPointer
}

extension BinaryMap: FloatComputation where K: BinaryKernel {
    @inline(__always)
    func run<T: FloatElement>(_: T.Type) {
        Kernels.binary(a.assumingMemoryBound(to: T.self), stridesA, b.assumingMemoryBound(to: T.self), stridesB,
                       shape: shape, flatA: flatA, flatB: flatB, out.assumingMemoryBound(to: T.self)) { K.apply($0, $1) }
    }
}

/// `Kernels.binary` in an integer type, for a kernel that has an integer form.
extension BinaryMap: IntegerComputation where K: IntegerBinaryKernel {
    @inline(__always)
    func run<T: IntegerElement>(_: T.Type) {
        Kernels.binary(a.assumingMemoryBound(to: T.self), stridesA, b.assumingMemoryBound(to: T.self), stridesB,
                       shape: shape, flatA: flatA, flatB: flatB, out.assumingMemoryBound(to: T.self)) { K.apply($0, $1) }
    }
}

/// `Kernels.compare` in the operands' common type, floating or integer.
struct Comparison<K: CompareKernel>: FloatComputation, IntegerComputation {
    let a: UnsafeRawPointer, stridesA: Dims, b: UnsafeRawPointer, stridesB: Dims
    let shape: Dims, out: UnsafeMutablePointer<UInt8>

    @inline(__always)
    func run<T: TensorElement & Comparable>(_: T.Type) {
        Kernels.compare(K.self, a.assumingMemoryBound(to: T.self), stridesA, b.assumingMemoryBound(to: T.self), stridesB,
                        shape: shape, out)
    }
}

extension DType {
    /// The dtype a kernel computes in for operands whose result type is `resultType`: float
    /// types as they are, integers in their own type for a kernel that has an integer form
    /// (`integerKernel`) and in float32 otherwise (true division), bool in float32.
    static func computeType(for resultType: DType, integerKernel: Bool, bool: DType = .float32) -> DType {
        switch resultType.category {
        case .floating: resultType.kernelType
        case .integral: integerKernel ? resultType : .float32
        case .boolean: bool
        }
    }
}
