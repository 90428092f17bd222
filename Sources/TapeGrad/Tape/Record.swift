/// One entry of the Wengert tape: which op ran, on which tensors, with which constants, and
/// where each operand's gradient goes. Plain data, 96 bytes, no references: the tape is a flat
/// array of these in arena memory.
///
/// `edgeA`…`edgeC` are PyTorch's graph edges: the index of the record that made the operand
/// *when this op ran* (`leafEdge` for a leaf that requires grad, `noEdge` for an operand that
/// wants no gradient). They are fixed at record time, so an in-place op that later gives an
/// operand new history does not reroute gradients of ops that used its old value. Operands are
/// handles to the tensors the op read; the op's backward finds the values it saved through
/// them, and checks with the saved versions that no in-place op has changed them since.
struct Record: BitwiseCopyable {
    struct Flags: OptionSet, BitwiseCopyable {
        let rawValue: UInt8
        /// A backward without `retainGraph` swept this record: its saved values are gone.
        static let released = Flags(rawValue: 1 << 0)
        /// `keepdim` for reductions.
        static let keepDim = Flags(rawValue: 1 << 1)
    }

    /// `edge` value of an operand that is a leaf requiring grad: its gradient accumulates into
    /// the leaf's `grad`.
    static let leafEdge: Int32 = -1
    /// `edge` value of an operand that wants no gradient.
    static let noEdge: Int32 = -2

    var op: OpCode
    var flags: Flags = []
    /// A small integer argument: the dimension of select, slice, cat; groups; a reduction mode.
    var i0: Int16 = 0
    /// A set of dimensions (reductions) as a bit mask, a packed permutation or window, a count,
    /// or a custom node's index.
    var dims: UInt32 = 0
    var result: Tensor
    var a: Tensor
    var b: Tensor = .null
    var c: Tensor = .null
    var edgeA: Int32 = Record.noEdge
    var edgeB: Int32 = Record.noEdge
    var edgeC: Int32 = Record.noEdge
    var versionA: UInt32 = 0
    var versionB: UInt32 = 0
    var versionResult: UInt32 = 0
    /// The version of `c` when it is a value the record keeps (a mask, a condition).
    var versionC: UInt32 = 0
    /// Scalar arguments: exponent, clamp bounds, slice start and step.
    var s0: Double = 0
    var s1: Double = 0
    /// The gradient flowing into this record's result during a sweep, or `.null`.
    var pending: Tensor = .null

    init(_ op: OpCode, result: Tensor = .null, a: Tensor, b: Tensor = .null) {
        self.op = op
        self.result = result
        self.a = a
        self.b = b
    }

    /// Whether operand `a` (or `b`, `c`) wants a gradient.
    var needsA: Bool { edgeA != Record.noEdge }
    var needsB: Bool { edgeB != Record.noEdge }
    var needsC: Bool { edgeC != Record.noEdge }
}
