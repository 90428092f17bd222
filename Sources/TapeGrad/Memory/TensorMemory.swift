/// What the op layer (`Ops/`, `NN/`) uses of the calling thread's engine: making tensors and
/// views, reading their slots, reaching their buffers and scratch memory. The ops' tensor
/// plumbing (`mapUnary`, `convert`, `softmax`, …) is written on this, not on `Engine`, so it
/// sees the memory model through these few calls and never the tape, the scopes or the tables
/// behind them. A plain pointer: making one costs nothing, and every call inlines.
struct TensorMemory {
    /// The engine whose memory this is.
    let engine: UnsafeMutablePointer<Engine>

    @inline(__always) init(_ engine: UnsafeMutablePointer<Engine>) { self.engine = engine }

    /// A tensor's slot: its layout, dtype, flags and storage.
    @inline(__always) func slot(_ tensor: Tensor) -> UnsafeMutablePointer<TensorSlot> { engine.pointee.slot(tensor) }

    /// A new contiguous tensor of uninitialised elements (see `Engine.makeTensor`).
    @inline(__always) func makeTensor(shape: Dims, dtype: DType, persistent: Bool = false, fresh: Bool = false) -> Tensor {
        engine.pointee.makeTensor(shape: shape, dtype: dtype, persistent: persistent, fresh: fresh)
    }

    /// A view of `base`'s storage with another layout (see `Engine.makeView`).
    @inline(__always) func makeView(of base: Tensor, shape: Dims, strides: Dims, offset: Int, autogradView: Bool = true) -> Tensor {
        engine.pointee.makeView(of: base, shape: shape, strides: strides, offset: offset, autogradView: autogradView)
    }

    /// A tensor's element [0, 0, …] as a typed pointer.
    @inline(__always) func base<T>(_ tensor: Tensor, as type: T.Type) -> UnsafeMutablePointer<T> { engine.pointee.base(tensor, as: type) }

    /// A tensor's element [0, 0, …] as a raw pointer (its pending zeros written first).
    @inline(__always) func rawBase(_ tensor: Tensor) -> UnsafeMutableRawPointer { engine.pointee.rawBase(tensor) }

    /// Scratch memory for `count` elements from the pool (give it back with `giveScratch`).
    @inline(__always) func takeScratch<T>(_ count: Int, _ type: T.Type) -> (pointer: UnsafeMutablePointer<T>?, sizeClass: Int) {
        engine.pointee.takeScratch(count, type)
    }

    /// Returns scratch memory to the pool.
    @inline(__always) func giveScratch<T>(_ scratch: (pointer: UnsafeMutablePointer<T>?, sizeClass: Int)) {
        engine.pointee.giveScratch(scratch)
    }

    /// Whether a tensor's storage was zeroed lazily and not yet written: the caller then
    /// overwrites it whole (see `Engine.takePendingZeros`).
    @inline(__always) func takePendingZeros(_ tensor: Tensor) -> Bool { engine.pointee.takePendingZeros(tensor) }

    /// Counts a write to a tensor's storage (what saved-value checks compare).
    @inline(__always) func bumpVersion(_ tensor: Tensor) { engine.pointee.bumpVersion(tensor) }

    /// Whether a handle still names a live tensor.
    @inline(__always) func isAlive(_ tensor: Tensor) -> Bool { engine.pointee.isAlive(tensor) }
}

/// The calling thread's tensor memory.
@inline(__always)
var memory: TensorMemory { TensorMemory(engine) }

extension UnsafeMutablePointer<Engine> {
    /// This engine's tensor memory, through which the op layer makes and reads tensors.
    @inline(__always) var memory: TensorMemory { TensorMemory(self) }
}
