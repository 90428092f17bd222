import CJemalloc

/// A snapshot of TapeGrad's memory on the calling thread: the arena, the buffer pool by size
/// class, the tape, and the peak of buffer bytes in use.
public struct MemoryReport: Sendable, CustomStringConvertible {
    /// One size class of the buffer pool.
    public struct SizeClass: Sendable {
        /// Bytes of each buffer in the class.
        public var bytes: Int
        /// Buffers handed out and not yet returned.
        public var inUse: Int
        /// Buffers on the class's free list.
        public var free: Int
    }

    /// Bytes jemalloc has handed out from TapeGrad's arena and not taken back (all threads).
    public var arenaBytes: Int
    /// Allocation requests TapeGrad's arena has served since the process started.
    public var arenaAllocations: UInt64
    /// The pool's size classes that hold or have held buffers.
    public var sizeClasses: [SizeClass]
    /// Records on the tape now.
    public var tapeRecords: Int
    /// Bytes of one tape record.
    public var bytesPerRecord: Int
    /// Bytes reserved for the tape (its capacity).
    public var tapeBytes: Int
    /// Tensor slots in the table.
    public var tensorSlots: Int
    /// Slots of the table that are free for reuse.
    public var freeTensorSlots: Int
    /// Buffer bytes in use now.
    public var bufferBytesInUse: Int
    /// The most buffer bytes in use since the last `resetPeak()`.
    public var peakBufferBytes: Int

    /// Takes a snapshot of the calling thread's engine.
    public static func current() -> MemoryReport {
        let e = engine.pointee
        var classes: [SizeClass] = []
        for k in 0..<BufferPool.classCount where e.pool.inUseCounts[k] + e.pool.freeCounts[k] > 0 {
            classes.append(SizeClass(bytes: BufferPool.bytes(ofClass: k), inUse: e.pool.inUseCounts[k], free: e.pool.freeCounts[k]))
        }
        return MemoryReport(
            arenaBytes: Arena.allocatedBytes, arenaAllocations: Arena.allocationCount,
            sizeClasses: classes, tapeRecords: e.tape.count,
            bytesPerRecord: MemoryLayout<Record>.stride, tapeBytes: e.tape.allocatedBytes,
            tensorSlots: e.slots.count, freeTensorSlots: e.freeSlots.count,
            bufferBytesInUse: e.bufferBytesInUse, peakBufferBytes: e.peakBufferBytes)
    }

    /// Starts measuring the peak of buffer bytes in use from now (for example, per step).
    public static func resetPeak() {
        engine.pointee.peakBufferBytes = engine.pointee.bufferBytesInUse
    }

    /// Bytes the calling thread has ever allocated through jemalloc, by any allocation
    /// function and from any library (the Swift runtime included). Two equal readings mean
    /// the thread allocated nothing in between.
    public static var threadAllocatedBytes: UInt64 { tg_thread_allocated_bytes() }

    /// Allocation requests TapeGrad's arena has served since the process started (all threads),
    /// read from jemalloc's per-arena statistics without allocating.
    public static var arenaAllocationCount: UInt64 { Arena.allocationCount }

    /// Whether jemalloc is the allocator, so that `arenaBytes`, `arenaAllocations`,
    /// `threadAllocatedBytes` and `arenaAllocationCount` count. False in a build with
    /// TAPEGRAD_SYSTEM_ALLOCATOR=1 (the sanitizer builds of scripts/sanitize.sh), where the
    /// arena draws from the C library's allocator and all four read 0.
    public static var isJemalloc: Bool { Arena.isJemalloc }

    /// A table for people.
    public var description: String {
        func kib(_ bytes: Int) -> String {
            bytes >= 1 << 20 ? "\(bytes / (1 << 20)) MiB" : (bytes >= 1024 ? "\(bytes / 1024) KiB" : "\(bytes) B")
        }
        var lines = [
            "TapeGrad memory",
            "  arena: \(kib(arenaBytes)) held, \(arenaAllocations) allocations served",
            "  tape: \(tapeRecords) records, \(bytesPerRecord) bytes per record, \(kib(tapeBytes)) reserved",
            "  tensors: \(tensorSlots) slots, \(freeTensorSlots) free",
            "  buffers: \(kib(bufferBytesInUse)) in use, peak \(kib(peakBufferBytes))",
            "  pool by size class (in use / free):",
        ]
        for c in sizeClasses {
            let size = kib(c.bytes)
            lines.append("    \(String(repeating: " ", count: max(0, 8 - size.count)))\(size): \(c.inUse) / \(c.free)")
        }
        return lines.joined(separator: "\n")
    }
}
