// Buffers and elements: pool buffers counted in the bytes in use, scratch memory for kernels,
// typed access to a tensor's elements (with zeros declared but not yet written), versions.

extension Engine {
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

    /// Pointer to element [0, 0, …] of a tensor, typed.
    @inline(__always)
    mutating func base<T>(_ tensor: Tensor, as type: T.Type) -> UnsafeMutablePointer<T> {
        let s = slot(tensor).pointee
        let storage = storages.pointer(at: Int(s.storage))
        if storage.pointee.pendingZeroBytes != 0 { Engine.materializeZeros(storage) }
        return storage.pointee.buffer.assumingMemoryBound(to: T.self) + s.offset
    }

    /// Element 0 of a tensor as raw memory.
    @inline(__always)
    mutating func rawBase(_ tensor: Tensor) -> UnsafeMutableRawPointer {
        let s = slot(tensor).pointee
        let storage = storages.pointer(at: Int(s.storage))
        if storage.pointee.pendingZeroBytes != 0 { Engine.materializeZeros(storage) }
        return storage.pointee.buffer + s.offset * s.dtype.itemSize
    }

    /// Writes a storage's pending zeros. Static: as a method (reading `self`) it made every
    /// caller copy the whole engine to pass it to this out-of-line call.
    @inline(never)
    static func materializeZeros(_ storage: UnsafeMutablePointer<StorageSlot>) {
        storage.pointee.buffer.initializeMemory(as: UInt8.self, repeating: 0, count: storage.pointee.pendingZeroBytes)
        storage.pointee.pendingZeroBytes = 0
    }

    /// Declares a tensor all zeros without writing them, when it is its buffer's contiguous
    /// prefix; returns false (and writes nothing) otherwise.
    mutating func zeroLazily(_ tensor: Tensor) -> Bool {
        let s = slot(tensor).pointee
        guard s.flags.contains(.contiguous), s.offset == 0 else { return false }
        storages.pointer(at: Int(s.storage)).pointee.pendingZeroBytes = s.shape.product * s.dtype.itemSize
        return true
    }

    /// If `tensor` is exactly a buffer's pending zeros, forgets them (the caller is about to
    /// overwrite every element) and returns true.
    mutating func takePendingZeros(_ tensor: Tensor) -> Bool {
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
    mutating func version(_ tensor: Tensor) -> UInt32 {
        storages[Int(slot(tensor).pointee.storage)].version
    }
}
