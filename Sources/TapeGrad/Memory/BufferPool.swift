/// The pool that tensor buffers come from: power-of-two size classes from 64 bytes up, each with
/// an intrusive free list (a free buffer's first word points to the next free buffer), so taking
/// and returning a buffer is O(1) and, once a workload has warmed the pool, never reaches the
/// system allocator. Buffers are 64-byte aligned arena memory; the pool never gives memory back
/// to jemalloc until `trim()`.
struct BufferPool {
    /// The smallest class holds 2^6 = 64 bytes; the largest 2^(6 + classCount - 1).
    static let smallestClassShift = 6
    static let classCount = 42

    private var freeHeads = InlineArray<42, UnsafeMutableRawPointer?>(repeating: nil)
    private(set) var inUseCounts = InlineArray<42, Int>(repeating: 0)
    private(set) var freeCounts = InlineArray<42, Int>(repeating: 0)

    init() {}

    /// The size class that holds `bytes`.
    @inline(__always)
    static func sizeClass(for bytes: Int) -> Int {
        let needed = Swift.max(bytes, 1 << smallestClassShift)
        let shift = Int.bitWidth - (needed - 1).leadingZeroBitCount
        let sizeClass = shift - smallestClassShift
        check(sizeClass < classCount, "TapeGrad: a buffer of \(bytes) bytes is too large")
        return sizeClass
    }

    @inline(__always)
    static func bytes(ofClass sizeClass: Int) -> Int { 1 << (sizeClass + smallestClassShift) }

    /// Takes a buffer of the given class, from its free list when it has one.
    @inline(__always)
    mutating func take(sizeClass: Int) -> UnsafeMutableRawPointer {
        inUseCounts[sizeClass] += 1
        if let head = freeHeads[sizeClass] {
            freeHeads[sizeClass] = head.load(as: UnsafeMutableRawPointer?.self)
            freeCounts[sizeClass] -= 1
            return head
        }
        return Arena.allocate(bytes: Self.bytes(ofClass: sizeClass), buffer: true)
    }

    /// Takes a new buffer of the given class from the arena, leaving the free list to the
    /// tensors of steps (for long-lived state made once).
    mutating func takeFresh(sizeClass: Int) -> UnsafeMutableRawPointer {
        inUseCounts[sizeClass] += 1
        return Arena.allocate(bytes: Self.bytes(ofClass: sizeClass), buffer: true)
    }

    /// Puts a buffer taken from class `sizeClass` back on its free list.
    @inline(__always)
    mutating func give(_ buffer: UnsafeMutableRawPointer, sizeClass: Int) {
        inUseCounts[sizeClass] -= 1
        buffer.storeBytes(of: freeHeads[sizeClass], as: UnsafeMutableRawPointer?.self)
        freeHeads[sizeClass] = buffer
        freeCounts[sizeClass] += 1
    }

    /// Returns every free buffer to the arena.
    mutating func trim() {
        for sizeClass in 0..<Self.classCount {
            while let head = freeHeads[sizeClass] {
                freeHeads[sizeClass] = head.load(as: UnsafeMutableRawPointer?.self)
                Arena.deallocate(head)
            }
            freeCounts[sizeClass] = 0
        }
    }
}
