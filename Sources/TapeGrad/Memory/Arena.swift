import CJemalloc

/// TapeGrad's own jemalloc arena: every byte the engine owns (tensor tables, tape records,
/// tensor buffers) comes from here through `mallocx`/`dallocx` with `MALLOCX_ARENA`, bypassing
/// the thread cache so that the arena's statistics count every request.
///
/// All engines of a process share one arena; it is created on first use and never destroyed.
enum Arena {
    /// Every allocation is aligned to a cache line, which also suits SIMD loads.
    static let alignment = 64

    /// The arena's index, created on first use.
    static let index: UInt32 = {
        let index = tg_arena_create()
        check(index != UInt32.max, "TapeGrad: jemalloc refused to create an arena")
        return index
    }()

    @inline(__always)
    static var flags: Int32 { tg_arena_flags(index, alignment) }

    /// Tensor buffers of at least this many bytes (those of a large network) are aligned to a
    /// 2 MiB page and backed by transparent huge pages: a training step streams its weights,
    /// gradients and optimizer state, and with 4 KiB pages the TLB misses cost about a tenth
    /// of a ResNet-18 step at 1×3×64×64 (27.4–29.0 ms instead of 30.3–31.0). Tables stay on
    /// small pages: they are touched sparsely.
    static let hugePage = 2 << 20

    /// Allocates `bytes` (at least 1) from the arena, on huge pages when `buffer` and at least
    /// `hugePage` long; traps when the system is out of memory.
    static func allocate(bytes: Int, buffer: Bool = false) -> UnsafeMutableRawPointer {
        let huge = buffer && bytes >= hugePage
        guard let pointer = mallocx(max(bytes, 1), huge ? tg_arena_flags(index, hugePage) : flags) else {
            fatalError("TapeGrad: out of memory allocating \(bytes) bytes")
        }
        if huge { tg_advise_huge_pages(pointer, bytes & ~(hugePage - 1)) }
        return pointer
    }

    /// Resizes an allocation made by `allocate`, keeping its contents.
    static func reallocate(_ pointer: UnsafeMutableRawPointer, bytes: Int) -> UnsafeMutableRawPointer {
        guard let moved = rallocx(pointer, max(bytes, 1), flags) else {
            fatalError("TapeGrad: out of memory growing to \(bytes) bytes")
        }
        return moved
    }

    /// Returns an allocation to the arena.
    static func deallocate(_ pointer: UnsafeMutableRawPointer) {
        dallocx(pointer, flags)
    }

    /// Bytes the arena has handed out and not taken back.
    static var allocatedBytes: Int { Int(tg_arena_allocated_bytes(index)) }

    /// Allocation requests the arena has served since the process started.
    static var allocationCount: UInt64 { tg_arena_allocation_count(index) }

    /// Whether the arena is jemalloc's; false in a build with TAPEGRAD_SYSTEM_ALLOCATOR=1
    /// (Package.swift), whose CJemalloc draws from the C library's allocator (posix_memalign,
    /// free) and has no statistics: `allocatedBytes`, `allocationCount` and the thread's
    /// allocated bytes all read 0.
    static var isJemalloc: Bool { tg_allocator_is_jemalloc() != 0 }
}
