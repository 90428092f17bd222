// Factories beyond `zeros`/`ones`/`full`/`arange`: identity matrices, evenly spaced values,
// random integers and permutations, and one-hot encodings. PyTorch's dtypes and checks.

extension Tensor {
    /// The `n × m` identity (`torch.eye`; `m` defaults to `n`), float32 unless `dtype` says.
    public static func eye(_ n: Int, _ m: Int? = nil, dtype: DType = .float32, requiresGrad: Bool = false) throws(TapeGradError) -> Tensor {
        guard n >= 0 else { throw .runtime("n must be greater or equal to 0, got \(n)") }
        let m = m ?? n
        guard m >= 0 else { throw .runtime("m must be greater or equal to 0, got \(m)") }
        let out = try Tensor.zeros(validating: [n, m], dtype: dtype)
        let e = engine
        for i in 0..<Swift.min(n, m) { e.memory.store(1, into: out, at: i * m + i) }
        if requiresGrad { try out.setRequiresGrad(true, factory: true) }
        return out
    }

    /// `steps` values from `start` to `end`, evenly spaced (`torch.linspace`), float32 unless
    /// `dtype` says. As PyTorch, the first half counts up from `start` and the second half
    /// down from `end`, so both ends are exact; an integer dtype truncates.
    public static func linspace(_ start: Double, _ end: Double, steps: Int, dtype: DType = .float32, requiresGrad: Bool = false) throws(TapeGradError) -> Tensor {
        guard steps >= 0 else { throw .runtime("number of steps must be non-negative") }
        let out = try Tensor.zeros(validating: [steps], dtype: dtype)
        if steps > 0 {
            let e = engine
            if dtype.isReducedPrecision {
                // float32's values, rounded (PyTorch steps float16 and bfloat16 in float32).
                let wide = try linspace(start, end, steps: steps)
                e.memory.copyValues(from: wide, into: out)
            } else if dtype.isFloatingPoint {
                dtype.withFloatElement(EvenlySpaced(target: e.pointee.rawBase(out), start: start, end: end, steps: steps))
            } else {
                // PyTorch steps integer results in double precision.
                let values = EvenlySpaced.values(Double.self, start: start, end: end, steps: steps)
                for (i, v) in values.enumerated() { e.memory.store(v, into: out, at: i) }
            }
        }
        if requiresGrad { try out.setRequiresGrad(true, factory: true) }
        return out
    }

    /// Random integers in `low..<high`, uniformly (`torch.randint`), int64 unless `dtype` says.
    /// The values differ from PyTorch's for the same seed.
    public static func randint(_ low: Int = 0, _ high: Int, _ shape: [Int], dtype: DType = .int64) throws(TapeGradError) -> Tensor {
        for size in shape where size < 0 {
            throw .runtime("Trying to create tensor with negative dimension \(size): \(shape.bracketed)")
        }
        guard low < high else { throw .runtime("random_ expects 'from' to be less than 'to', but got from=\(low) >= to=\(high)") }
        let count = try factoryDims(shape, "randint").product
        let span = UInt64(bitPattern: Int64(high) &- Int64(low))
        var values = [Int64](repeating: 0, count: count)
        let e = engine
        for i in 0..<count { values[i] = Int64(low) &+ Int64(bitPattern: e.pointee.generator.next(upperBound: span)) }
        return try Tensor(integers: values, shape: shape, dtype: dtype)
    }

    /// The integers `0..<n` in a random order (`torch.randperm`), int64 unless `dtype` says.
    public static func randperm(_ n: Int, dtype: DType = .int64) throws(TapeGradError) -> Tensor {
        guard n >= 0 else { throw .runtime("Trying to create tensor with negative dimension \(n): [\(n)]") }
        var values = (0..<Int64(n)).map { $0 }
        values.shuffle(using: &engine.pointee.generator)
        return try Tensor(integers: values, shape: [n], dtype: dtype)
    }

    /// `numSamples` category indices drawn from each row of unnormalised probabilities
    /// (1-D, or 2-D for a batch of distributions), int64 (`torch.multinomial`). Without
    /// `replacement` a category is drawn at most once while some with weight remain. The
    /// values differ from PyTorch's for the same seed.
    public func multinomial(_ numSamples: Int, replacement: Bool = false) throws(TapeGradError) -> Tensor {
        guard rank == 1 || rank == 2 else { throw .runtime("prob_dist must be 1 or 2 dim") }
        guard dtype.isFloatingPoint else {
            throw .runtime("multinomial only supports floating-point dtypes for input, got: \(dtype.scalarTypeName)")
        }
        guard numSamples > 0 else { throw .runtime("cannot sample n_sample <= 0 samples") }
        let categories = shape[rank - 1], rows = rank == 1 ? 1 : shape[0]
        if !replacement && numSamples > categories {
            throw .runtime("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
        }
        let p = scalars()
        for v in p where !v.isFinite || v < 0 {
            throw .runtime("probability tensor contains either `inf`, `nan` or element < 0")
        }
        var drawn: [Int64] = []
        drawn.reserveCapacity(rows * numSamples)
        let e = engine
        for r in 0..<rows {
            let weights = Array(p[(r * categories)..<((r + 1) * categories)])
            guard weights.reduce(0, +) > 0 else { throw .runtime("invalid multinomial distribution (sum of probabilities <= 0)") }
            var used = [Bool](repeating: false, count: categories)
            for _ in 0..<numSamples {
                var total = 0.0
                for i in 0..<categories where !used[i] { total += weights[i] }
                // Past the weighted categories (without replacement): the first one left.
                var pick = used.firstIndex(of: false)!
                if total > 0 {
                    let u = e.pointee.generator.nextUniform() * total
                    var running = 0.0
                    for i in 0..<categories where !used[i] && weights[i] > 0 {
                        pick = i
                        running += weights[i]
                        if u < running { break }
                    }
                }
                drawn.append(Int64(pick))
                if !replacement { used[pick] = true }
            }
        }
        return try Tensor(integers: drawn, shape: rank == 1 ? [numSamples] : [rows, numSamples])
    }

    /// Each class index of an int64 tensor as a row of zeros with a one at it, shape
    /// `shape + [numClasses]`, int64 (`torch.nn.functional.one_hot`). `numClasses` -1 means one
    /// more than the largest class.
    public func oneHot(numClasses: Int = -1) throws(TapeGradError) -> Tensor {
        guard dtype == .int64 else { throw .runtime("one_hot is only applicable to index tensor of type LongTensor.") }
        let classes = integerScalars()
        if numClasses == -1 && classes.isEmpty {
            throw .runtime("Can not infer total number of classes from empty tensor.")
        }
        if let low = classes.min(), low < 0 { throw .runtime("Class values must be non-negative.") }
        let count = numClasses == -1 ? Int(classes.max()! + 1) : numClasses
        if let high = classes.max(), high >= Int64(count) { throw .runtime("Class values must be smaller than num_classes.") }
        let out = try Tensor.zeros(validating: shape + [count], dtype: .int64)
        let e = engine
        for (i, c) in classes.enumerated() { e.memory.store(1, into: out, at: i * count + Int(c)) }
        return out
    }
}

/// linspace's values in a floating type `T`, computed as PyTorch's kernel does.
struct EvenlySpaced: FloatComputation {
    let target: UnsafeMutableRawPointer, start: Double, end: Double, steps: Int

    func run<T: FloatElement>(_: T.Type) {
        let out = target.assumingMemoryBound(to: T.self)
        for (i, v) in Self.values(T.self, start: start, end: end, steps: steps).enumerated() { out[i] = v }
    }

    static func values<T: BinaryFloatingPoint>(_: T.Type, start: Double, end: Double, steps: Int) -> [T] {
        let a = T(start), b = T(end)
        guard steps > 1 else { return steps == 1 ? [a] : [] }
        let step = (b - a) / T(steps - 1)
        let halfway = steps / 2
        return (0..<steps).map { i in i < halfway ? a + step * T(i) : b - step * T(steps - i - 1) }
    }
}
