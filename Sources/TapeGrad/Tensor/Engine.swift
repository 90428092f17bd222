import CTapeGradRuntime

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

/// A scope's start: the tensors and records made after it are released when it ends.
struct ScopeMark: BitwiseCopyable {
    var slotCount: Int
    var tapeCount: Int
    var customCount: Int
    var rebaseCount: Int
}

/// All of one thread's TapeGrad state: the tensor table, the storages, the buffer pool and the
/// tape. It lives in arena memory, reached through a C thread-local pointer, and holds only
/// plain data: no class instances, nothing for ARC to count.
struct Engine {
    /// The top 8 bits of every generation this engine hands out, from a process-wide counter:
    /// a handle made by another thread's engine fails the generation compare in `slot(_:)`
    /// (no extra work on the hot path), and `staleHandle` tells the two failures apart.
    /// Tags repeat after 254 engines (0x7F and 0xFF are skipped, so that a handle kept in a
    /// `Double` by `PackedTensor` is never a NaN), so a handle of an engine 254 engines older
    /// is not caught.
    var tag: UInt32
    var slots = ArenaArray<TensorSlot>()
    var freeSlots = ArenaArray<Int32>()
    var storages = ArenaArray<StorageSlot>()
    var freeStorages = ArenaArray<Int32>()
    var pool = BufferPool()
    var tape = ArenaArray<Record>()
    /// Slots made inside open steps, in order, released when their step ends.
    var scopeSlots = ArenaArray<Int32>()
    var scopes = ArenaArray<ScopeMark>()
    /// Leaves that received a gradient in the current sweep.
    var touchedLeaves = ArenaArray<Tensor>()
    /// Custom-function nodes, indexed by their records' `i0`/`dims`.
    var customNodes = ArenaArray<CustomNode>()
    /// Gradient hooks (closures, so a Swift array; touched only where hooks are registered).
    var hooks: [Hook] = []
    var hookCounter = 0
    var gradEnabled = true
    /// Set while a sweep that frees its temporaries early runs: new slots are marked so.
    var markSweepTemporaries = false
    /// In-place ops that gave a tensor new history (see `endScope`).
    var rebaseCount = 0
    /// Set during a sweep that accumulates into `grad`s: backward ops may add into a leaf's
    /// gradient directly (see `directAccumulationTarget`).
    var directAccumulation = false
    var anomalyMode = false
    /// Where each record was made, kept in anomaly mode only.
    var creationTraces: [Int32: String] = [:]
    var generator = RandomGenerator(seed: 0)
    /// Bytes in buffers taken from the pool and not yet returned, and the most there ever were
    /// since `peakBytes` was last reset.
    var bufferBytesInUse = 0
    var peakBufferBytes = 0

    /// Bits of a generation that hold the engine's tag, and those that count releases.
    static let tagShift: UInt32 = 24
    static let tagMask: UInt32 = 0xFF00_0000
    static let countMask: UInt32 = 0x00FF_FFFF

    init() {
        var id: UInt32
        repeat { id = UInt32(truncatingIfNeeded: tg_next_engine_id()) & 0xFF } while id & 0x7F == 0x7F
        tag = id << Self.tagShift
    }

    /// The calling thread's engine, made on first use.
    @inline(__always)
    static var current: UnsafeMutablePointer<Engine> {
        if let raw = tg_current_engine() {
            return raw.assumingMemoryBound(to: Engine.self)
        }
        return makeCurrent()
    }

    @inline(never)
    private static func makeCurrent() -> UnsafeMutablePointer<Engine> {
        let raw = Arena.allocate(bytes: MemoryLayout<Engine>.stride)
        let engine = raw.bindMemory(to: Engine.self, capacity: 1)
        engine.initialize(to: Engine())
        tg_set_current_engine(raw, destroyAtThreadExit)
        return engine
    }

    /// Called by the runtime's pthread key destructor when a thread that made an engine ends.
    private static let destroyAtThreadExit: @convention(c) (UnsafeMutableRawPointer) -> Void = { raw in
        Engine.destroy(raw.assumingMemoryBound(to: Engine.self))
    }

    /// Returns all of an engine's memory to the arena (its tables, the buffers of the tensors
    /// still alive, the pool's free buffers, the Swift values it holds) and frees the engine.
    /// Handles to its tensors must not be used afterwards (another thread's use traps as a
    /// cross-thread use; the thread itself has ended).
    static func destroy(_ engine: UnsafeMutablePointer<Engine>) {
        engine.pointee.releaseMemory()
        engine.deinitialize(count: 1)
        Arena.deallocate(UnsafeMutableRawPointer(engine))
    }

    /// Frees every arena allocation the engine holds and leaves its tables empty.
    mutating func releaseMemory() {
        // Buffers of storages still referenced (persistent tensors, parameters, gradients):
        // the others are on the pool's free lists.
        for i in 0..<storages.count where storages[i].references > 0 {
            Arena.deallocate(storages[i].buffer)
            storages.pointer(at: i).pointee.references = 0
        }
        pool.trim()
        pool = BufferPool()
        slots.deallocate()
        freeSlots.deallocate()
        storages.deallocate()
        freeStorages.deallocate()
        tape.deallocate()
        scopeSlots.deallocate()
        scopes.deallocate()
        touchedLeaves.deallocate()
        customNodes.deallocate()
        hooks = []
        creationTraces = [:]
        bufferBytesInUse = 0
    }

    // MARK: Slots

    /// The live slot a handle names; traps when its step has ended or another thread's engine
    /// made it (the generation holds the engine's tag, so one compare checks both).
    @inline(__always)
    func slot(_ tensor: Tensor) -> UnsafeMutablePointer<TensorSlot> {
        let index = Int(tensor.slot)
        guard index >= 0, index < slots.count else { Engine.staleHandle(tensor, tag: tag) }
        let slot = slots.pointer(at: index)
        guard slot.pointee.generation == tensor.generation else { Engine.staleHandle(tensor, tag: tag) }
        return slot
    }

    /// Whether a handle still names a live tensor.
    @inline(__always)
    func isAlive(_ tensor: Tensor) -> Bool {
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

    /// A buffer of `sizeClass` from the pool (from new memory when `fresh`), counted in the
    /// bytes in use.
    @inline(__always)
    mutating func takeBuffer(sizeClass: Int, fresh: Bool = false) -> UnsafeMutableRawPointer {
        let buffer = fresh ? pool.takeFresh(sizeClass: sizeClass) : pool.take(sizeClass: sizeClass)
        bufferBytesInUse += BufferPool.bytes(ofClass: sizeClass)
        if bufferBytesInUse > peakBufferBytes { peakBufferBytes = bufferBytesInUse }
        return buffer
    }

    /// Gives a buffer taken with `takeBuffer` back to the pool.
    @inline(__always)
    mutating func giveBuffer(_ buffer: UnsafeMutableRawPointer, sizeClass: Int) {
        pool.give(buffer, sizeClass: sizeClass)
        bufferBytesInUse -= BufferPool.bytes(ofClass: sizeClass)
    }

    /// Scratch memory for `count` elements straight from the pool, for `giveScratch` to return
    /// as soon as a kernel is done with it (no tensor slot, so it does not live to the step's end).
    @inline(__always)
    mutating func takeScratch<T>(_ count: Int, _: T.Type) -> (pointer: UnsafeMutablePointer<T>?, sizeClass: Int) {
        guard count > 0 else { return (nil, -1) }
        let sizeClass = BufferPool.sizeClass(for: count * MemoryLayout<T>.stride)
        return (takeBuffer(sizeClass: sizeClass).assumingMemoryBound(to: T.self), sizeClass)
    }

    @inline(__always)
    mutating func giveScratch<T>(_ scratch: (pointer: UnsafeMutablePointer<T>?, sizeClass: Int)) {
        guard let pointer = scratch.pointer else { return }
        giveBuffer(UnsafeMutableRawPointer(pointer), sizeClass: scratch.sizeClass)
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

    // MARK: Steps

    mutating func beginScope() {
        scopes.append(ScopeMark(slotCount: scopeSlots.count, tapeCount: tape.count, customCount: customNodes.count,
                                rebaseCount: rebaseCount))
    }

    /// Ends the innermost scope: its tensors are released and its records dropped from the tape.
    /// Leaves every table at most three quarters full after an outermost step: the second
    /// iteration of a loop can need a few more entries than the first (its leaves have
    /// gradients by then), and must find them without growing a table.
    private mutating func keepHeadroom() {
        slots.keepHeadroom()
        freeSlots.reserve(slots.capacity)
        storages.keepHeadroom()
        freeStorages.reserve(storages.capacity)
        tape.keepHeadroom()
        scopeSlots.keepHeadroom()
        customNodes.keepHeadroom()
        touchedLeaves.keepHeadroom()
    }

    mutating func endScope() {
        let mark = scopes.removeLast()
        if scopes.count == 0 { keepHeadroom() }
        var i = scopeSlots.count
        while i > mark.slotCount {
            i -= 1
            // A slot a sweep released early may since hold a tensor of no step (a gradient).
            let index = scopeSlots[i]
            if !slots.pointer(at: Int(index)).pointee.flags.contains(.persistent) { release(slotIndex: index) }
        }
        scopeSlots.truncate(to: mark.slotCount)
        // History recorded inside the step ends with it: a tensor from before the step that an
        // in-place op gave a record here becomes a leaf again instead of pointing past the tape.
        // Only in-place ops move a tensor's history, so without one there is nothing to look at.
        var r = rebaseCount != mark.rebaseCount ? tape.count : mark.tapeCount
        while r > mark.tapeCount {
            r -= 1
            let result = tape[r].result
            if !result.isNull && isAlive(result) && slots[Int(result.slot)].gradFn == Int32(r) {
                slots.pointer(at: Int(result.slot)).pointee.gradFn = -1
            }
        }
        if !creationTraces.isEmpty { creationTraces = creationTraces.filter { $0.key < Int32(mark.tapeCount) } }
        tape.truncate(to: mark.tapeCount)
        if customNodes.count > mark.customCount { customNodes.truncate(to: mark.customCount) }
    }

    // MARK: Element access

    /// Pointer to element [0, 0, …] of a tensor, typed.
    @inline(__always)
    func base<T>(_ tensor: Tensor, as type: T.Type) -> UnsafeMutablePointer<T> {
        let s = slot(tensor).pointee
        let storage = storages.pointer(at: Int(s.storage))
        if storage.pointee.pendingZeroBytes != 0 { materializeZeros(storage) }
        return storage.pointee.buffer.assumingMemoryBound(to: T.self) + s.offset
    }

    @inline(never)
    func materializeZeros(_ storage: UnsafeMutablePointer<StorageSlot>) {
        storage.pointee.buffer.initializeMemory(as: UInt8.self, repeating: 0, count: storage.pointee.pendingZeroBytes)
        storage.pointee.pendingZeroBytes = 0
    }

    /// Declares a tensor all zeros without writing them, when it is its buffer's contiguous
    /// prefix; returns false (and writes nothing) otherwise.
    func zeroLazily(_ tensor: Tensor) -> Bool {
        let s = slot(tensor).pointee
        guard s.flags.contains(.contiguous), s.offset == 0 else { return false }
        storages.pointer(at: Int(s.storage)).pointee.pendingZeroBytes = s.shape.product * s.dtype.itemSize
        return true
    }

    /// If `tensor` is exactly a buffer's pending zeros, forgets them (the caller is about to
    /// overwrite every element) and returns true.
    func takePendingZeros(_ tensor: Tensor) -> Bool {
        let s = slot(tensor).pointee
        let storage = storages.pointer(at: Int(s.storage))
        guard storage.pointee.pendingZeroBytes != 0 else { return false }
        guard s.flags.contains(.contiguous), s.offset == 0,
              storage.pointee.pendingZeroBytes == s.shape.product * s.dtype.itemSize else { return false }
        storage.pointee.pendingZeroBytes = 0
        return true
    }

    /// Marks an in-place write to a tensor's storage.
    @inline(__always)
    mutating func bumpVersion(_ tensor: Tensor) {
        let storage = Int(slot(tensor).pointee.storage)
        storages.pointer(at: storage).pointee.version &+= 1
    }

    @inline(__always)
    func version(_ tensor: Tensor) -> UInt32 {
        storages[Int(slot(tensor).pointee.storage)].version
    }
}

/// The calling thread's engine.
@inline(__always)
var engine: UnsafeMutablePointer<Engine> { Engine.current }
