import CTapeGradRuntime

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
}

/// The calling thread's engine.
@inline(__always)
var engine: UnsafeMutablePointer<Engine> { Engine.current }
