import Benchmark
import BenchmarkWorkloads
import TapeGrad
#if canImport(Glibc)
import Glibc
#endif

/// Allocations served by TapeGrad's own arena (mallocx does not pass through the malloc
/// interposer, so it is counted from jemalloc's per-arena statistics).
nonisolated(unsafe) let arenaAllocations = BenchmarkMetric.custom("arenaAllocations", polarity: .prefersSmaller, useScalingFactor: true)

/// Zero allocations per iteration, in every percentile: any allocation fails the check.
/// Bytes allocated by the benchmark's own thread, by any allocation function of any library,
/// from jemalloc's per-thread counter read just inside the measured span: exact for TapeGrad's
/// work, where `mallocCountTotal` also counts the runner's own start/stop hooks and threads (it
/// reports the same 16 to 28 per sample for `harness baseline`, which does no TapeGrad work).
nonisolated(unsafe) let threadAllocatedBytes = BenchmarkMetric.custom("threadAllocatedBytes", polarity: .prefersSmaller, useScalingFactor: true)

nonisolated(unsafe) let noAllocations = BenchmarkThresholds(absolute: [.p0: 0, .p25: 0, .p50: 0, .p75: 0, .p90: 0, .p99: 0, .p100: 0])

nonisolated(unsafe) let metrics: [BenchmarkMetric] = [.wallClock, .mallocCountTotal, .peakMemoryResident, arenaAllocations, threadAllocatedBytes]

func configuration(_ scaling: BenchmarkScalingFactor = .one) -> Benchmark.Configuration {
    .init(metrics: metrics, warmupIterations: 3, scalingFactor: scaling,
          maxDuration: .seconds(2), maxIterations: 2_000,
          thresholds: [arenaAllocations: noAllocations, threadAllocatedBytes: noAllocations])
}

/// Workloads are made once, on the first run of their benchmark, and kept: a benchmark's
/// closure runs once per sample, and tensors made outside any step persist, so making them
/// per sample would grow memory. TapeGrad's engine is per thread; the benchmark runner calls
/// every closure from one thread, which `shared` checks.
nonisolated(unsafe) var workloads: [String: Any] = [:]
nonisolated(unsafe) var workloadThread: pthread_t?

func shared<T>(_ key: String, _ make: () -> T) -> T {
    if let thread = workloadThread {
        precondition(pthread_equal(thread, pthread_self()) != 0, "TapeGrad benchmarks must run on one thread")
    } else {
        workloadThread = pthread_self()
    }
    if let existing = workloads[key] as? T { return existing }
    let made = make()
    workloads[key] = made
    return made
}

/// Runs `body` for each scaled iteration and reports the arena allocations it made.
@inline(__always)
func measured(_ benchmark: Benchmark, _ body: () throws -> Void) rethrows {
    let before = MemoryReport.arenaAllocationCount
    benchmark.startMeasurement()
    // Read inside the measured span: the runner's start and stop hooks allocate themselves.
    let threadBefore = MemoryReport.threadAllocatedBytes
    for _ in benchmark.scaledIterations { try body() }
    let threadAfter = MemoryReport.threadAllocatedBytes
    benchmark.stopMeasurement()
    benchmark.measurement(threadAllocatedBytes, Int(threadAfter - threadBefore))
    // The run itself fails when a measured iteration allocates: ordo-one's static threshold
    // files cannot hold custom metrics, and `baseline check` needs a stored baseline.
    precondition(threadAfter == threadBefore, "\(benchmark.name): \(threadAfter - threadBefore) bytes allocated in measured iterations (expected 0)")
    benchmark.measurement(arenaAllocations, Int(MemoryReport.arenaAllocationCount - before))
}

let benchmarks: @Sendable () -> Void = {
    blasThreadCount = 1

    // What the runner itself allocates: a busy wait as long as a two-layer step, no TapeGrad.
    Benchmark("harness baseline (300 µs busy wait)", configuration: configuration()) { benchmark in
        measured(benchmark) {
            let clock = ContinuousClock()
            let end = clock.now.advanced(by: .microseconds(300))
            while clock.now < end {}
        }
    }

    for update in [TwoLayerStep.Update.seed, .optimizer] {
        Benchmark("two-layer step (\(update.rawValue) update)", configuration: configuration()) { benchmark in
            let net = shared("two-layer \(update)") {
                var net = TwoLayerStep()
                net.update = update
                return net
            }
            try measured(benchmark) { try net.step() }
        }
    }

    Benchmark("seed 000 graph", configuration: configuration(.kilo)) { benchmark in
        let graph = shared("seed000") { Seed000Graph() }
        try measured(benchmark) { try graph.run() }
    }

    for length in [100, 1_000, 10_000, 100_000] {
        Benchmark("op chain \(length)", configuration: configuration()) { benchmark in
            let chain = shared("chain \(length)") { OpChain(length: length) }
            try measured(benchmark) { try chain.run() }
        }
    }
}
