/// A growable array of plain data in arena memory: the building block of the engine's tables
/// and of the tape. It is a value with no ownership (no ARC, no destructor); whoever holds it
/// frees it with `deallocate()`. Growth doubles the capacity with `rallocx`, so a workload
/// that repeats itself stops allocating once its largest iteration has run.
struct ArenaArray<Element: BitwiseCopyable> {
    private(set) var base: UnsafeMutablePointer<Element>?
    private(set) var count = 0
    private(set) var capacity = 0

    init() {}

    @inline(__always)
    subscript(index: Int) -> Element {
        get {
            assert(index >= 0 && index < count, "ArenaArray index out of range")
            return base.unsafelyUnwrapped[index]
        }
        nonmutating set {
            assert(index >= 0 && index < count, "ArenaArray index out of range")
            base.unsafelyUnwrapped[index] = newValue
        }
    }

    /// A pointer to element `index`, valid until the next append.
    @inline(__always)
    func pointer(at index: Int) -> UnsafeMutablePointer<Element> {
        assert(index >= 0 && index < count, "ArenaArray index out of range")
        return base.unsafelyUnwrapped + index
    }

    @inline(__always)
    mutating func append(_ element: Element) {
        if count == capacity { grow(to: count + 1) }
        (base.unsafelyUnwrapped + count).initialize(to: element)
        count += 1
    }

    @inline(__always)
    mutating func removeLast() -> Element {
        check(count > 0, "TapeGrad: removeLast on an empty ArenaArray")
        count -= 1
        return base.unsafelyUnwrapped[count]
    }

    /// Forgets the elements from `newCount` on (plain data: nothing to destroy).
    @inline(__always)
    mutating func truncate(to newCount: Int) {
        check(newCount >= 0 && newCount <= count, "TapeGrad: ArenaArray truncated to \(newCount) elements of \(count)")
        count = newCount
    }

    mutating func reserve(_ minimumCapacity: Int) {
        if minimumCapacity > capacity { grow(to: minimumCapacity) }
    }

    /// Grows the capacity to four times the count when more than half of it is in use: a
    /// later use needing up to twice what this one did finds room, and the next call grows
    /// nothing unless a use has needed more than that.
    mutating func keepHeadroom() {
        if count > capacity / 2 { grow(to: 4 * count) }
    }

    private mutating func grow(to minimum: Int) {
        let newCapacity = Swift.max(minimum, capacity * 2, 16)
        let bytes = newCapacity * MemoryLayout<Element>.stride
        if let base {
            self.base = Arena.reallocate(UnsafeMutableRawPointer(base), bytes: bytes)
                .assumingMemoryBound(to: Element.self)
        } else {
            base = Arena.allocate(bytes: bytes).bindMemory(to: Element.self, capacity: newCapacity)
        }
        capacity = newCapacity
    }

    /// Bytes of arena memory this array holds.
    var allocatedBytes: Int { capacity * MemoryLayout<Element>.stride }

    mutating func deallocate() {
        if let base { Arena.deallocate(UnsafeMutableRawPointer(base)) }
        base = nil
        count = 0
        capacity = 0
    }
}
