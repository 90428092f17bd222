// The tensor table: a `Tensor` handle names a `TensorSlot`, which names a `StorageSlot` (a
// pooled buffer shared by a tensor and its views). Slots are reused through free lists; a
// slot's generation catches stale handles and handles of another thread's engine.

/// A buffer shared by a tensor and its views.
struct StorageSlot: BitwiseCopyable {
    var buffer: UnsafeMutableRawPointer
    var sizeClass: Int32
    /// Tensor slots that point at this storage; at zero the buffer returns to the pool.
    var references: Int32
    /// Bumped by every in-place write: records compare it with the version they saved.
    var version: UInt32
    /// Bytes at the start of the buffer that `zero_()` declared zero without writing them yet:
    /// the first access writes them, unless an op that overwrites them all comes first.
    var pendingZeroBytes: Int = 0
}

/// What the engine knows of one tensor. A `Tensor` is an index into a table of these.
struct TensorSlot: BitwiseCopyable {
    struct Flags: OptionSet, BitwiseCopyable {
        let rawValue: UInt8
        /// A leaf that requires grad, or any result of a recorded op.
        static let requiresGrad = Flags(rawValue: 1 << 0)
        /// Backward keeps this non-leaf's gradient in `grad` (`retainGrad()`).
        static let retainsGrad = Flags(rawValue: 1 << 1)
        /// The slot is in use.
        static let live = Flags(rawValue: 1 << 2)
        /// The slot belongs to no step: only the engine's end frees it.
        static let persistent = Flags(rawValue: 1 << 3)
        /// The slot is a tensor's `.grad`: it is released with its owner.
        static let ownedByTensor = Flags(rawValue: 1 << 4)
        /// Hooks are registered on this tensor (`Engine.hooks`).
        static let hasHooks = Flags(rawValue: 1 << 5)
        /// Row-major with no gaps (computed once, when the slot is made).
        static let contiguous = Flags(rawValue: 1 << 6)
        /// Made by a backward sweep for its own use: released as soon as nothing holds it.
        static let sweepTemporary = Flags(rawValue: 1 << 7)
    }

    /// Bumped each time the slot is released, so that handles to the old tensor are detected.
    /// Its top 8 bits are the engine's tag (`Engine.tag`), the low 24 count releases.
    var generation: UInt32
    var storage: Int32
    var dtype: DType
    var flags: Flags
    /// How many pending gradients of the running sweep are this tensor (see `Sweep`).
    var pendingUses: UInt16 = 0
    /// Offset of element [0, 0, …] in the storage, in elements.
    var offset: Int
    var shape: Dims
    var strides: Dims
    /// Index of the tape record that made this tensor, or -1 for a leaf.
    var gradFn: Int32
    /// The accumulated gradient (leaves, and non-leaves that retain it), or `.null`.
    var grad: Tensor
    /// The gradient flowing into this leaf during a backward sweep, or `.null`.
    var pending: Tensor
    /// The tensor whose storage this one views (the first non-view), or `.null`.
    var base: Tensor
    /// For an autograd view: its storage's version when this view's history was made. After
    /// an in-place write into the storage (through the base or any view), the view's history
    /// is made anew from the base's (`Engine.refreshView`), as PyTorch regenerates a view's
    /// `grad_fn` when the version has moved.
    var historyVersion: UInt32 = 0

    @inline(__always)
    var isContiguous: Bool { flags.contains(.contiguous) }

    /// Whether `strides` are the row-major strides of `shape` (size-1 dimensions may have any stride).
    static func isRowMajor(shape: Dims, strides: Dims) -> Bool {
        var expected = 1
        var i = shape.count - 1
        while i >= 0 {
            let size = shape[i]
            if size == 0 { return true }
            if size != 1 && strides[i] != expected { return false }
            expected &*= size
            i -= 1
        }
        return true
    }
}

extension Engine {
    /// The live slot a handle names; traps when its step has ended or another thread's engine
    /// made it (the generation holds the engine's tag, so one compare checks both).
    ///
    /// `mutating` although it only reads, as are the other accessors called through
    /// `engine.pointee` (`isAlive`, `base`, `rawBase`, `version`, `load`, `shouldRecord`, …): a
    /// non-mutating method takes the ≈ 1.3 KB engine by value, and the compiler copied it
    /// (`memcpy`) at each of about 200 call sites; a mutating one is given its address.
    @inline(__always)
    mutating func slot(_ tensor: Tensor) -> UnsafeMutablePointer<TensorSlot> {
        let index = Int(tensor.slot)
        guard index >= 0, index < slots.count else { Engine.staleHandle(tensor, tag: tag) }
        let slot = slots.pointer(at: index)
        guard slot.pointee.generation == tensor.generation else { Engine.staleHandle(tensor, tag: tag) }
        return slot
    }

    /// Whether a handle still names a live tensor.
    @inline(__always)
    mutating func isAlive(_ tensor: Tensor) -> Bool {
        let index = Int(tensor.slot)
        return index >= 0 && index < slots.count && slots.pointer(at: index).pointee.generation == tensor.generation
    }

    @inline(never)
    /// Static, with the tag passed by value: a method reading `self` here would make every
    /// `slot(_:)` call site copy the whole engine (≈ 1.3 KB) to pass it to this opaque call.
    static func staleHandle(_ tensor: Tensor, tag: UInt32) -> Never {
        if tensor.slot < 0 { fatalError("TapeGrad: use of an empty tensor handle") }
        if tensor.generation & Engine.tagMask != tag { Engine.crossThreadUse() }
        fatalError("""
            TapeGrad: this tensor was released when the step that made it ended (withStep), \
            and its memory now belongs to another tensor. To keep a value past its step, read it \
            out with item() or scalars(), make the tensor before the step, or copy it into one \
            made before the step with copy_().
            """)
    }

    /// Whether this engine made the handle (its generation carries this engine's tag).
    @inline(__always)
    func owns(_ tensor: Tensor) -> Bool { tensor.generation & Engine.tagMask == tag }

    @inline(never)
    static func crossThreadUse() -> Never {
        fatalError("""
            TapeGrad: a tensor was used on a thread other than the one that made it; tensors \
            belong to the thread that made them (each thread has its own engine)
            """)
    }

    /// Test hook: moves a live slot's generation on so that only `releasesLeft` more releases
    /// reuse it before it is retired, and returns the tensor's new handle.
    mutating func setGenerationForTesting(_ tensor: Tensor, releasesLeft: UInt32) -> Tensor {
        let s = slot(tensor)
        let generation = tag | (Engine.countMask - releasesLeft)
        s.pointee.generation = generation
        return Tensor(slot: tensor.slot, generation: generation)
    }

    /// Makes a tensor with fresh contiguous storage (contents undefined).
    @inline(__always)
    mutating func makeTensor(shape: Dims, dtype: DType, persistent: Bool = false, fresh: Bool = false) -> Tensor {
        let sizeClass = BufferPool.sizeClass(for: shape.product * dtype.itemSize)
        let buffer = takeBuffer(sizeClass: sizeClass, fresh: fresh)
        let storage = makeStorage(StorageSlot(
            buffer: buffer, sizeClass: Int32(sizeClass), references: 0, version: 0))
        return makeSlot(
            storage: storage, dtype: dtype, offset: 0, shape: shape,
            strides: shape.contiguousStrides, contiguous: true, persistent: persistent)
    }

    /// Makes a tensor that shares `base`'s storage with its own sizes, strides and offset.
    /// An autograd view remembers its base, so in-place writes through it update the base's
    /// history; an alias (`detach()`, a gradient taking over a buffer) shares memory only.
    mutating func makeView(
        of base: Tensor, shape: Dims, strides: Dims, offset: Int, persistent: Bool = false, autogradView: Bool = true
    ) -> Tensor {
        let source = slot(base)
        let storage = source.pointee.storage, dtype = source.pointee.dtype
        let root = source.pointee.base.isNull ? base : source.pointee.base
        let view = makeSlot(
            storage: storage, dtype: dtype, offset: offset, shape: shape, strides: strides,
            contiguous: TensorSlot.isRowMajor(shape: shape, strides: strides), persistent: persistent)
        if autogradView {
            let v = slots.pointer(at: Int(view.slot))
            v.pointee.base = root
            v.pointee.historyVersion = storages[Int(storage)].version
        }
        return view
    }

    @inline(__always)
    private mutating func makeStorage(_ storage: StorageSlot) -> Int32 {
        if freeStorages.count > 0 {
            let index = freeStorages.removeLast()
            storages.pointer(at: Int(index)).pointee = storage
            return index
        }
        storages.append(storage)
        // The free list can never hold more than the table: sized with it, it never grows
        // after the table has (so a later step that frees more at once allocates nothing).
        freeStorages.reserve(storages.capacity)
        return Int32(storages.count - 1)
    }

    @inline(__always)
    private mutating func makeSlot(
        storage: Int32, dtype: DType, offset: Int, shape: Dims, strides: Dims, contiguous: Bool, persistent: Bool
    ) -> Tensor {
        storages.pointer(at: Int(storage)).pointee.references += 1
        let inScope = !persistent && scopes.count > 0
        var flags: TensorSlot.Flags = .live
        if contiguous { flags.insert(.contiguous) }
        if markSweepTemporaries { flags.insert(.sweepTemporary) }
        if !inScope { flags.insert(.persistent) }
        let index: Int32
        var generation: UInt32 = tag | 1
        if freeSlots.count > 0 {
            index = freeSlots.removeLast()
            let slot = slots.pointer(at: Int(index))
            generation = slot.pointee.generation
            slot.pointee = TensorSlot(
                generation: generation, storage: storage, dtype: dtype, flags: flags, offset: offset,
                shape: shape, strides: strides, gradFn: -1, grad: .null, pending: .null, base: .null)
        } else {
            slots.append(TensorSlot(
                generation: generation, storage: storage, dtype: dtype, flags: flags, offset: offset,
                shape: shape, strides: strides, gradFn: -1, grad: .null, pending: .null, base: .null))
            index = Int32(slots.count - 1)
            freeSlots.reserve(slots.capacity)
        }
        if inScope { scopeSlots.append(index) }
        return Tensor(slot: index, generation: generation)
    }

    /// Frees a slot: its storage loses a reference (and returns to the pool at zero), its
    /// `.grad` goes with it, and its generation moves on so old handles are caught. A slot
    /// whose release count would wrap (after 2^24 - 1 uses) is retired, never reused: its
    /// generation becomes the tag alone, which no handle holds (counts start at 1).
    mutating func release(slotIndex index: Int32) {
        let slot = slots.pointer(at: Int(index))
        guard slot.pointee.flags.contains(.live) else { return }
        let grad = slot.pointee.grad
        let storageIndex = Int(slot.pointee.storage)
        if slot.pointee.flags.contains(.hasHooks) {
            let handle = Tensor(slot: index, generation: slot.pointee.generation)
            hooks.removeAll { $0.tensor.isSame(handle) }
        }
        slot.pointee.flags = TensorSlot.Flags()
        slot.pointee.base = .null
        slot.pointee.grad = .null
        slot.pointee.pending = .null
        slot.pointee.gradFn = -1
        let next = slot.pointee.generation &+ 1
        if next & Engine.countMask == 0 {
            slot.pointee.generation = tag
        } else {
            slot.pointee.generation = next
            freeSlots.append(index)
        }
        let storage = storages.pointer(at: storageIndex)
        storage.pointee.references -= 1
        if storage.pointee.references == 0 {
            let sizeClass = Int(storage.pointee.sizeClass)
            giveBuffer(storage.pointee.buffer, sizeClass: sizeClass)
            freeStorages.append(Int32(storageIndex))
        }
        releaseOwned(grad)
    }

    /// Releases `grad` when it is a gradient copy owned by the tensor that held it (not a
    /// graph-carrying tensor or one the user assigned): when that tensor goes, or its `.grad` is replaced.
    mutating func releaseOwned(_ grad: Tensor) {
        if grad.slot >= 0, isAlive(grad), slots.pointer(at: Int(grad.slot)).pointee.flags.contains(.ownedByTensor) {
            release(slotIndex: grad.slot)
        }
    }
}
