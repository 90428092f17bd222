/// The sizes or strides of a tensor: up to eight integers stored inline, so a tensor's metadata
/// is plain data with no heap array behind it. Values are kept in 32 bits (36 bytes in all),
/// which keeps a tensor's slot small; a size or stride must stay below 2³¹.
struct Dims: Equatable, BitwiseCopyable {
    static let maxRank = 8

    private var storage = InlineArray<8, Int32>(repeating: 0)
    private var rank: Int32 = 0

    @inline(__always)
    var count: Int {
        get { Int(rank) }
        set { rank = Int32(newValue) }
    }

    init() {}

    /// Two sizes, without an array in between (hot paths build shapes this way).
    init(_ a: Int, _ b: Int) {
        append(a)
        append(b)
    }

    /// Three sizes, without an array in between.
    init(_ a: Int, _ b: Int, _ c: Int) {
        append(a)
        append(b)
        append(c)
    }

    init(_ values: some Collection<Int>) {
        check(values.count <= Dims.maxRank, "TapeGrad supports tensors of rank 0 to 8")
        for value in values { append(value) }
    }

    @inline(__always)
    subscript(index: Int) -> Int {
        get { Int(storage[index]) }
        set { storage[index] = Dims.narrow(newValue) }
    }

    @inline(__always)
    static func narrow(_ value: Int) -> Int32 {
        guard let narrow = Int32(exactly: value) else {
            fatalError("TapeGrad: sizes and strides must be below 2^31 (got \(value))")
        }
        return narrow
    }

    @inline(__always)
    mutating func append(_ value: Int) {
        check(rank < Dims.maxRank, "TapeGrad supports tensors of rank 0 to 8")
        storage[Int(rank)] = Dims.narrow(value)
        rank += 1
    }

    mutating func insert(_ value: Int, at index: Int) {
        append(0)
        var i = count - 1
        while i > index { storage[i] = storage[i - 1]; i -= 1 }
        storage[index] = Dims.narrow(value)
    }

    mutating func remove(at index: Int) {
        for i in index..<(count - 1) { storage[i] = storage[i + 1] }
        count -= 1
    }

    /// The product of the values (1 for rank 0).
    @inline(__always)
    var product: Int {
        var result = 1
        var i = 0
        while i < Int(rank) {
            result &*= Int(storage[i])
            i += 1
        }
        return result
    }

    var array: [Int] { (0..<count).map { Int(storage[$0]) } }

    @inline(__always)
    static func == (a: Dims, b: Dims) -> Bool {
        guard a.rank == b.rank else { return false }
        var i = 0
        while i < Int(a.rank) {
            if a.storage[i] != b.storage[i] { return false }
            i += 1
        }
        return true
    }

    /// Row-major (C-contiguous) strides for these sizes.
    @inline(__always)
    var contiguousStrides: Dims {
        var strides = self
        var running: Int32 = 1
        var i = Int(rank) - 1
        while i >= 0 {
            strides.storage[i] = running
            running &*= Swift.max(storage[i], 1)
            i -= 1
        }
        return strides
    }

    /// PyTorch's `torch.Size([2, 4])` spelling.
    var torchSize: String { "torch.Size(\(array.bracketed))" }

    /// The `2x4` spelling of matrix shapes in PyTorch's messages.
    var timesSpelling: String { array.map(String.init).joined(separator: "x") }
}

extension Dims {
    /// The shape with the dimensions in `mask` (bit d for dimension d) reduced to 1: a
    /// reduction's result with `keepdim`.
    func keeping(reduced mask: UInt32) -> Dims {
        var kept = Dims()
        for d in 0..<count { kept.append(mask & (1 << d) != 0 ? 1 : self[d]) }
        return kept
    }

    /// The shape without the dimensions in `mask` (a reduction's result without `keepdim`).
    func dropping(reduced mask: UInt32) -> Dims {
        var kept = Dims()
        for d in 0..<count where mask & (1 << d) == 0 { kept.append(self[d]) }
        return kept
    }

    /// How many elements a reduction over the dimensions in `mask` combines into each result.
    func reducedCount(_ mask: UInt32) -> Int {
        var n = 1
        for d in 0..<count where mask & (1 << d) != 0 { n *= self[d] }
        return n
    }

    mutating func swapAt(_ i: Int, _ j: Int) {
        let t = self[i]
        self[i] = self[j]
        self[j] = t
    }
}

extension [Int] {
    /// `[2, 4]`: a size as PyTorch's messages print it.
    var bracketed: String { "[\(map(String.init).joined(separator: ", "))]" }
}
