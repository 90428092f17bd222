// Making tensors: from literals, filled, random, ranges, and conversions between dtypes.

import Foundation

extension Tensor {
    /// A leaf tensor from a scalar or nested arrays (`torch.tensor`): `Tensor([1.0, 2.0])`,
    /// `Tensor([[4, 4], [9, 9]], dtype: .float32)`, `Tensor(1.0, requiresGrad: true)`.
    /// Traps on ragged arrays; use ``init(validating:dtype:requiresGrad:)`` to get an error.
    public init<Data: TensorData>(_ data: Data, dtype: DType? = nil, requiresGrad: Bool = false) {
        self = trapping { try Tensor(validating: data, dtype: dtype, requiresGrad: requiresGrad) }
    }

    /// A leaf tensor from a scalar or nested arrays; throws on ragged arrays or when a
    /// non-float dtype is asked to require grad.
    public init<Data: TensorData>(validating data: Data, dtype: DType? = nil, requiresGrad: Bool = false) throws(TapeGradError) {
        var values = TensorLiterals()
        var shape: [Int] = []
        try data.collect(into: &values, shape: &shape, depth: 0)
        if values.integers.isEmpty {
            try self.init(values: values.doubles, shape: shape, dtype: dtype ?? Data.defaultDType, requiresGrad: requiresGrad)
        } else {
            try self.init(integers: values.integers, shape: shape, dtype: dtype ?? Data.defaultDType, requiresGrad: requiresGrad)
        }
    }

    /// A leaf tensor of the given shape from row-major values.
    /// One `-1` in `shape` is inferred from the count, as `reshape` does.
    public init(values: [Double], shape: [Int], dtype: DType = .float32, requiresGrad: Bool = false) throws(TapeGradError) {
        try self.init(elements: values, shape: shape, dtype: dtype, requiresGrad: requiresGrad)
    }

    /// A leaf tensor of the given shape from row-major integers, exact in every integer
    /// dtype that holds them (wrapped into narrower ones, as PyTorch's casts do).
    public init(integers: [Int64], shape: [Int], dtype: DType = .int64, requiresGrad: Bool = false) throws(TapeGradError) {
        try self.init(elements: integers, shape: shape, dtype: dtype, requiresGrad: requiresGrad)
    }

    private init<Element: TensorElement>(elements: [Element], shape: [Int], dtype: DType, requiresGrad: Bool) throws(TapeGradError) {
        let dims = try Tensor.resolve(shape: shape, count: elements.count)
        if requiresGrad { try Tensor.checkCanRequireGrad(dtype, factory: true) }
        if dtype.isIntegral {
            // `torch.tensor([1000], dtype=torch.int8)` is refused; a float literal is truncated.
            for element in elements {
                let number = Element.isExactInteger ? Number(Int(element.int64Value)) : Number(element.doubleValue)
                try number.checkFits(in: dtype, literal: true)
            }
        }
        let e = engine
        let tensor = e.pointee.makeTensor(shape: dims, dtype: dtype)
        elements.withUnsafeBufferPointer { source in
            guard let source = source.baseAddress else { return }
            Conversion(source: UnsafeRawPointer(source), shape: Dims(CollectionOfOne(elements.count)),
                       strides: Dims(CollectionOfOne(1)), target: e.pointee.rawBase(tensor), targetType: dtype).from(Element.self)
        }
        self = tensor
        if requiresGrad { try setRequiresGrad(true, factory: true) }
    }

    /// Turns gradient recording on or off for a leaf.
    /// PyTorch words the dtype error differently for factories (`torch.tensor(…, requires_grad=True)`)
    /// and for `requires_grad_()`.
    func setRequiresGrad(_ flag: Bool, factory: Bool = false) throws(TapeGradError) {
        let s = engine.pointee.slot(self)
        if flag {
            try Tensor.checkCanRequireGrad(s.pointee.dtype, factory: factory)
            s.pointee.flags.insert(.requiresGrad)
        } else {
            guard s.pointee.gradFn < 0 else {
                throw .runtime("you can only change requires_grad flags of leaf variables. If you want to use a computed variable in a subgraph that doesn't require differentiation use var_no_grad = var.detach().")
            }
            s.pointee.flags.remove(.requiresGrad)
        }
    }

    /// PyTorch's error for a dtype that cannot require grad, worded as PyTorch words it for a
    /// factory (`torch.tensor(…, requires_grad=True)`) or for `requires_grad_()`.
    static func checkCanRequireGrad(_ dtype: DType, factory: Bool) throws(TapeGradError) {
        guard dtype.isFloatingPoint else {
            throw .runtime(factory ? "Only Tensors of floating point and complex dtype can require gradients"
                                   : "only Tensors of floating point dtype can require gradients")
        }
    }

    /// A tensor of `shape` with every element equal to `value` (`torch.full`); traps on a
    /// negative size, where ``full(validating:_:dtype:requiresGrad:)`` throws.
    public static func full(_ shape: [Int], _ value: Double, dtype: DType = .float32, requiresGrad: Bool = false) -> Tensor {
        trapping { try filled(shape, Number(value), dtype: dtype, requiresGrad: requiresGrad, factory: "full") }
    }

    /// `torch.full`, throwing PyTorch's error for a negative size or too many dimensions.
    public static func full(validating shape: [Int], _ value: Double, dtype: DType = .float32, requiresGrad: Bool = false) throws(TapeGradError) -> Tensor {
        try filled(shape, Number(value), dtype: dtype, requiresGrad: requiresGrad, factory: "full")
    }

    /// A tensor of `shape` filled with an integer, int64 unless another dtype is asked for
    /// (`torch.full([2], 7)` is int64); traps on a negative size.
    public static func full(_ shape: [Int], _ value: Int, dtype: DType = .int64, requiresGrad: Bool = false) -> Tensor {
        trapping { try filled(shape, Number(value), dtype: dtype, requiresGrad: requiresGrad, factory: "full") }
    }

    /// `torch.full` with an integer, throwing PyTorch's error for a negative size.
    public static func full(validating shape: [Int], _ value: Int, dtype: DType = .int64, requiresGrad: Bool = false) throws(TapeGradError) -> Tensor {
        try filled(shape, Number(value), dtype: dtype, requiresGrad: requiresGrad, factory: "full")
    }

    /// `torch.zeros`, throwing PyTorch's error for a negative size (`zeros: Dimension size must be non-negative.`).
    public static func zeros(validating shape: [Int], dtype: DType = .float32, requiresGrad: Bool = false) throws(TapeGradError) -> Tensor {
        try filled(shape, Number(0), dtype: dtype, requiresGrad: requiresGrad, factory: "zeros")
    }

    /// `torch.ones`, throwing PyTorch's error for a negative size.
    public static func ones(validating shape: [Int], dtype: DType = .float32, requiresGrad: Bool = false) throws(TapeGradError) -> Tensor {
        try filled(shape, Number(1), dtype: dtype, requiresGrad: requiresGrad, factory: "ones")
    }

    /// The body of the filled factories, its errors named after `factory`; checks come before
    /// any tensor is made.
    private static func filled(
        _ shape: [Int], _ value: Number, dtype: DType, requiresGrad: Bool, factory: String
    ) throws(TapeGradError) -> Tensor {
        let dims = try factoryDims(shape, factory)
        if requiresGrad { try checkCanRequireGrad(dtype, factory: true) }
        try value.checkFits(in: dtype, count: dims.product)
        return full(dims: dims, value, dtype: dtype, requiresGrad: requiresGrad)
    }

    /// A factory's shape as `Dims`, with PyTorch's error for a negative size (`name` is the
    /// factory's, as in `zeros: Dimension size must be non-negative.`).
    static func factoryDims(_ shape: [Int], _ name: String) throws(TapeGradError) -> Dims {
        for size in shape where size < 0 { throw .runtime("\(name): Dimension size must be non-negative.") }
        try Shapes.checkRank(shape.count)
        var count = 1
        for size in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: size)
            guard !overflow, size <= Int(Int32.max) else {
                throw .runtime("TapeGrad: sizes must be below 2^31 and their product must fit in an Int (got \(shape.bracketed))")
            }
            count = product
        }
        return Dims(shape)
    }

    static func full(dims: Dims, _ value: Double, dtype: DType = .float32, requiresGrad: Bool = false) -> Tensor {
        full(dims: dims, Number(value), dtype: dtype, requiresGrad: requiresGrad)
    }

    static func full(dims: Dims, _ value: Number, dtype: DType, requiresGrad: Bool = false) -> Tensor {
        let e = engine
        let tensor = e.pointee.makeTensor(shape: dims, dtype: dtype)
        tensor.fillStorage(value)
        if requiresGrad { trapping { try tensor.setRequiresGrad(true, factory: true) } }
        return tensor
    }

    /// Writes `value` into every element, without recording or version bump.
    func fillStorage(_ value: Double) { fillStorage(Number(value)) }

    /// Writes `value` (converted to the dtype, an `Int` exactly) into every element.
    func fillStorage(_ value: Number) {
        let e = engine
        let s = info
        if s.isContiguous && value.double == 0 && value.integer == 0 {
            // Zeros are all-zero bytes in every dtype: one memset.
            e.pointee.rawBase(self).initializeMemory(as: UInt8.self, repeating: 0, count: s.shape.product * s.dtype.itemSize)
            return
        }
        s.dtype.withElement(Fill(target: e.pointee.rawBase(self), shape: s.shape, strides: s.strides, contiguous: s.isContiguous, value: value))
    }

    /// Ones (`torch.ones`).
    public static func ones(_ shape: [Int], dtype: DType = .float32, requiresGrad: Bool = false) -> Tensor {
        trapping { try filled(shape, Number(1), dtype: dtype, requiresGrad: requiresGrad, factory: "ones") }
    }
    /// Ones, with the sizes as separate arguments: `Tensor.ones(2, 2, requiresGrad: true)`.
    public static func ones(_ shape: Int..., dtype: DType = .float32, requiresGrad: Bool = false) -> Tensor {
        ones(shape, dtype: dtype, requiresGrad: requiresGrad)
    }
    /// Zeros (`torch.zeros`).
    public static func zeros(_ shape: [Int], dtype: DType = .float32, requiresGrad: Bool = false) -> Tensor {
        trapping { try filled(shape, Number(0), dtype: dtype, requiresGrad: requiresGrad, factory: "zeros") }
    }
    /// Zeros, with the sizes as separate arguments.
    public static func zeros(_ shape: Int..., dtype: DType = .float32, requiresGrad: Bool = false) -> Tensor {
        zeros(shape, dtype: dtype, requiresGrad: requiresGrad)
    }

    /// Ones of this tensor's shape, in its dtype unless `dtype` says (`torch.ones_like`).
    public func onesLike(dtype: DType? = nil, requiresGrad: Bool = false) -> Tensor {
        Tensor.full(dims: info.shape, Number(1), dtype: dtype ?? self.dtype, requiresGrad: requiresGrad)
    }

    /// Zeros of this tensor's shape, in its dtype unless `dtype` says (`torch.zeros_like`).
    public func zerosLike(dtype: DType? = nil, requiresGrad: Bool = false) -> Tensor {
        Tensor.full(dims: info.shape, Number(0), dtype: dtype ?? self.dtype, requiresGrad: requiresGrad)
    }

    /// Uniform values in [0, 1) from the thread's generator (`torch.rand`).
    public static func rand(_ shape: [Int], dtype: DType = .float32, requiresGrad: Bool = false) -> Tensor {
        random(shape, dtype: dtype, requiresGrad: requiresGrad) { $0.nextUniform() }
    }
    /// Uniform values in [0, 1), with the sizes as separate arguments.
    public static func rand(_ shape: Int..., dtype: DType = .float32, requiresGrad: Bool = false) -> Tensor {
        rand(shape, dtype: dtype, requiresGrad: requiresGrad)
    }
    /// Uniform values in [0, 1) from the given generator.
    public static func rand(_ shape: [Int], dtype: DType = .float32, requiresGrad: Bool = false, using generator: inout RandomGenerator) -> Tensor {
        random(shape, dtype: dtype, requiresGrad: requiresGrad, using: &generator) { $0.nextUniform() }
    }

    /// Standard normal values from the thread's generator (`torch.randn`).
    public static func randn(_ shape: [Int], dtype: DType = .float32, requiresGrad: Bool = false) -> Tensor {
        random(shape, dtype: dtype, requiresGrad: requiresGrad) { $0.nextNormal() }
    }
    /// Standard normal values, with the sizes as separate arguments.
    public static func randn(_ shape: Int..., dtype: DType = .float32, requiresGrad: Bool = false) -> Tensor {
        randn(shape, dtype: dtype, requiresGrad: requiresGrad)
    }
    /// Standard normal values from the given generator.
    public static func randn(_ shape: [Int], dtype: DType = .float32, requiresGrad: Bool = false, using generator: inout RandomGenerator) -> Tensor {
        random(shape, dtype: dtype, requiresGrad: requiresGrad, using: &generator) { $0.nextNormal() }
    }

    private static func random(_ shape: [Int], dtype: DType, requiresGrad: Bool, _ draw: (inout RandomGenerator) -> Double) -> Tensor {
        random(shape, dtype: dtype, requiresGrad: requiresGrad, using: &engine.pointee.generator, draw)
    }

    private static func random(_ shape: [Int], dtype: DType, requiresGrad: Bool, using generator: inout RandomGenerator,
                               _ draw: (inout RandomGenerator) -> Double) -> Tensor {
        check(dtype.isFloatingPoint, "random tensors must have a floating dtype")
        let e = engine
        // float16 and bfloat16 draw float32's values, rounded (as PyTorch's generators).
        var tensor = e.pointee.makeTensor(shape: trapping { try factoryDims(shape, "random") }, dtype: dtype.kernelType)
        let target = e.pointee.rawBase(tensor), count = tensor.count
        withoutActuallyEscaping(draw) { draw in
            withUnsafeMutablePointer(to: &generator) { generator in
                dtype.kernelType.withFloatElement(RandomDraws(target: target, count: count, generator: generator, draw: draw))
            }
        }
        tensor = e.memory.rounded(tensor, to: dtype)
        if requiresGrad { trapping { try tensor.setRequiresGrad(true) } }
        return tensor
    }

    /// The values `start, start + step, …` below `end` (`torch.arange`).
    public static func arange(_ start: Double = 0, _ end: Double, step: Double = 1, dtype: DType = .float32, requiresGrad: Bool = false) throws(TapeGradError) -> Tensor {
        // PyTorch's checks, in its order; non-finite bounds or steps trapped converting the count.
        guard step != 0 else { throw .runtime("step must be nonzero") }
        guard step.isFinite else { throw .runtime("step must be finite but got \(cNumber(step))") }
        guard start.isFinite && end.isFinite else {
            throw .runtime("unsupported range: \(cNumber(start)) -> \(cNumber(end))")
        }
        guard (step > 0 && end >= start) || (step < 0 && end <= start) else {
            throw .runtime("upper bound and lower bound inconsistent with step sign")
        }
        let size = ((end - start) / step).rounded(.up)
        guard size >= 0 && size < 0x1p63 else { throw .runtime("invalid size, possible overflow?") }
        let count = Int(size)
        _ = try factoryDims([count], "arange")
        return try Tensor(values: (0..<count).map { start + Double($0) * step }, shape: [count], dtype: dtype, requiresGrad: requiresGrad)
    }

    /// The integers `start, start + step, …` below `end`, int64 unless another dtype is asked
    /// for (`torch.arange(5)`).
    public static func arange(_ start: Int = 0, _ end: Int, step: Int = 1, dtype: DType = .int64, requiresGrad: Bool = false) throws(TapeGradError) -> Tensor {
        guard step != 0 else { throw .runtime("step must be nonzero") }
        guard (step > 0 && end >= start) || (step < 0 && end <= start) else {
            throw .runtime("upper bound and lower bound inconsistent with step sign")
        }
        // The span as a magnitude, so that no bound or step can overflow the arithmetic.
        let span = start.distance(to: end).magnitude, stride = step.magnitude
        let whole = span / stride
        guard whole < UInt(Int.max) else { throw .runtime("invalid size, possible overflow?") }
        let count = Int(whole) + (span % stride == 0 ? 0 : 1)
        _ = try factoryDims([count], "arange")
        return try Tensor(integers: (0..<count).map { Int64(truncatingIfNeeded: start &+ $0 &* step) }, shape: [count], dtype: dtype, requiresGrad: requiresGrad)
    }

    /// A number as C++'s `<<` prints a double in PyTorch's messages (`%g`: `0`, `0.5`, `inf`, `nan`).
    private static func cNumber(_ value: Double) -> String {
        String(format: "%g", value)
    }

    /// This tensor's values in another dtype (`tensor.to(dtype)`); `self` when already of it.
    public func to(_ dtype: DType) -> Tensor {
        if dtype == self.dtype { return self }
        let e = engine
        let out = e.memory.convert(self, to: dtype)
        guard dtype.isFloatingPoint else { return out }
        return e.pointee.recordIfNeeded(Record(.toDType, result: out, a: self))
    }

    /// This tensor's values in int64 (`tensor.long()`), floats truncated toward zero.
    public func long() -> Tensor { to(.int64) }

    /// This tensor's values in int32 (`tensor.int()`).
    public func int() -> Tensor { to(.int32) }

    /// This tensor's values in int16 (`tensor.short()`).
    public func short() -> Tensor { to(.int16) }

    /// This tensor's values in int8 (`tensor.char()`).
    public func char() -> Tensor { to(.int8) }

    /// This tensor's values in uint8 (`tensor.byte()`).
    public func byte() -> Tensor { to(.uint8) }

    /// This tensor's values in float32 (`tensor.float()`).
    public func float() -> Tensor { to(.float32) }

    /// This tensor's values in float64 (`tensor.double()`).
    public func double() -> Tensor { to(.float64) }

    /// This tensor's values in float16 (`tensor.half()`), rounded to nearest-even.
    public func half() -> Tensor { to(.float16) }

    /// This tensor's values in bfloat16 (`tensor.bfloat16()`), rounded to nearest-even.
    public func bfloat16() -> Tensor { to(.bfloat16) }

    /// This tensor's values as bool, nonzero being true (`tensor.bool()`).
    public func bool() -> Tensor { to(.bool) }
}

enum CreationBackward {
    static func toDType(_ r: Record, _ g: Tensor) -> Gradients { Gradients(a: g.to(r.a.info.dtype)) }
}
