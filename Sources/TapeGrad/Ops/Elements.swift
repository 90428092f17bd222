// The element types behind the dtypes, and the one place a dtype becomes a Swift type.
//
// Kernels are written once, generic over the element type `T`. A call site packs its operands
// into a small struct conforming to `FloatComputation` (or `ElementComputation`) whose generic
// `run(_:)` calls the kernel, and hands it to `DType.withFloatElement(_:)`: that switch is the
// only code that maps a dtype to its Swift type, so a new dtype is added there (and in DType's
// own tables), not at every kernel. Each `run` is specialised per element type by the
// compiler: no existential or witness-table call reaches an inner loop.

import Glibc
import RealModule

/// The Swift type of a dtype's elements, stored as is in a tensor's buffer. Values cross
/// between types through `Int64` when the source is an integer or bool (exact for every
/// integer) and through `Double` otherwise (`Conversion`, printing, `item()`).
protocol TensorElement: BitwiseCopyable {
    /// The element converted from a `Double`: rounded for float32, `!= 0` for bool, and for
    /// integers truncated toward zero as PyTorch's casts do on x86 (see `IntegerElement`).
    init(fromDouble value: Double)
    /// The element as a `Double`.
    var doubleValue: Double { get }
    /// The element converted from an `Int64`: rounded to nearest for floats, wrapped for
    /// narrower integers, `!= 0` for bool.
    init(fromInt64 value: Int64)
    /// The element as an `Int64` (floats truncated toward zero; only read for integers and bool).
    var int64Value: Int64 { get }
    /// Whether values of this type are exact as `Int64`s (integers and bool).
    static var isExactInteger: Bool { get }
}

/// The floating-point element types TapeGrad computes in.
typealias FloatElement = Real & BinaryFloatingPoint & SIMDScalar & BitwiseCopyable & CPower & VectorMath & BLASElement & TensorElement

/// The integer element types: arithmetic on them wraps on overflow, as PyTorch's does.
protocol IntegerElement: FixedWidthInteger, TensorElement {}

extension Float: TensorElement {
    @inline(__always) init(fromDouble value: Double) { self.init(value) }
    @inline(__always) var doubleValue: Double { Double(self) }
    @inline(__always) init(fromInt64 value: Int64) { self.init(value) }
    @inline(__always) var int64Value: Int64 { Int64(fromDouble: Double(self)) }
    static var isExactInteger: Bool { false }
}

extension Double: TensorElement {
    @inline(__always) init(fromDouble value: Double) { self = value }
    @inline(__always) var doubleValue: Double { self }
    @inline(__always) init(fromInt64 value: Int64) { self.init(value) }
    @inline(__always) var int64Value: Int64 { Int64(fromDouble: self) }
    static var isExactInteger: Bool { false }
}

extension Bool: TensorElement {
    @inline(__always) init(fromDouble value: Double) { self = value != 0 }
    @inline(__always) var doubleValue: Double { self ? 1 : 0 }
    @inline(__always) init(fromInt64 value: Int64) { self = value != 0 }
    @inline(__always) var int64Value: Int64 { self ? 1 : 0 }
    static var isExactInteger: Bool { true }
}

extension IntegerElement {
    @inline(__always) init(fromInt64 value: Int64) { self.init(truncatingIfNeeded: value) }
    @inline(__always) var int64Value: Int64 { Int64(truncatingIfNeeded: self) }
    @inline(__always) var doubleValue: Double { Double(self) }
    static var isExactInteger: Bool { true }

    /// x86's `cvttsd2si` into 32 bits, then the low bits: what PyTorch's `static_cast` of a
    /// float to int32, int16, int8 or uint8 gives (out of int32's range or NaN is int32's
    /// minimum, so 0 for the narrower types).
    @inline(__always) init(convertingThroughInt32 value: Double) {
        let inRange = value > -2_147_483_649 && value < 2_147_483_648
        self.init(truncatingIfNeeded: inRange ? Int32(value) : Int32.min)
    }
}

extension Int64: IntegerElement {
    /// Truncated toward zero; NaN and values out of range are int64's minimum (x86's `cvttsd2si`).
    @inline(__always) init(fromDouble value: Double) {
        self = value >= -9_223_372_036_854_775_808 && value < 9_223_372_036_854_775_808 ? Int64(value) : .min
    }
}

extension Int32: IntegerElement {
    @inline(__always) init(fromDouble value: Double) { self.init(convertingThroughInt32: value) }
}

extension Int16: IntegerElement {
    @inline(__always) init(fromDouble value: Double) { self.init(convertingThroughInt32: value) }
}

extension Int8: IntegerElement {
    @inline(__always) init(fromDouble value: Double) { self.init(convertingThroughInt32: value) }
}

extension UInt8: IntegerElement {
    @inline(__always) init(fromDouble value: Double) { self.init(convertingThroughInt32: value) }
}

/// A 2-byte float type, stored as is and computed in float32 (`DType.isReducedPrecision`): the
/// kernels never see it; ops widen such operands to float32 and round their results back.
protocol ReducedFloatElement: TensorElement {
    /// The value rounded to nearest-even (c10's conversions).
    init(rounding value: Float)
    /// The value as a float32 (exact).
    var floatValue: Float { get }
}

extension ReducedFloatElement {
    /// Through float32 first, as PyTorch's casts from double do.
    @inline(__always) init(fromDouble value: Double) { self.init(rounding: Float(value)) }
    @inline(__always) var doubleValue: Double { Double(floatValue) }
    @inline(__always) init(fromInt64 value: Int64) { self.init(rounding: Float(value)) }
    @inline(__always) var int64Value: Int64 { Int64(fromDouble: doubleValue) }
    static var isExactInteger: Bool { false }
}

extension Float16: ReducedFloatElement {
    @inline(__always) init(rounding value: Float) { self.init(value) }
    @inline(__always) var floatValue: Float { Float(self) }
}

/// Brain floating point: the upper 16 bits of a float32 (`torch.bfloat16`).
struct BFloat16: ReducedFloatElement {
    var bits: UInt16

    init(bits: UInt16) { self.bits = bits }

    /// Rounds to nearest-even on the dropped 16 bits; NaN stays a quiet NaN.
    @inline(__always) init(rounding value: Float) {
        if value.isNaN { bits = 0x7FC0; return }
        let u = value.bitPattern
        bits = UInt16(truncatingIfNeeded: (u &+ (0x7FFF &+ ((u >> 16) & 1))) >> 16)
    }

    @inline(__always) var floatValue: Float { Float(bitPattern: UInt32(bits) << 16) }
}

/// The C library's `pow` for an element type: C's rules for negative bases, zeros and
/// infinities, which PyTorch follows (`RealModule`'s `pow` is NaN for every negative base).
protocol CPower {
    static func cPow(_ x: Self, _ y: Self) -> Self
}

extension Float: CPower {
    @inline(__always) static func cPow(_ x: Float, _ y: Float) -> Float { powf(x, y) }
}

extension Double: CPower {
    @inline(__always) static func cPow(_ x: Double, _ y: Double) -> Double { Glibc.pow(x, y) }
}

/// `exp` and `tanh` without a call or a branch, so that a loop of them vectorises (PyTorch's
/// float kernels use SLEEF's vectorised functions). For float: `exp` as Cephes' `expf`
/// (2ⁿ·e^r with a degree-7 polynomial on |r| ≤ ln2/2, within 2 ulp; 0 below −87.34, where
/// float's exp is subnormal, ∞ above 88.72), `tanh` a rational approximation on [−7.9, 7.9]
/// (±1 beyond), within 4·10⁻⁷ of the exact value and exact near 0. For double, the C library's.
protocol VectorMath {
    static func vectorExp(_ x: Self) -> Self
    static func vectorTanh(_ x: Self) -> Self
}

extension Float: VectorMath {
    @inline(__always) static func vectorExp(_ x: Float) -> Float {
        let c = x.isNaN ? 0 : Swift.min(Swift.max(x, -87.3365447505531), 88.7228391116729)
        let n = (c * 1.44269504088896341).rounded(.toNearestOrEven)
        let r = c - n * 0.693359375 + n * 2.12194440e-4
        var p: Float = 1.9875691500e-4
        p = p * r + 1.3981999507e-3
        p = p * r + 8.3334519073e-3
        p = p * r + 4.1665795894e-2
        p = p * r + 1.6666665459e-1
        p = p * r + 5.0000001201e-1
        let e = p * r * r + r + 1
        // 2ⁿ in two factors, each a normal float for n in [−126, 128].
        let k = Int32(n), half = k >> 1
        let a = Float(bitPattern: UInt32(bitPattern: half &+ 127) << 23)
        let b = Float(bitPattern: UInt32(bitPattern: (k &- half) &+ 127) << 23)
        let y = e * a * b
        return x.isNaN ? x : x < -87.3365447505531 ? 0 : x > 88.7228391116729 ? .infinity : y
    }

    @inline(__always) static func vectorTanh(_ x: Float) -> Float {
        // The minimax ratio of odd degree 13 over even degree 6 (as Eigen's `ptanh` for float).
        let c = Swift.min(Swift.max(x, -7.90531110763549805), 7.90531110763549805)
        let x2 = c * c
        var p: Float = -2.76076847742355e-16
        p = p * x2 + 2.00018790482477e-13
        p = p * x2 - 8.60467152213735e-11
        p = p * x2 + 5.12229709037114e-08
        p = p * x2 + 1.48572235717979e-05
        p = p * x2 + 6.37261928875436e-04
        p = p * x2 + 4.89352455891786e-03
        var q: Float = 1.19825839466702e-06
        q = q * x2 + 1.18534705686654e-04
        q = q * x2 + 2.26843463243900e-03
        q = q * x2 + 4.89352518554385e-03
        let t = c * p / q
        // Below 4e-4 tanh(x) rounds to x; NaN stays NaN.
        return Swift.abs(x) < 0.0004 || x.isNaN ? x : t
    }
}

extension Double: VectorMath {
    @inline(__always) static func vectorExp(_ x: Double) -> Double { Glibc.exp(x) }
    @inline(__always) static func vectorTanh(_ x: Double) -> Double { Glibc.tanh(x) }
}

/// A computation run in the element type of a floating-point tensor (`DType.withFloatElement`).
protocol FloatComputation {
    associatedtype Result
    func run<T: FloatElement>(_ type: T.Type) -> Result
}

/// A computation run in the element type of an integer tensor (`DType.withIntegerElement`).
protocol IntegerComputation {
    associatedtype Result
    func run<T: IntegerElement>(_ type: T.Type) -> Result
}

/// A computation run in the element type of a tensor of any dtype (`DType.withElement`).
protocol ElementComputation {
    associatedtype Result
    func run<T: TensorElement>(_ type: T.Type) -> Result
}

extension DType {
    /// Runs `computation` with this floating dtype's Swift type. Callers convert bool and
    /// integer operands to a floating type first where PyTorch computes in one.
    @inline(__always)
    func withFloatElement<C: FloatComputation>(_ computation: C) -> C.Result {
        switch self {
        case .float32: computation.run(Float.self)
        case .float64: computation.run(Double.self)
        case .bool, .int64, .int32, .int16, .int8, .uint8, .float16, .bfloat16:
            fatalError("TapeGrad: a floating-point kernel was given a \(self) tensor (an internal error)")
        }
    }

    /// Runs `computation` with this integer dtype's Swift type.
    @inline(__always)
    func withIntegerElement<C: IntegerComputation>(_ computation: C) -> C.Result {
        switch self {
        case .int64: computation.run(Int64.self)
        case .int32: computation.run(Int32.self)
        case .int16: computation.run(Int16.self)
        case .int8: computation.run(Int8.self)
        case .uint8: computation.run(UInt8.self)
        case .float32, .float64, .bool, .float16, .bfloat16:
            fatalError("TapeGrad: an integer kernel was given a \(self) tensor (an internal error)")
        }
    }

    /// Runs a computation written for floats and integers alike with this dtype's Swift type
    /// (bool operands are converted first).
    @inline(__always)
    func withNumericElement<C: FloatComputation & IntegerComputation>(_ computation: C) -> C.Result {
        isFloatingPoint ? withFloatElement(computation) : withIntegerElement(computation)
    }

    /// Runs `computation` with this dtype's Swift type.
    @inline(__always)
    func withElement<C: ElementComputation>(_ computation: C) -> C.Result {
        switch self {
        case .float32: computation.run(Float.self)
        case .float64: computation.run(Double.self)
        case .bool: computation.run(Bool.self)
        case .int64: computation.run(Int64.self)
        case .int32: computation.run(Int32.self)
        case .int16: computation.run(Int16.self)
        case .int8: computation.run(Int8.self)
        case .uint8: computation.run(UInt8.self)
        case .float16: computation.run(Float16.self)
        case .bfloat16: computation.run(BFloat16.self)
        }
    }
}

extension TensorMemory {
    /// Runs the computation `make` builds, in `dtype`'s floating element type; a computation
    /// that makes tensors or takes scratch memory gets this tensor memory to do it with.
    @inline(__always)
    func compute<C: FloatComputation>(in dtype: DType, _ make: (TensorMemory) -> C) -> C.Result {
        dtype.withFloatElement(make(self))
    }
}

extension TensorMemory {
    /// The element `offset` elements past a tensor's element [0, 0, …], as a `Double`.
    @inline(__always)
    func load(_ tensor: Tensor, at offset: Int = 0) -> Double {
        slot(tensor).pointee.dtype.withElement(Load(pointer: UnsafeRawPointer(rawBase(tensor)), offset: offset))
    }

    /// Stores `value`, converted to the tensor's element type, `offset` elements past its
    /// element [0, 0, …].
    @inline(__always)
    func store(_ value: Double, into tensor: Tensor, at offset: Int = 0) {
        slot(tensor).pointee.dtype.withElement(Store(value: value, target: rawBase(tensor), offset: offset))
    }
}

/// Reads one element as a `Double`.
struct Load: ElementComputation {
    let pointer: UnsafeRawPointer, offset: Int

    @inline(__always)
    func run<T: TensorElement>(_: T.Type) -> Double { pointer.assumingMemoryBound(to: T.self)[offset].doubleValue }
}

/// Stores one value, converted from a `Number` (exactly from an `Int`).
struct Store: ElementComputation {
    let number: Number, target: UnsafeMutableRawPointer
    var offset = 0

    init(value: Double, target: UnsafeMutableRawPointer, offset: Int = 0) {
        self.init(number: Number(value), target: target, offset: offset)
    }

    init(number: Number, target: UnsafeMutableRawPointer, offset: Int = 0) {
        self.number = number
        self.target = target
        self.offset = offset
    }

    @inline(__always)
    func run<T: TensorElement>(_: T.Type) { target.assumingMemoryBound(to: T.self)[offset] = number.converted(to: T.self) }
}

/// A Swift number given to an op, kept as it was given (an `Int` exactly): PyTorch's wrapped
/// numbers, whose kind takes part in the result type.
struct Number: BitwiseCopyable {
    var double: Double
    var integer: Int64
    var kind: ScalarKind

    init(_ value: Double) { double = value; integer = Int64(fromDouble: value); kind = .floating }
    init(_ value: Int) { double = Double(value); integer = Int64(value); kind = .integer }
    init(_ value: Bool) { double = value ? 1 : 0; integer = value ? 1 : 0; kind = .boolean }

    /// No number: the default of kernels without parameters (bool is the lowest kind, so it
    /// leaves the result type to the tensor).
    static let none = Number(false)

    /// PyTorch's `checked_convert` of a number written into a `dtype` tensor (`fill_`,
    /// `full`, `masked_fill`, a subscript write): an integer type takes numbers within its
    /// range (uint8 also -255...-1, wrapping), and neither NaN nor infinities; float32 takes
    /// infinities but no finite number beyond its range. `typeName` is the C++ type PyTorch's
    /// message names (`int64_t`), or the dtype's name for a literal (`int8`).
    ///
    /// A float16 or bfloat16 fill of one element (`count` 1) is not checked: PyTorch writes it
    /// through `scalar_fill`, which rounds to infinity.
    func checkFits(in dtype: DType, literal: Bool = false, count: Int? = nil) throws(TapeGradError) {
        if dtype.isReducedPrecision && count == 1 { return }
        guard overflows(dtype) else { return }
        throw .runtime("value cannot be converted to type \(literal ? String(dtype.description.dropFirst(6)) : dtype.cTypeName) without overflow")
    }

    private func overflows(_ dtype: DType) -> Bool {
        switch dtype.category {
        case .boolean:
            return false
        case .floating:
            guard dtype != .float64, kind == .floating, double.isFinite else { return false }
            return double.magnitude > dtype.greatestFiniteMagnitude
        case .integral:
            let (low, high) = dtype.integerBounds
            // An unsigned type takes negative integers down to -max, wrapping (c10's
            // `overflows`), but no negative float.
            if kind != .floating { return integer < (low == 0 ? -high : low) || integer > high }
            guard double.isFinite else { return true }
            return double < Double(low) || double > Double(high)
        }
    }

    /// The number as a `T`: from the integer when it was an `Int` (or bool), else from the double.
    @inline(__always)
    func converted<T: TensorElement>(to _: T.Type) -> T {
        kind == .floating ? T(fromDouble: double) : T(fromInt64: integer)
    }
}
