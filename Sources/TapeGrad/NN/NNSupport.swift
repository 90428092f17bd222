// Pieces shared by the neural-network ops of `NN/`: two-dimensional sizes, packing of op
// arguments into a record, and argument checks. (Their matrix products call `gemm` in
// Ops/MatMul.swift.)

/// A height and a width (PyTorch's `_size_2_t`): `stride: 2` means `Size2D(2, 2)`.
public struct Size2D: Equatable, Sendable, ExpressibleByIntegerLiteral, CustomStringConvertible {
    /// The size along the height.
    public var height: Int
    /// The size along the width.
    public var width: Int
    /// Whether it was given as a pair (PyTorch's tuple) rather than one number: the two are
    /// checked differently in places (`adaptive_avg_pool2d`'s output size). Not compared.
    var isPair: Bool

    /// A height and a width (PyTorch's `(h, w)`).
    public init(_ height: Int, _ width: Int) {
        self.height = height
        self.width = width
        isPair = true
    }

    /// The same size for both dimensions (PyTorch's one number).
    public init(_ both: Int) {
        height = both
        width = both
        isPair = false
    }

    /// The same size for both dimensions: `stride: 2`.
    public init(integerLiteral value: Int) { self.init(value) }

    /// Equal sizes, however they were spelled.
    public static func == (a: Size2D, b: Size2D) -> Bool { a.height == b.height && a.width == b.width }

    /// PyTorch's spelling of a pair, `(3, 3)`.
    public var description: String { "(\(height), \(width))" }
}

extension TensorMemory {
    /// `tensor` itself when contiguous, else a contiguous copy (no record).
    @inline(__always)
    func contiguousOperand(_ tensor: Tensor) -> Tensor {
        contiguousOperand(tensor, as: slot(tensor).pointee.dtype)
    }

    /// `tensor` contiguous in the type kernels compute its dtype in: float16 and bfloat16
    /// operands as float32 copies (the caller rounds its result back with `rounded(_:to:)`).
    func kernelOperand(_ tensor: Tensor) -> Tensor {
        contiguousOperand(tensor, as: slot(tensor).pointee.dtype.kernelType)
    }

    /// `tensor` itself when it is contiguous and of `dtype`, else a contiguous copy in `dtype`.
    func contiguousOperand(_ tensor: Tensor, as dtype: DType) -> Tensor {
        let s = slot(tensor).pointee
        return s.isContiguous && s.dtype == dtype ? tensor : convert(tensor, to: dtype)
    }

    /// A contiguous tensor of zeros (no record).
    @inline(__always)
    func makeZeros(shape: Dims, dtype: DType) -> Tensor {
        let out = makeTensor(shape: shape, dtype: dtype)
        // Zero bits are zero in every dtype.
        rawBase(out).initializeMemory(as: UInt8.self, repeating: 0, count: shape.product * dtype.itemSize)
        return out
    }
}

/// A tensor handle kept in a record's `Double` field (`s1`), for ops whose backward needs a
/// value the operands `a`/`b`/`c` cannot carry (batch norm's saved statistics).
enum PackedTensor {
    static func pack(_ t: Tensor) -> Double {
        Double(bitPattern: UInt64(UInt32(bitPattern: t.slot)) | UInt64(t.generation) << 32)
    }

    static func unpack(_ d: Double) -> Tensor {
        let bits = d.bitPattern
        return Tensor(slot: Int32(bitPattern: UInt32(truncatingIfNeeded: bits)), generation: UInt32(truncatingIfNeeded: bits >> 32))
    }
}

/// Four small non-negative integers (each below 256) in one `UInt32`: a record's `dims`.
enum PackedBytes {
    static func pack(_ a: Int, _ b: Int, _ c: Int, _ d: Int) -> UInt32 {
        UInt32(a) | UInt32(b) << 8 | UInt32(c) << 16 | UInt32(d) << 24
    }

    static func unpack(_ v: UInt32) -> (Int, Int, Int, Int) {
        (Int(v & 0xff), Int((v >> 8) & 0xff), Int((v >> 16) & 0xff), Int(v >> 24))
    }
}

enum NNChecks {
    /// The float input every NN kernel needs (their loops read and write floats: a bool
    /// buffer must never reach them), with PyTorch's message.
    static func requireFloat(_ t: Tensor, _ op: String) throws(TapeGradError) {
        guard t.dtype.isFloatingPoint else { throw notImplemented(op, t.dtype) }
    }

    /// `requireFloat`, and then `other` of `t`'s dtype; PyTorch dispatches an integer `t` to
    /// its kernel (which then refuses it), so for those the types are compared first.
    static func requireFloat(_ t: Tensor, _ op: String, sameTypeAs other: Tensor) throws(TapeGradError) {
        try requireFloat(t.dtype, op, sameTypeAs: other.dtype)
    }

    static func requireFloat(_ a: DType, _ op: String, sameTypeAs b: DType) throws(TapeGradError) {
        if a.isIntegral && a != b { throw mismatch(a, b) }
        guard a.isFloatingPoint else { throw notImplemented(op, a) }
        guard a == b else { throw mismatch(a, b) }
    }

    /// `expected scalar type Float but found Double`.
    static func mismatch(_ expected: DType, _ found: DType) -> TapeGradError {
        .runtime("expected scalar type \(expected.scalarTypeName) but found \(found.scalarTypeName)")
    }

    /// PyTorch's `NotImplementedError` for a kernel without a loop for `dtype`.
    static func notImplemented(_ op: String, _ dtype: DType) -> TapeGradError {
        TapeGradError(.notImplementedError, "\"\(op)\" not implemented for '\(dtype.scalarTypeName)'")
    }

    /// Sizes along the given spatial extent: PyTorch's output-size formula.
    @inline(__always)
    /// Rounds down, as PyTorch's division does: a window past the input gives a size of 0 or less.
    static func outputSize(_ input: Int, kernel: Int, stride: Int, padding: Int, dilation: Int) -> Int {
        let span = input + 2 * padding - dilation * (kernel - 1) - 1
        return (span >= 0 ? span / stride : -((-span + stride - 1) / stride)) + 1
    }

    /// A pair argument as the record packs it, after PyTorch's own checks: each part below 256.
    static func checkPackable(_ s: Size2D, _ what: String) throws(TapeGradError) {
        guard s.height < 256 && s.width < 256 else {
            throw .runtime("TapeGrad: \(what) \(s) is too large (at most 255)")
        }
    }
}

extension Dims {
    /// Four sizes, without an array in between (image batches `[N, C, H, W]`).
    init(_ a: Int, _ b: Int, _ c: Int, _ d: Int) {
        self.init(a, b)
        append(c)
        append(d)
    }
}
