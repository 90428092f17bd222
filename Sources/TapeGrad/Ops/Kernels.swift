/// A function of one element with up to two constant parameters (an exponent, clamp bounds).
protocol UnaryKernel {
    static func apply<T: FloatElement>(_ x: T, _ p0: T, _ p1: T) -> T
}

/// A unary kernel that integers compute in their own type (PyTorch keeps an integer
/// tensor's dtype for `neg`, `abs`, `clamp`, adding or multiplying by an `Int`, …); other
/// kernels see integer operands converted to float32.
protocol IntegerUnaryKernel: UnaryKernel {
    static func apply<T: IntegerElement>(_ x: T, _ p0: T, _ p1: T) -> T
}

/// A function of two elements.
protocol BinaryKernel {
    static func apply<T: FloatElement>(_ a: T, _ b: T) -> T
    /// Whether two bool operands give a bool result (PyTorch's result type: `+` is or, `*` is
    /// and); the kernel computes on 0s and 1s, and the result is converted back.
    static var keepsBool: Bool { get }
}

extension BinaryKernel {
    static var keepsBool: Bool { false }
}

/// A binary kernel that integers compute in their own type, wrapping on overflow (`+ - *`,
/// and the bitwise ops, which have no float form); float kernels without this form (true
/// division) see integer operands converted to float32.
protocol IntegerBinaryKernel {
    static func apply<T: IntegerElement>(_ a: T, _ b: T) -> T
}

/// A comparison of two elements of any numeric type.
protocol CompareKernel {
    static func apply<T: Comparable>(_ a: T, _ b: T) -> Bool
}

/// Walks the elements of a (possibly strided, possibly broadcast) layout row by row: `body`
/// receives the offsets of a row's first element in up to two operands, the row's length and
/// the operands' strides along it. The innermost loop is the caller's, so it can be tight.
@inline(__always)
func forEachRow(
    shape: Dims, stridesA: Dims, stridesB: Dims,
    _ body: (_ offsetA: Int, _ offsetB: Int, _ rowStart: Int, _ length: Int) -> Void
) {
    let rank = shape.count
    if rank == 0 { body(0, 0, 0, 1); return }
    let total = shape.product
    if total == 0 { return }
    let length = shape[rank - 1]
    var index = Dims()
    for _ in 0..<(rank - 1) { index.append(0) }
    var offsetA = 0
    var offsetB = 0
    var rowStart = 0
    while rowStart < total {
        body(offsetA, offsetB, rowStart, length)
        rowStart += length
        // Advance the odometer over the outer dimensions.
        var d = rank - 2
        while d >= 0 {
            index[d] += 1
            offsetA += stridesA[d]
            offsetB += stridesB[d]
            if index[d] < shape[d] { break }
            offsetA -= stridesA[d] * shape[d]
            offsetB -= stridesB[d] * shape[d]
            index[d] = 0
            d -= 1
        }
    }
}

enum Kernels {
    /// `out[i] = f(x[i])` for a contiguous `out` of x's shape.
    @inline(__always)
    static func unary<T>(
        _ x: UnsafePointer<T>, shape: Dims, strides: Dims, contiguous: Bool,
        _ out: UnsafeMutablePointer<T>, _ f: (T) -> T
    ) {
        if contiguous {
            let n = shape.product
            for i in 0..<n { out[i] = f(x[i]) }
            return
        }
        let inner = shape.count > 0 ? strides[shape.count - 1] : 0
        forEachRow(shape: shape, stridesA: strides, stridesB: strides) { offset, _, start, length in
            for j in 0..<length { out[start + j] = f(x[offset + j * inner]) }
        }
    }

    /// `out[i] = f(a[i], b[i])` for `count` contiguous elements: the loop the compiler vectorises.
    @inline(__always)
    static func flat<T>(
        _ a: UnsafePointer<T>, _ b: UnsafePointer<T>, _ out: UnsafeMutablePointer<T>, count: Int, _ f: (T, T) -> T
    ) {
        for i in 0..<count { out[i] = f(a[i], b[i]) }
    }

    /// `out[i] = f(a[i], b[i])` where `a` and `b` have been given strides over `shape` (zero
    /// along broadcast dimensions) and `out` is contiguous.
    @inline(__always)
    static func binary<T>(
        _ a: UnsafePointer<T>, _ stridesA: Dims, _ b: UnsafePointer<T>, _ stridesB: Dims,
        shape: Dims, flatA: Bool, flatB: Bool, _ out: UnsafeMutablePointer<T>, _ f: (T, T) -> T
    ) {
        if flatA && flatB {
            flat(a, b, out, count: shape.product, f)
            return
        }
        let rank = shape.count
        let innerA = rank > 0 ? stridesA[rank - 1] : 0
        let innerB = rank > 0 ? stridesB[rank - 1] : 0
        forEachRow(shape: shape, stridesA: stridesA, stridesB: stridesB) { offA, offB, start, length in
            if innerA == 1 && innerB == 0 {
                let bv = b[offB]
                for j in 0..<length { out[start + j] = f(a[offA + j], bv) }
            } else if innerA == 0 && innerB == 1 {
                let av = a[offA]
                for j in 0..<length { out[start + j] = f(av, b[offB + j]) }
            } else {
                for j in 0..<length { out[start + j] = f(a[offA + j * innerA], b[offB + j * innerB]) }
            }
        }
    }

    /// `out[i] = K(a[i], b[i])` as bytes 0 or 1.
    @inline(__always)
    static func compare<K: CompareKernel, T: Comparable>(
        _: K.Type, _ a: UnsafePointer<T>, _ stridesA: Dims, _ b: UnsafePointer<T>, _ stridesB: Dims,
        shape: Dims, _ out: UnsafeMutablePointer<UInt8>
    ) {
        let rank = shape.count
        let innerA = rank > 0 ? stridesA[rank - 1] : 0
        let innerB = rank > 0 ? stridesB[rank - 1] : 0
        forEachRow(shape: shape, stridesA: stridesA, stridesB: stridesB) { offA, offB, start, length in
            for j in 0..<length {
                out[start + j] = K.apply(a[offA + j * innerA], b[offB + j * innerB]) ? 1 : 0
            }
        }
    }

    /// Copies a strided layout into contiguous memory, converting the element type.
    @inline(__always)
    static func copy<Source: BitwiseCopyable, Target: BitwiseCopyable>(
        _ source: UnsafePointer<Source>, shape: Dims, strides: Dims,
        _ out: UnsafeMutablePointer<Target>, _ convert: (Source) -> Target
    ) {
        let inner = shape.count > 0 ? strides[shape.count - 1] : 0
        forEachRow(shape: shape, stridesA: strides, stridesB: strides) { offset, _, start, length in
            for j in 0..<length { out[start + j] = convert(source[offset + j * inner]) }
        }
    }

    /// Writes the contiguous `source` into a strided layout, in row-major order.
    @inline(__always)
    static func scatter<T>(_ source: UnsafePointer<T>, into out: UnsafeMutablePointer<T>, shape: Dims, strides: Dims) {
        let inner = shape.count > 0 ? strides[shape.count - 1] : 0
        forEachRow(shape: shape, stridesA: strides, stridesB: strides) { offset, _, start, length in
            for j in 0..<length { out[offset + j * inner] = source[start + j] }
        }
    }

    /// Writes `value` into every element of a strided layout.
    @inline(__always)
    static func fill<T>(_ out: UnsafeMutablePointer<T>, shape: Dims, strides: Dims, _ value: T) {
        let inner = shape.count > 0 ? strides[shape.count - 1] : 0
        forEachRow(shape: shape, stridesA: strides, stridesB: strides) { offset, _, _, length in
            for j in 0..<length { out[offset + j * inner] = value }
        }
    }
}
