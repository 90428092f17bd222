// The lower and upper triangles of the last two dimensions (`torch.tril`, `torch.triu`), the
// rest set to zero: the causal masks of attention. Each one's backward is the other's forward
// on the gradient (the same triangle of `g`).

extension Tensor {
    /// The elements on and below diagonal `diagonal` of each matrix in the last two
    /// dimensions, zeros above (`torch.tril`, `TrilBackward0`); `diagonal` > 0 keeps more.
    public func tril(_ diagonal: Int = 0) throws(TapeGradError) -> Tensor { try triangle(.tril, diagonal) }

    /// The elements on and above diagonal `diagonal`, zeros below (`torch.triu`, `TriuBackward0`).
    public func triu(_ diagonal: Int = 0) throws(TapeGradError) -> Tensor { try triangle(.triu, diagonal) }

    private func triangle(_ op: OpCode, _ diagonal: Int) throws(TapeGradError) -> Tensor {
        guard rank >= 2 else { throw .runtime("\(op == .tril ? "tril" : "triu"): input tensor must have at least 2 dimensions") }
        let e = engine
        let out = e.memory.keepTriangle(self, lower: op == .tril, diagonal: diagonal)
        var record = Record(op, result: out, a: self)
        record.s0 = Double(diagonal)
        return e.pointee.recordIfNeeded(record)
    }
}

extension TensorMemory {
    /// A contiguous copy of `x` with the elements outside the triangle set to zero (no record).
    func keepTriangle(_ x: Tensor, lower: Bool, diagonal: Int) -> Tensor {
        let src = contiguousOperand(x)
        let s = slot(src).pointee
        let out = makeTensor(shape: s.shape, dtype: s.dtype)
        let rows = s.shape[s.shape.count - 2], columns = s.shape[s.shape.count - 1]
        s.dtype.withElement(TriangleCopy(source: UnsafeRawPointer(rawBase(src)), target: rawBase(out),
                                         matrices: rows * columns == 0 ? 0 : s.shape.product / (rows * columns),
                                         rows: rows, columns: columns, lower: lower, diagonal: diagonal))
        return out
    }
}

/// `out[m, i, j] = x[m, i, j]` inside the triangle (`j - i <= diagonal` for the lower one,
/// `>=` for the upper), else 0.
private struct TriangleCopy: ElementComputation {
    let source: UnsafeRawPointer, target: UnsafeMutableRawPointer
    let matrices: Int, rows: Int, columns: Int, lower: Bool, diagonal: Int

    func run<T: TensorElement>(_: T.Type) {
        let x = source.assumingMemoryBound(to: T.self), out = target.assumingMemoryBound(to: T.self)
        let zero = T(fromInt64: 0)
        for m in 0..<matrices {
            for i in 0..<rows {
                let row = (m * rows + i) * columns
                for j in 0..<columns {
                    let kept = lower ? j - i <= diagonal : j - i >= diagonal
                    out[row + j] = kept ? x[row + j] : zero
                }
            }
        }
    }
}

enum TriangleBackward {
    static func tril(_ r: Record, _ g: Tensor) -> Gradients { Gradients(a: trapping { try g.tril(Int(r.s0)) }) }
    static func triu(_ r: Record, _ g: Tensor) -> Gradients { Gradients(a: trapping { try g.triu(Int(r.s0)) }) }
}
