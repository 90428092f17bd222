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

/// The Swift type of a dtype's elements: stored as is in a tensor's buffer, read and written
/// through `Double` where types meet (conversion, printing, `item()`).
protocol TensorElement: BitwiseCopyable {
    /// The element converted from a `Double` (rounded for float32, `!= 0` for bool).
    init(fromDouble value: Double)
    /// The element as a `Double`.
    var doubleValue: Double { get }
}

/// The floating-point element types TapeGrad computes in.
typealias FloatElement = Real & BinaryFloatingPoint & BitwiseCopyable & CPower & BLASElement & TensorElement

extension Float: TensorElement {
    @inline(__always) init(fromDouble value: Double) { self.init(value) }
    @inline(__always) var doubleValue: Double { Double(self) }
}

extension Double: TensorElement {
    @inline(__always) init(fromDouble value: Double) { self = value }
    @inline(__always) var doubleValue: Double { self }
}

extension Bool: TensorElement {
    @inline(__always) init(fromDouble value: Double) { self = value != 0 }
    @inline(__always) var doubleValue: Double { self ? 1 : 0 }
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

/// A computation run in the element type of a floating-point tensor (`DType.withFloatElement`).
protocol FloatComputation {
    associatedtype Result
    func run<T: FloatElement>(_ type: T.Type) -> Result
}

/// A computation run in the element type of a tensor of any dtype (`DType.withElement`).
protocol ElementComputation {
    associatedtype Result
    func run<T: TensorElement>(_ type: T.Type) -> Result
}

extension DType {
    /// Runs `computation` with this floating dtype's Swift type. Callers convert bool operands
    /// to a floating type first (PyTorch computes arithmetic on bool in float32).
    @inline(__always)
    func withFloatElement<C: FloatComputation>(_ computation: C) -> C.Result {
        switch self {
        case .float32: computation.run(Float.self)
        case .float64: computation.run(Double.self)
        case .bool: fatalError("TapeGrad: a floating-point kernel was given a bool tensor (an internal error)")
        }
    }

    /// Runs `computation` with this dtype's Swift type.
    @inline(__always)
    func withElement<C: ElementComputation>(_ computation: C) -> C.Result {
        switch self {
        case .float32: computation.run(Float.self)
        case .float64: computation.run(Double.self)
        case .bool: computation.run(Bool.self)
        }
    }
}

extension Engine {
    /// Runs the computation `make` builds, in `dtype`'s floating element type, with a pointer to
    /// this engine derived from `self`: a computation that makes tensors or takes scratch
    /// memory does so through it, inside this mutating call's own access to the engine.
    @inline(__always)
    mutating func compute<C: FloatComputation>(in dtype: DType, _ make: (UnsafeMutablePointer<Engine>) -> C) -> C.Result {
        withUnsafeMutablePointer(to: &self) { dtype.withFloatElement(make($0)) }
    }
}

extension Engine {
    /// The element `offset` elements past a tensor's element [0, 0, …], as a `Double`.
    @inline(__always)
    mutating func load(_ tensor: Tensor, at offset: Int = 0) -> Double {
        slot(tensor).pointee.dtype.withElement(Load(pointer: UnsafeRawPointer(rawBase(tensor)), offset: offset))
    }

    /// Stores `value`, converted to the tensor's element type, `offset` elements past its
    /// element [0, 0, …].
    @inline(__always)
    mutating func store(_ value: Double, into tensor: Tensor, at offset: Int = 0) {
        slot(tensor).pointee.dtype.withElement(Store(value: value, target: rawBase(tensor), offset: offset))
    }
}

/// Reads one element as a `Double`.
struct Load: ElementComputation {
    let pointer: UnsafeRawPointer, offset: Int

    @inline(__always)
    func run<T: TensorElement>(_: T.Type) -> Double { pointer.assumingMemoryBound(to: T.self)[offset].doubleValue }
}

/// Stores one value, converted from a `Double`.
struct Store: ElementComputation {
    let value: Double, target: UnsafeMutableRawPointer
    var offset = 0

    @inline(__always)
    func run<T: TensorElement>(_: T.Type) { target.assumingMemoryBound(to: T.self)[offset] = T(fromDouble: value) }
}
