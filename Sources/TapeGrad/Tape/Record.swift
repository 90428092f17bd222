/// One entry of the Wengert tape: which op ran, on which tensors, with which constants. Plain
/// data, 64 bytes, no references: the tape is a flat array of these in arena memory.
///
/// Operands are handles to the tensors the op read; the op's backward finds the values it
/// saved through them (its inputs or its result), and checks with `versionA`/`versionB` that no
/// in-place op has changed them since.
struct Record: BitwiseCopyable {
    struct Flags: OptionSet, BitwiseCopyable {
        let rawValue: UInt8
        /// A backward without `retainGraph` swept this record: its saved values are gone.
        static let released = Flags(rawValue: 1 << 0)
        /// `keepdim` for reductions.
        static let keepDim = Flags(rawValue: 1 << 1)
        /// A view op whose result is a copy (reshape of a non-viewable layout).
        static let copied = Flags(rawValue: 1 << 2)
    }

    var op: OpCode
    var flags: Flags = []
    /// Small integer arguments: dimensions of transpose, select or cat.
    var i0: Int16 = 0
    /// A set of dimensions (reductions, squeeze) as a bit mask, or a packed permutation.
    var dims: UInt32 = 0
    var result: Tensor
    var a: Tensor
    var b: Tensor = .null
    var c: Tensor = .null
    /// Scalar arguments: exponent, clamp bounds, slice start/step.
    var s0: Double = 0
    var s1: Double = 0
    var versionA: UInt32 = 0
    var versionB: UInt32 = 0

    init(_ op: OpCode, result: Tensor = .null, a: Tensor, b: Tensor = .null) {
        self.op = op
        self.result = result
        self.a = a
        self.b = b
    }
}
