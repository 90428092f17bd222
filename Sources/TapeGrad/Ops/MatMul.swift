import COpenBLAS

// Matrix products through OpenBLAS's CBLAS: `gemm` (every product of the library goes through
// it, so small ones that would make OpenBLAS allocate take a plain loop instead), `mm` (2-D),
// `bmm` (3-D, one product per batch) and `matmul` (NumPy's rules: vectors, matrices, broadcast
// batches) built from them.

/// How CBLAS reads one matrix operand in place: row-major or transposed, with a leading dimension.
private struct GemmOperand {
    var transposed: Bool
    var leadingDimension: Int32

    /// The layout of a `rows x cols` matrix with the given strides, or nil when CBLAS cannot read
    /// it without a copy.
    init?(rows: Int, cols: Int, rowStride: Int, colStride: Int) {
        if (colStride == 1 || cols == 1) && rowStride >= Swift.max(1, cols) {
            transposed = false
            leadingDimension = Int32(rowStride)
        } else if (rowStride == 1 || rows == 1) && colStride >= Swift.max(1, rows) {
            transposed = true
            leadingDimension = Int32(colStride)
        } else {
            return nil
        }
    }

}

/// `C = A·B + beta·C` for operands laid out as `la`, `lb`, into a contiguous `m×n` `C`.
@inline(__always)
private func gemm<T: FloatElement>(
    _ la: GemmOperand, _ lb: GemmOperand, m: Int, n: Int, k: Int,
    _ a: UnsafePointer<T>, _ b: UnsafePointer<T>, beta: T, _ c: UnsafeMutablePointer<T>
) {
    gemm(transA: la.transposed, transB: lb.transposed, m: m, n: n, k: k, a, lda: Int(la.leadingDimension),
         b, ldb: Int(lb.leadingDimension), beta: beta, c, ldc: Swift.max(n, 1))
}

/// `C = A·B + beta·C` on row-major matrices, in the element type of the pointers (OpenBLAS).
@inline(__always)
func gemm<T: FloatElement>(
    transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
    _ a: UnsafePointer<T>, lda: Int, _ b: UnsafePointer<T>, ldb: Int,
    beta: T, _ c: UnsafeMutablePointer<T>, ldc: Int
) {
    guard m > 0 && n > 0 else { return }
    if !transA && !transB && smallProductWouldAllocate(T.self, m: m, n: n, k: k) {
        smallGemm(m: m, n: n, k: k, a, lda: lda, b, ldb: ldb, beta: beta, c, ldc: ldc)
        return
    }
    T.blasGemm(transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, Int32(m), Int32(n), Int32(k),
               a, Int32(max(lda, 1)), b, Int32(max(ldb, 1)), beta, c, Int32(max(ldc, 1)))
}

/// CBLAS's routines for an element type.
protocol BLASElement {
    /// `cblas_?gemm` in row-major order with alpha 1.
    static func blasGemm(_ ta: CBLAS_TRANSPOSE, _ tb: CBLAS_TRANSPOSE, _ m: Int32, _ n: Int32, _ k: Int32,
                         _ a: UnsafePointer<Self>, _ lda: Int32, _ b: UnsafePointer<Self>, _ ldb: Int32,
                         _ beta: Self, _ c: UnsafeMutablePointer<Self>, _ ldc: Int32)
    /// `cblas_?axpy` with unit strides.
    static func blasAxpy(_ n: Int32, _ alpha: Self, _ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>)
}

extension Float: BLASElement {
    @inline(__always)
    static func blasGemm(_ ta: CBLAS_TRANSPOSE, _ tb: CBLAS_TRANSPOSE, _ m: Int32, _ n: Int32, _ k: Int32,
                         _ a: UnsafePointer<Float>, _ lda: Int32, _ b: UnsafePointer<Float>, _ ldb: Int32,
                         _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int32) {
        cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, 1, a, lda, b, ldb, beta, c, ldc)
    }
    @inline(__always)
    static func blasAxpy(_ n: Int32, _ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
        cblas_saxpy(n, alpha, x, 1, y, 1)
    }
}

extension Double: BLASElement {
    @inline(__always)
    static func blasGemm(_ ta: CBLAS_TRANSPOSE, _ tb: CBLAS_TRANSPOSE, _ m: Int32, _ n: Int32, _ k: Int32,
                         _ a: UnsafePointer<Double>, _ lda: Int32, _ b: UnsafePointer<Double>, _ ldb: Int32,
                         _ beta: Double, _ c: UnsafeMutablePointer<Double>, _ ldc: Int32) {
        cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, 1, a, lda, b, ldb, beta, c, ldc)
    }
    @inline(__always)
    static func blasAxpy(_ n: Int32, _ alpha: Double, _ x: UnsafePointer<Double>, _ y: UnsafeMutablePointer<Double>) {
        cblas_daxpy(n, alpha, x, 1, y, 1)
    }
}

/// Whether OpenBLAS (0.3.2x, AVX-512 kernels) would take its small-matrix path for a row-major
/// `A·B` and `malloc` a packing buffer there: products of at most 100³ multiply-adds whose
/// column count leaves a remainder of 1...8 mod 16 with `k ≥ 32` (float; for double, a
/// conservative guess: any remainder mod 8 with `k ≥ 16`). Those go to `smallGemm`, so a
/// training step allocates nothing.
@inline(__always)
func smallProductWouldAllocate<T>(_: T.Type, m: Int, n: Int, k: Int) -> Bool {
    guard k >= 16, Double(m) * Double(n) * Double(k) <= 1_000_000 else { return false }
    if T.self == Double.self { return n % 8 != 0 }
    return k >= 32 && n % 16 != 0 && n % 16 <= 8
}

/// `C = A·B + beta·C` on row-major matrices without BLAS (small products only).
func smallGemm<T: FloatElement>(
    m: Int, n: Int, k: Int, _ a: UnsafePointer<T>, lda: Int, _ b: UnsafePointer<T>, ldb: Int,
    beta: T, _ c: UnsafeMutablePointer<T>, ldc: Int
) {
    for i in 0..<m {
        let row = c + i * ldc
        if beta == 0 {
            row.update(repeating: 0, count: n)
        } else if beta != 1 {
            for j in 0..<n { row[j] *= beta }
        }
        let left = a + i * lda
        for p in 0..<k {
            let factor = left[p]
            let line = b + p * ldb
            for j in 0..<n { row[j] += factor * line[j] }
        }
    }
}

extension TensorMemory {
    /// `out[b] = a[b] @ b[b]` for `batch` products (no record). `a` is `[batch, n, k]` (or
    /// `[n, k]` with batch 1), `b` `[batch, k, m]`; the result is contiguous.
    func batchedProduct(_ a: Tensor, _ b: Tensor, batched: Bool) -> Tensor {
        let resultType = slot(a).pointee.dtype
        if resultType.isReducedPrecision {
            return rounded(batchedProduct(floatOperand(a), floatOperand(b), batched: batched), to: resultType)
        }
        if resultType.isIntegral { return integerProduct(a, b, batched: batched) }
        var a = a, b = b
        var sa = slot(a).pointee, sb = slot(b).pointee
        let lead = batched ? 1 : 0
        let n = sa.shape[lead], k = sa.shape[lead + 1], m = sb.shape[lead + 1]
        let batch = batched ? sa.shape[0] : 1
        var layoutA = GemmOperand(rows: n, cols: k, rowStride: sa.strides[lead], colStride: sa.strides[lead + 1])
        if layoutA == nil {
            a = convert(a, to: sa.dtype)
            sa = slot(a).pointee
            layoutA = GemmOperand(rows: n, cols: k, rowStride: sa.strides[lead], colStride: sa.strides[lead + 1])
        }
        var layoutB = GemmOperand(rows: k, cols: m, rowStride: sb.strides[lead], colStride: sb.strides[lead + 1])
        if layoutB == nil {
            b = convert(b, to: sb.dtype)
            sb = slot(b).pointee
            layoutB = GemmOperand(rows: k, cols: m, rowStride: sb.strides[lead], colStride: sb.strides[lead + 1])
        }
        let la = layoutA.unsafelyUnwrapped, lb = layoutB.unsafelyUnwrapped
        var shape = Dims()
        if batched { shape.append(batch) }
        shape.append(n)
        shape.append(m)
        let out = makeTensor(shape: shape, dtype: sa.dtype)
        let batchStrideA = batched ? sa.strides[0] : 0
        let batchStrideB = batched ? sb.strides[0] : 0
        sa.dtype.withFloatElement(BatchedGemm(
            a: UnsafeRawPointer(rawBase(a)), la: la, strideA: batched ? sa.strides[0] : 0,
            b: UnsafeRawPointer(rawBase(b)), lb: lb, strideB: batched ? sb.strides[0] : 0,
            out: rawBase(out), batch: batch, n: n, k: k, m: m, beta: 0))
        return out
    }
}

extension TensorMemory {
    /// `batchedProduct` of integer operands, in their type, wrapping on overflow (as PyTorch's
    /// integer `mm`): the operands made contiguous, one plain loop.
    private func integerProduct(_ a: Tensor, _ b: Tensor, batched: Bool) -> Tensor {
        let a = contiguousOperand(a), b = contiguousOperand(b)
        let sa = slot(a).pointee, sb = slot(b).pointee
        let lead = batched ? 1 : 0
        let n = sa.shape[lead], k = sa.shape[lead + 1], m = sb.shape[lead + 1]
        var shape = Dims()
        if batched { shape.append(sa.shape[0]) }
        shape.append(n)
        shape.append(m)
        let out = makeZeros(shape: shape, dtype: sa.dtype)
        sa.dtype.withIntegerElement(IntegerGemm(a: UnsafeRawPointer(rawBase(a)), b: UnsafeRawPointer(rawBase(b)), out: rawBase(out),
                                                batch: batched ? sa.shape[0] : 1, n: n, k: k, m: m))
        return out
    }
}

/// `out[i] = a[i] · b[i]` for contiguous integer matrices (out starts at zero).
private struct IntegerGemm: IntegerComputation {
    let a: UnsafeRawPointer, b: UnsafeRawPointer, out: UnsafeMutableRawPointer
    let batch: Int, n: Int, k: Int, m: Int

    func run<T: IntegerElement>(_: T.Type) {
        let a = a.assumingMemoryBound(to: T.self), b = b.assumingMemoryBound(to: T.self), out = out.assumingMemoryBound(to: T.self)
        for i in 0..<batch {
            let a = a + i * n * k, b = b + i * k * m, out = out + i * n * m
            for row in 0..<n {
                for p in 0..<k {
                    let factor = a[row * k + p]
                    for col in 0..<m { out[row * m + col] &+= factor &* b[p * m + col] }
                }
            }
        }
    }
}

/// `out[i] = a[i] · b[i] + beta·out[i]` for `batch` products of operands read in place.
private struct BatchedGemm: FloatComputation {
    let a: UnsafeRawPointer, la: GemmOperand, strideA: Int
    let b: UnsafeRawPointer, lb: GemmOperand, strideB: Int
    let out: UnsafeMutableRawPointer, batch: Int, n: Int, k: Int, m: Int, beta: Double

    @inline(__always)
    func run<T: FloatElement>(_: T.Type) {
        let a = a.assumingMemoryBound(to: T.self), b = b.assumingMemoryBound(to: T.self), out = out.assumingMemoryBound(to: T.self)
        for i in 0..<batch {
            gemm(la, lb, m: n, n: m, k: k, a + i * strideA, b + i * strideB, beta: T(beta), out + i * n * m)
        }
    }
}

/// `y += alpha·x` (BLAS axpy) on `count` contiguous elements.
private struct Axpy: FloatComputation {
    let alpha: Double, x: UnsafeRawPointer, y: UnsafeMutableRawPointer, count: Int

    @inline(__always)
    func run<T: FloatElement>(_: T.Type) {
        T.blasAxpy(Int32(count), T(alpha), x.assumingMemoryBound(to: T.self), y.assumingMemoryBound(to: T.self))
    }
}

extension TensorMemory {
    /// `target += alpha * source` for contiguous tensors of one shape and float dtype (BLAS axpy).
    func axpy(_ alpha: Double, _ source: Tensor, into target: Tensor) {
        let t = slot(target).pointee
        if t.dtype.isReducedPrecision {
            let wide = floatOperand(target)
            axpy(alpha, floatOperand(source), into: wide)
            return copyValues(from: wide, into: target)
        }
        t.dtype.withFloatElement(Axpy(alpha: alpha, x: UnsafeRawPointer(rawBase(source)), y: rawBase(target), count: t.shape.product))
    }

    /// `target += aᵀ-or-a · b` for 2-D operands read in place, into a contiguous `target` (beta 1):
    /// a gradient accumulated straight into a leaf's `grad`.
    func accumulateProduct(_ a: Tensor, transposeA: Bool, _ b: Tensor, transposeB: Bool, into target: Tensor) -> Bool {
        let sa = slot(a).pointee, sb = slot(b).pointee
        let rowsA = transposeA ? sa.shape[1] : sa.shape[0], inner = transposeA ? sa.shape[0] : sa.shape[1]
        let cols = transposeB ? sb.shape[0] : sb.shape[1]
        guard var la = GemmOperand(rows: sa.shape[0], cols: sa.shape[1], rowStride: sa.strides[0], colStride: sa.strides[1]),
              var lb = GemmOperand(rows: sb.shape[0], cols: sb.shape[1], rowStride: sb.strides[0], colStride: sb.strides[1])
        else { return false }
        if transposeA { la.transposed.toggle() }
        if transposeB { lb.transposed.toggle() }
        // A gradient zeroed lazily is overwritten (beta 0) instead of read and added to.
        let beta: Double = takePendingZeros(target) ? 0 : 1
        sa.dtype.withFloatElement(BatchedGemm(
            a: UnsafeRawPointer(rawBase(a)), la: la, strideA: 0, b: UnsafeRawPointer(rawBase(b)), lb: lb, strideB: 0,
            out: rawBase(target), batch: 1, n: rowsA, k: inner, m: cols, beta: beta))
        return true
    }
}

extension Tensor {
    /// The product of two matrices (`torch.mm`); throws unless `self` is n×k and `other` k×m.
    public func mm(_ other: Tensor) throws(TapeGradError) -> Tensor {
        let sa = info, sb = other.info
        guard sa.shape.count == 2 else { throw .runtime("mm: self must be a matrix, got \(sa.shape.count)-D tensor") }
        guard sb.shape.count == 2 else { throw .runtime("mm: mat2 must be a matrix, got \(sb.shape.count)-D tensor") }
        guard sa.shape[1] == sb.shape[0] else {
            throw .runtime("mm: mat1 and mat2 shapes cannot be multiplied (\(sa.shape.timesSpelling) and \(sb.shape.timesSpelling))")
        }
        try Self.checkSameDType(sa.dtype, sb.dtype)
        let e = engine
        let out = e.memory.batchedProduct(self, other, batched: false)
        return e.pointee.recordIfNeeded(Record(.mm, result: out, a: self, b: other))
    }

    /// Batched matrix product of `[b, n, k]` and `[b, k, m]` tensors (`torch.bmm`).
    public func bmm(_ other: Tensor) throws(TapeGradError) -> Tensor {
        let sa = info, sb = other.info
        guard sa.shape.count == 3 else { throw .runtime("batch1 must be a 3D tensor") }
        guard sb.shape.count == 3 else { throw .runtime("batch2 must be a 3D tensor") }
        guard sb.shape[0] == sa.shape[0] && sb.shape[1] == sa.shape[2] else {
            throw .runtime("Expected size for first two dimensions of batch2 tensor to be: [\(sa.shape[0]), \(sa.shape[2])] but got: [\(sb.shape[0]), \(sb.shape[1])].")
        }
        let e = engine
        let batch = sa.shape[0], n = sa.shape[1], k = sa.shape[2], m = sb.shape[2]
        if batch * n * m == 0 || k == 0 {
            // PyTorch's bmm returns zeros of batch2's dtype here, unchecked; autograd then
            // refuses a result of a dtype that cannot carry a gradient.
            if e.pointee.gradEnabled && (requiresGrad || other.requiresGrad) && !sb.dtype.isFloatingPoint {
                throw .runtime("Autograd not support dtype: \(sb.dtype.scalarTypeName)")
            }
            let out = e.memory.makeZeros(shape: Dims(batch, n, m), dtype: sb.dtype)
            return e.pointee.recordIfNeeded(Record(.bmm, result: out, a: self, b: other))
        }
        try Self.checkBatchedDType(sa.dtype, sb.dtype)
        let out = e.memory.batchedProduct(self, other, batched: true)
        return e.pointee.recordIfNeeded(Record(.bmm, result: out, a: self, b: other))
    }

    /// mm's and addmm's dtype rule: the same floating dtype (checked after the shapes).
    private static func checkSameDType(_ a: DType, _ b: DType) throws(TapeGradError) {
        guard a == b else {
            throw .runtime("expected m1 and m2 to have the same dtype, but got: \(a.torchName) != \(b.torchName)")
        }
        guard a != .bool else { throw NNChecks.notImplemented("addmm_impl_cpu_", a) }
    }

    /// bmm's dtype rule, checked after its shapes: `other` of `self`'s type, which is not bool
    /// (an integer `self` passes PyTorch's dispatch, so for it the types are compared first).
    private static func checkBatchedDType(_ a: DType, _ b: DType) throws(TapeGradError) {
        if a.isIntegral && a != b { throw NNChecks.mismatch(a, b) }
        guard a != .bool else { throw NNChecks.notImplemented("bmm", a) }
        guard a == b else { throw NNChecks.mismatch(a, b) }
    }

    /// The matrix product with NumPy's rules (`torch.matmul`, Python's `@`), dispatched as
    /// PyTorch's `_matmul_impl` does, so that results, node names and errors are its: `dot` for
    /// two vectors, `mv` for a matrix and a vector, `mm` for matrices (a vector operand becomes
    /// a row); a batch against a matrix or vector is folded into one `mm`/`mv` when PyTorch
    /// folds it (`shouldFold`); anything else broadcasts the batch dimensions and runs `bmm`.
    public func matmul(_ other: Tensor) throws(TapeGradError) -> Tensor {
        let ra = rank, rb = other.rank
        guard ra > 0 && rb > 0 else {
            throw .runtime("both arguments to matmul need to be at least 1D, but they are \(ra)D and \(rb)D")
        }
        switch (ra, rb) {
        case (1, 1): return try products(.dot, other)
        case (2, 1): return try products(.mv, other)
        case (1, 2):
            let result = try unsqueeze(0).mm(other)
            // PyTorch squeezes the row back out with squeeze_(0) (node SqueezeBackward4).
            return result.view(.squeezeDims, shape: Dims(CollectionOfOne(result.info.shape[1])), strides: Dims(CollectionOfOne(result.info.strides[1])))
        case (2, 2): return try mm(other)
        default: break
        }
        if shouldFold(other) {
            // The batch of the larger operand folded into the rows of one matrix: one mm or mv.
            let transpose = rb > ra
            let t1 = transpose ? try other.transpose(rb - 2, rb - 1) : self
            let t2 = !transpose ? other : (ra == 2 ? try t() : self)
            let sizes = t1.info.shape
            var outShape = Dims()
            for d in 0..<(sizes.count - 1) { outShape.append(sizes[d]) }
            let folded = t1.reshaped(Dims(outShape.product, sizes[sizes.count - 1]))
            if t2.rank == 2 {
                outShape.append(t2.info.shape[1])
                let output = try folded.mm(t2).view(.unsafeView, shape: outShape, strides: outShape.contiguousStrides)
                return transpose ? try output.transpose(outShape.count - 2, outShape.count - 1).contiguous() : output
            }
            return try folded.products(.mv, t2).view(.unsafeView, shape: outShape, strides: outShape.contiguousStrides)
        }
        // Batches broadcast against each other, folded into one batch dimension for bmm.
        let sa = info.shape, sb = other.info.shape
        if ra == 3 && rb == 3 && sa[0] != sb[0] {
            // A batch of one that requires grad is multiplied as a matrix (PyTorch's shortcut:
            // its gradient then needs no expanded copy).
            if sa[0] == 1 && requiresGrad { return try squeeze(0).matmul(other) }
            if sb[0] == 1 && other.requiresGrad { return try matmul(try other.squeeze(0)) }
        }
        let n = ra > 1 ? sa[ra - 2] : 1, m1 = sa[ra - 1]
        let m2 = rb > 1 ? sb[rb - 2] : sb[0], p = rb > 1 ? sb[rb - 1] : 1
        var batchA = Dims(), batchB = Dims()
        for d in 0..<Swift.max(ra - 2, 0) { batchA.append(sa[d]) }
        for d in 0..<Swift.max(rb - 2, 0) { batchB.append(sb[d]) }
        let batch = try Shapes.broadcast(batchA, batchB)
        let batchCount = batch.product
        var targetA = batch
        targetA.append(n); targetA.append(m1)
        let foldedA = expanded(to: targetA).reshaped(Dims(batchCount, n, m1))
        let foldedB: Tensor
        if rb == 1 {
            var targetB = batch
            targetB.append(m2)
            foldedB = try other.expanded(to: targetB).reshaped(Dims(batchCount, m2)).unsqueeze(-1)
        } else {
            var targetB = batch
            targetB.append(m2); targetB.append(p)
            foldedB = other.expanded(to: targetB).reshaped(Dims(batchCount, m2, p))
        }
        var outShape = batch
        if ra > 1 { outShape.append(n) }
        if rb > 1 { outShape.append(p) }
        var product = try foldedA.bmm(foldedB)
        if rb == 1 { product = try product.squeeze(-1) }
        return product.view(.unsafeView, shape: outShape, strides: outShape.contiguousStrides)
    }

    /// PyTorch's `should_fold`: whether the larger operand (of rank 3 or more, against a matrix
    /// or vector) can be multiplied as one matrix. Always when the smaller operand requires
    /// grad (its gradient then needs no batch-sized intermediate); never for a matrix on the
    /// left; else when the larger one is empty or its leading dimensions fold without a copy.
    private func shouldFold(_ other: Tensor) -> Bool {
        let ra = rank, rb = other.rank
        let selfLarger = ra >= rb
        let dimT1 = selfLarger ? ra : rb, dimT2 = selfLarger ? rb : ra
        guard dimT1 >= 3 && dimT2 <= 2 else { return false }
        if selfLarger ? other.requiresGrad : requiresGrad { return true }
        if ra == 2 { return false }
        let t1 = selfLarger ? info : other.info
        var shape = t1.shape, strides = t1.strides
        if !selfLarger {
            shape.swapAt(dimT1 - 2, dimT1 - 1)
            strides.swapAt(dimT1 - 2, dimT1 - 1)
        }
        if shape.product == 0 { return true }
        for i in 0..<(dimT1 - 2) where strides[i] != strides[i + 1] * shape[i + 1] { return false }
        return true
    }

    /// `dot` (vector · vector) and `mv` (matrix · vector) with their own checks, recorded as
    /// their own nodes.
    private func products(_ op: OpCode, _ other: Tensor) throws(TapeGradError) -> Tensor {
        let sa = info, sb = other.info
        let k = sa.shape[sa.shape.count - 1], kb = sb.shape[0]
        if op == .dot {
            // dot checks the dtypes first.
            guard sa.dtype == sb.dtype else {
                throw .runtime("dot : expected both vectors to have same dtype, but found \(sa.dtype.scalarTypeName) and \(sb.dtype.scalarTypeName)")
            }
            guard k == kb else {
                throw .runtime("inconsistent tensor size, expected tensor [\(k)] and src [\(kb)] to have the same number of elements, but got \(k) and \(kb) elements respectively")
            }
            guard sa.dtype != .bool else { throw NNChecks.notImplemented("dot", sa.dtype) }
        } else {
            // mv (addmv into a result of the vector's type) checks the sizes first.
            let rows = sa.shape[0]
            guard k == kb else { throw .runtime("size mismatch, got input (\(rows)), mat (\(rows)x\(k)), vec (\(kb))") }
            guard sa.dtype == sb.dtype else {
                let v = sb.dtype.scalarTypeName
                throw .runtime("addmv input tensors must have the same dtype, but got \(v), \(sa.dtype.scalarTypeName), and \(v)")
            }
            guard sa.dtype != .bool else { throw NNChecks.notImplemented("addmv_impl_cpu", sa.dtype) }
        }
        let e = engine
        let out = try noGrad { () throws(TapeGradError) -> Tensor in
            let a2 = op == .dot ? try self.unsqueeze(0) : self
            let product = try a2.mm(try other.unsqueeze(1))
            return op == .dot ? product.reshaped(Dims()) : product.reshaped(Dims(CollectionOfOne(product.info.shape[0])))
        }
        return e.pointee.recordIfNeeded(Record(op, result: out, a: self, b: other))
    }
}

enum MatMulBackward {
    /// `a · b` of vectors: `g · b` and `g · a`.
    static func dot(_ r: Record, _ g: Tensor) -> Gradients {
        Gradients(a: r.needsA ? g * r.b : .null, b: r.needsB ? g * r.a : .null)
    }

    /// `A v`: the outer product `g vᵀ` and `Aᵀ g`.
    static func mv(_ r: Record, _ g: Tensor) -> Gradients {
        trapping { () throws(TapeGradError) -> Gradients in
            Gradients(a: r.needsA ? try g.unsqueeze(1).mul(r.b) : .null,
                      b: r.needsB ? try r.a.t().matmul(g) : .null)
        }
    }

    static func mm(_ r: Record, _ g: Tensor) -> Gradients {
        Gradients(a: r.needsA ? productGradient(for: r.a, edge: r.edgeA, g, r.b, transposeRight: true) : .null,
                  b: r.needsB ? productGradient(for: r.b, edge: r.edgeB, r.a, transposeLeft: true, g) : .null)
    }

    /// The gradient `left · right` (each read transposed or not) of a product's operand. A leaf
    /// whose `grad` exists takes it directly (gemm with beta 1, or 0 after a lazy `zero_()`),
    /// and `.null` comes back; otherwise it is a (recorded) `mm`. Shared by `mm` and `linear`.
    static func productGradient(
        for operand: Tensor, edge: Int32, _ left: Tensor, transposeLeft: Bool = false, _ right: Tensor, transposeRight: Bool = false
    ) -> Tensor {
        let e = engine
        if edge == Record.leafEdge, let target = e.pointee.directAccumulationTarget(operand),
           e.memory.accumulateProduct(left, transposeA: transposeLeft, right, transposeB: transposeRight, into: target) {
            return .null
        }
        let l = transposeLeft ? trapping { try left.t() } : left
        let r = transposeRight ? trapping { try right.t() } : right
        // As PyTorch's `mm_mat1_backward`/`mm_mat2_backward`: an operand laid out column-major
        // (a transposed weight, `x @ w.t()`) gets its gradient in the same layout, `(rᵀ·lᵀ)ᵀ`,
        // so that `t()`'s backward hands the weight a row-major gradient.
        let s = e.pointee.slot(operand).pointee
        if s.shape.count == 2 && s.shape[0] > 1 && s.shape[1] > 1 && s.strides[0] == 1 && s.strides[1] == s.shape[0] {
            return trapping { try r.t().mm(l.t()).t() }
        }
        return trapping { try l.mm(r) }
    }

    static func bmm(_ r: Record, _ g: Tensor) -> Gradients {
        Gradients(a: r.needsA ? trapping { try g.bmm(r.b.transpose(1, 2)) } : .null,
                  b: r.needsB ? trapping { try r.a.transpose(1, 2).bmm(g) } : .null)
    }
}

/// Threads OpenBLAS uses for matrix products (`torch.set_num_threads` for BLAS work).
///
/// With more than one thread, OpenBLAS allocates its job queue on every product, so a
/// training step is allocation-free only with one thread; the examples and benchmarks set 1.
public var blasThreadCount: Int {
    get { Int(openblas_get_num_threads()) }
    set { openblas_set_num_threads(Int32(max(newValue, 1))) }
}
