import Testing
import TapeGrad

/// After its first iteration, a training step allocates nothing: no call to any allocation
/// function on this thread (jemalloc's per-thread counter sees them all).
@Suite struct AllocationTests {
    // `MyReLU` is seed 004's custom function, as CustomFunctionTests.swift defines it.

    /// Seed 004's step (N=64, D_in=1000, H=100, D_out=10); OpenBLAS on one thread, since with
    /// more it allocates a job queue per product.
    static func bytesAllocatedBySteps(custom: Bool) throws -> [UInt64] {
        blasThreadCount = 1
        var generator = RandomGenerator(seed: 1)
        let x = Tensor.randn([64, 1000], using: &generator)
        let y = Tensor.randn([64, 10], using: &generator)
        let w1 = Tensor.randn([1000, 100], requiresGrad: true, using: &generator)
        let w2 = Tensor.randn([100, 10], requiresGrad: true, using: &generator)
        var allocated: [UInt64] = []
        allocated.reserveCapacity(8)
        for _ in 0..<8 {
            let before = MemoryReport.threadAllocatedBytes
            try withStep {
                let hidden = try x.mm(w1)
                let activated = custom ? try MyReLU.apply(hidden) : try hidden.relu()
                let loss = (try activated.mm(w2) - y).pow(2).sum()
                _ = try loss.item()
                try loss.backward()
                try noGrad {
                    try w1.sub_(1e-6 * w1.grad!)
                    try w2.sub_(1e-6 * w2.grad!)
                    try w1.grad!.zero_()
                    try w2.grad!.zero_()
                }
            }
            allocated.append(MemoryReport.threadAllocatedBytes - before)
        }
        return allocated
    }

    /// On a thread of its own: a fresh engine, whose tables the first step sizes. (On an
    /// engine with history the second step can still grow a table once, at its end: see
    /// "Table headroom" in docs/architecture.md.)
    @Test(.needsJemallocCounters, arguments: [false, true])
    func trainingStepAllocatesNothingAfterTheFirst(custom: Bool) throws {
        let result = Shared<[UInt64]>([])
        onNewThread { result.value = try! Self.bytesAllocatedBySteps(custom: custom) }
        let allocated = result.value
        #expect(allocated[0] > 0)
        #expect(Array(allocated.dropFirst(1)) == [0, 0, 0, 0, 0, 0, 0], "bytes allocated per step: \(allocated)")
    }

    /// A module (with GELU, layer norm and SiLU), cross entropy and an optimizer with momentum, on a thread of its own (a fresh
    /// engine, whose tables the first steps size), in each float type: the second step already
    /// allocates nothing. (`zeroGrad()` sets the gradients to none, so every backward makes them
    /// anew, as PyTorch's loop does.)
    @Test(.needsJemallocCounters, arguments: [DType.float32, .float64, .float16, .bfloat16])
    func moduleStepsOfAFreshEngineAllocateNothingAfterTheFirst(_ dtype: DType) throws {
        let allocated = Shared<[UInt64]>([])
        onNewThread {
            blasThreadCount = 1
            let model = Sequential(Linear(8, 16, dtype: dtype), try! GELU(approximate: "tanh"), LayerNorm(16, dtype: dtype), SiLU(),
                                   Linear(16, 4, dtype: dtype))
            let optimizer = try! SGD(model.parameters(), lr: 0.01, momentum: 0.9)
            let x = Tensor.randn([5, 8], dtype: dtype), target = Tensor([0, 1, 2, 3, 0])
            var bytes: [UInt64] = []
            bytes.reserveCapacity(6)
            for _ in 0..<6 {
                let before = MemoryReport.threadAllocatedBytes
                try! withStep {
                    optimizer.zeroGrad()
                    try crossEntropy(try model(x), target).backward()
                    try optimizer.step()
                }
                bytes.append(MemoryReport.threadAllocatedBytes - before)
            }
            allocated.value = bytes
        }
        #expect(Array(allocated.value.dropFirst()) == [0, 0, 0, 0, 0], "bytes allocated per step: \(allocated.value)")
    }
}

extension Trait where Self == ConditionTrait {
    /// For tests that count allocations: skipped, with this reason, in a build with
    /// TAPEGRAD_SYSTEM_ALLOCATOR=1 (scripts/sanitize.sh), whose counters all read 0.
    static var needsJemallocCounters: Self {
        .enabled(
            if: MemoryReport.isJemalloc,
            "counts allocations with jemalloc's statistics, which this build (TAPEGRAD_SYSTEM_ALLOCATOR=1, the system allocator) does not have")
    }
}
